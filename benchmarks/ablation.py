"""The controlled ablation of notebooks 07-09: five 20-layer networks, one recipe, two optimizers.

    python -m benchmarks.ablation                 # full profile, 3 seeds (about 20-25 min, 2 cores)
    python -m benchmarks.ablation --render        # print the table of the recorded results
    python -m benchmarks.ablation --profile fast  # a quick run of the same machinery

Trains ReLU + Glorot, ReLU + He, ReLU + He + BatchNorm, SELU + LeCun and SELU +
AlphaDropout (``course_utils.experiments.VARIANTS``) on the same standardized
Fashion-MNIST data, with the same batch size, epochs and seeds, once with plain SGD
and once with Adam and a cosine schedule (``REGIMES``), one run after the other.

The recipe (full profile): all 55,000 training images, batches of 32, 4 epochs,
seeds 0, 1 and 2. Batches of 32 and SGD at 0.01 are the classic tutorial's and
notebook 07's settings, so the SGD rows are notebook 07's plain network; one epoch
then takes about 5 s for the plain networks and 8-11 s for BatchNorm or Adam on
2 cores, and 4 epochs of the 30 runs fit in about 20 minutes.

The full profile writes ``course_utils/ablation_results.json`` (package data: the
notebooks read it), the fast profile ``outputs/ablation_fast.json``. While it runs,
results go to a ``.partial`` file beside the target, so an interrupted run never
replaces good results. At the end it prints the table and records the headline
figures with ``course_utils.record`` (the names ``benchmarks/targets.py`` lists).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.notebooks import REPO
from course_utils.config import PROFILE_ENV

RECIPES: dict[str, dict[str, Any]] = {
    # full: all 55,000 training images; fast: the fast profile's subsets, 4 hidden layers
    "full": {"epochs": 4, "batch_size": 32, "seeds": [0, 1, 2], "n_hidden": 20},
    "fast": {"epochs": 2, "batch_size": 32, "seeds": [0], "n_hidden": 4},
}


def default_out(profile: str) -> Path:
    """Where a run of this profile writes its results."""
    from course_utils.experiments import results_path

    return results_path() if profile == "full" else REPO / "outputs" / "ablation_fast.json"


def progress(results: dict) -> None:
    """One line per finished training run."""
    run = results["runs"][-1]
    steady = run["epoch_seconds"][1:] or run["epoch_seconds"]
    print(
        f"  seed {run['seed']}  {run['regime']:4s}  {run['variant']:18s}  "
        f"val. acc. epoch 1 {run['val_accuracy'][0]:.4f}, last {run['val_accuracy'][-1]:.4f}, "
        f"test {run['test_accuracy']:.4f}, {sum(steady) / len(steady):.1f} s/epoch "
        f"({results['total_seconds'] / 60:.1f} min so far)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ablation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", choices=["full", "fast"], default="full")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (full), 0 (fast)")
    parser.add_argument("--epochs", type=int, help="default: 4 (full), 2 (fast)")
    parser.add_argument("--batch-size", type=int, help="default: 32")
    parser.add_argument("--out", type=Path, help="results file (default: see above)")
    parser.add_argument("--render", action="store_true", help="only print the recorded table")
    args = parser.parse_args(argv)

    os.environ[PROFILE_ENV] = args.profile  # before course_utils sizes the data
    from course_utils import experiments
    from course_utils.config import import_tensorflow

    out = args.out or default_out(args.profile)
    if args.render:
        results = experiments.load_results(out)
        print(experiments.ablation_table(results, formatted=True).to_string())
        return 0

    recipe: dict[str, Any] = dict(RECIPES[args.profile])
    for key in ("seeds", "epochs", "batch_size"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    tf = import_tensorflow()
    # TensorFlow on CPU: same seed, same numbers (ops without a deterministic kernel would fail).
    tf.config.experimental.enable_op_determinism()
    from course_utils.data import load_fashion_mnist

    data = experiments.standardize_images(load_fashion_mnist())
    runs = len(recipe["seeds"]) * len(experiments.VARIANTS) * len(experiments.REGIMES)
    print(
        f"Ablation, profile {args.profile}: {runs} training runs of {recipe['n_hidden']} hidden "
        f"layers, {len(data.X_train):,} training images, batch {recipe['batch_size']}, "
        f"{recipe['epochs']} epochs, seeds {recipe['seeds']}; {os.cpu_count()} CPU cores",
        flush=True,
    )
    partial = out.with_name(out.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def save_as_you_go(results: dict) -> None:
        progress(results)
        experiments.save_results(results, partial)

    results = experiments.run_ablation(data, on_run=save_as_you_go, **recipe)
    results["profile"] = args.profile
    experiments.save_results(results, partial)
    partial.replace(out)
    print()
    print(experiments.ablation_table(results, formatted=True).to_string())
    print()
    experiments.record_figures(results)  # for COURSE_RESULTS_FILE; the table shows them
    print(f"Total ablation time {(time.monotonic() - started) / 60:.1f} min; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
