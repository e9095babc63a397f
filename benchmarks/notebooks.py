"""Running one notebook for the benchmark: its figures, its wall time, its kernel's peak memory.

A notebook that fails (an error in a cell, a timeout, a dead kernel) is reported
with the error; the benchmark goes on with the next one.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from course_utils.config import PROFILE_ENV, SEED_OFFSET_ENV
from course_utils.grading.nbgrader_steps.runner import nbgrader_env
from course_utils.results import RESULTS_ENV, read_results

REPO = Path(__file__).resolve().parents[1]

# Figures the benchmark records after a notebook has run, from the notebook's own variables,
# in a cell it adds at the end of its copy: the learner's notebook carries no benchmark plumbing.
RECORD_AFTER = {
    "05_normalization_callbacks": """\
for figure, inputs in [
    ("unscaled_test_accuracy", "unscaled (0-255)"),
    ("scaled_test_accuracy", "scaled [0, 1]"),
    ("minus_one_one_test_accuracy", "scaled [-1, 1]"),
    ("standardized_test_accuracy", "standardized per pixel"),
    ("global_standardized_test_accuracy", "standardized globally"),
]:
    course_utils.record(figure, float(comparison.loc[inputs, "test accuracy"]))
""",
    # the controlled experiment's rows each notebook shows (recorded by benchmarks/ablation.py)
    "07_deep_networks": 'experiments.record_figures(ablation, notebook="07")',
    "08_batch_normalization": 'experiments.record_figures(ablation, notebook="08")',
    "09_selu": 'experiments.record_figures(ablation, notebook="09")',
}


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The solution notebooks, or those whose folder or number is in ``only``."""
    found = sorted((REPO / "solutions").glob("[0-9][0-9]_*/*.ipynb"))
    if only:
        found = [p for p in found if p.parent.name in only or p.parent.name[:2] in only]
    return found


def _ticker(label: str, started: float, stop: threading.Event, state: dict) -> None:
    while not stop.wait(5):
        print(
            f"\r  {label}: {time.monotonic() - started:5.0f} s, cell {state['cell']}/{state['cells']}",
            end="",
            flush=True,
        )


def _peak_memory_mb(km) -> float | None:
    """The kernel's peak resident memory (Linux /proc), or None where unavailable."""
    try:
        pid = km.provisioner.process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (AttributeError, OSError, ValueError):
        return None
    return None


def run_notebook(path: Path, profile: str, timeout: int, seed_offset: int = 0) -> dict:
    """Execute one notebook in a fresh kernel, in a scratch copy of its folder, with the
    notebook's :data:`RECORD_AFTER` cell added at its end.

    ``seed_offset`` shifts every ``course_utils.set_seed`` call of the notebook
    (0: the seeds the learner sees).
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if path.parent.name in RECORD_AFTER:
        nb.cells.append(nbformat.v4.new_code_cell(RECORD_AFTER[path.parent.name]))
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch) / path.parent.name
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("outputs"))
        results_file = Path(scratch) / "results.jsonl"
        env = nbgrader_env(
            **{
                PROFILE_ENV: profile,
                RESULTS_ENV: str(results_file),
                SEED_OFFSET_ENV: str(seed_offset),
            }
        )
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env=env, cwd=str(work))
        state = {"cells": sum(c.cell_type == "code" for c in nb.cells), "cell": 0}

        def on_cell_executed(**kwargs):
            state["cell"] += 1

        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(work)}},
            on_cell_executed=on_cell_executed,
        )
        stop = threading.Event()
        started = time.monotonic()
        ticker = threading.Thread(target=_ticker, args=(path.parent.name, started, stop, state))
        ticker.start()
        error = None
        try:
            client.execute()
        except Exception as exc:  # a failing cell, a timeout, a dead kernel: report, go on
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            error = f"{type(exc).__name__}: {lines[-1][:300]}"
        finally:
            seconds = time.monotonic() - started
            stop.set()
            ticker.join()
            peak_mb = _peak_memory_mb(km)
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # already dead
                pass
        seed = f" (seed offset {seed_offset})" if seed_offset else ""
        print(
            f"\r  {path.parent.name}{seed}: {seconds:5.0f} s"
            + (f"  ERROR {error}" if error else "")
        )
        return {
            "notebook": path.parent.name,
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round(seconds, 1),
            "peak_memory_mb": peak_mb,
            "error": error,
            "figures": read_results(results_file),
        }


def combine_runs(runs: list[dict]) -> dict:
    """One notebook's runs with different seeds as one result: the mean of each figure.

    With more than one run, each figure ``NAME`` also gets ``NAME_min`` and
    ``NAME_max`` (the report prints them as a range; targets apply to the mean),
    except figures whose notebook records its own range. Seconds are the mean,
    peak memory the largest, the error the first one; figures come from the runs
    that finished.

    Example:
        >>> runs = [{"notebook": "04", "measured": "d", "seconds": 50.0, "peak_memory_mb": 900.0,
        ...          "error": None, "figures": {"acc": 0.88}},
        ...         {"notebook": "04", "measured": "d", "seconds": 54.0, "peak_memory_mb": 950.0,
        ...          "error": None, "figures": {"acc": 0.90}}]
        >>> combined = combine_runs(runs)
        >>> combined["figures"], combined["seconds"], combined["seeds"]
        ({'acc': 0.89, 'acc_min': 0.88, 'acc_max': 0.9}, 52.0, 2)
    """
    if len(runs) == 1:
        return {**runs[0], "seeds": 1}
    finished = [r for r in runs if not r["error"]] or runs
    names = [n for n in finished[0]["figures"] if all(n in r["figures"] for r in finished)]
    figures: dict[str, float] = {}
    for name in names:
        values = [float(r["figures"][name]) for r in finished]
        figures[name] = round(sum(values) / len(values), 6)
        own_range = name.endswith(("_min", "_max")) or f"{name}_min" in finished[0]["figures"]
        if len(finished) > 1 and not own_range:
            figures[f"{name}_min"], figures[f"{name}_max"] = min(values), max(values)
    memory = [r["peak_memory_mb"] for r in runs if r["peak_memory_mb"]]
    return {
        "notebook": runs[0]["notebook"],
        "measured": runs[-1]["measured"],
        "seconds": round(sum(r["seconds"] for r in runs) / len(runs), 1),
        "peak_memory_mb": max(memory) if memory else None,
        "error": next((r["error"] for r in runs if r["error"]), None),
        "figures": figures,
        "seeds": len(runs),
    }
