"""Experiments the notebooks compare: the controlled ablation of notebooks 07-09, and
notebook 02's small networks trained side by side (``train_xor_copies``).

One 20-layer network, five ways to make it trainable, each trained with the same
recipe (data, optimizer, schedule, batch size, epochs, seeds), so that any
difference comes from the idea being taught and nothing else:

- ``relu_glorot``: ReLU with Keras's default Glorot uniform weights (notebook 07);
- ``relu_he``: ReLU with He normal weights (notebook 07);
- ``relu_he_bn``: the same with batch normalization before each ReLU (notebook 08);
- ``selu_lecun``: SELU with LeCun normal weights (notebook 09);
- ``selu_alpha_dropout``: the same with ``AlphaDropout(0.1)`` before the output layer (08).

Every variant sees the same standardized inputs, and the whole set is trained once
per *regime*: plain SGD (the classic tutorial's optimizer, where the ReLU + Glorot net
sits on a plateau at a loss of ln(10)) and Adam with a cosine schedule.
``benchmarks/ablation.py`` runs it in the full profile and saves the results in
``course_utils/ablation_results.json``, so the notebooks show the table and the
plot without training anything.

Example:
    >>> from course_utils import experiments
    >>> list(experiments.VARIANTS)
    ['relu_glorot', 'relu_he', 'relu_he_bn', 'selu_lecun', 'selu_alpha_dropout']
    >>> results = experiments.load_results()              # doctest: +SKIP
    >>> experiments.ablation_table(results)               # doctest: +SKIP
    >>> experiments.plot_ablation(results)                # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from course_utils.config import set_seed
from course_utils.data import Splits

RESULTS_FILE = "ablation_results.json"
LN10 = math.log(10.0)  # the loss of a network that gives every class 10%
CURVES = ("val_accuracy", "val_loss", "accuracy", "loss")  # what each run keeps per epoch
T = TypeVar("T")


@dataclass(frozen=True)
class Variant:
    """One way to build the 20 x Dense(100) network.

    Example:
        >>> VARIANTS["relu_he_bn"].batch_norm
        True
    """

    name: str
    label: str
    activation: str
    initializer: str
    batch_norm: bool = False
    alpha_dropout: float = 0.0
    notebook: str = ""


@dataclass(frozen=True)
class Regime:
    """One optimizer and learning-rate schedule, shared by every variant.

    Example:
        >>> REGIMES["sgd"].learning_rate
        0.01
    """

    name: str
    label: str
    optimizer: str  # "sgd" or "adam"
    learning_rate: float
    schedule: str = "constant"  # or "cosine": from learning_rate down to 0 over the run

    def make_optimizer(self, total_steps: int) -> Any:
        """A fresh Keras optimizer; ``total_steps`` is the length of the cosine schedule.

        Example:
            >>> REGIMES["adam"].make_optimizer(100)   # doctest: +SKIP
            <keras.src.optimizers.adam.Adam object at ...>
        """
        import keras

        rate: Any = self.learning_rate
        if self.schedule == "cosine":
            rate = keras.optimizers.schedules.CosineDecay(
                self.learning_rate, decay_steps=max(1, total_steps)
            )
        elif self.schedule != "constant":
            raise ValueError(f"unknown schedule {self.schedule!r}: use 'constant' or 'cosine'")
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate=rate)
        if self.optimizer == "adam":
            return keras.optimizers.Adam(learning_rate=rate)
        raise ValueError(f"unknown optimizer {self.optimizer!r}: use 'sgd' or 'adam'")


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("relu_glorot", "ReLU + Glorot", "relu", "glorot_uniform", notebook="07"),
        Variant("relu_he", "ReLU + He", "relu", "he_normal", notebook="07"),
        Variant("relu_he_bn", "ReLU + He + BatchNorm", "relu", "he_normal", True, notebook="08"),
        Variant("selu_lecun", "SELU + LeCun", "selu", "lecun_normal", notebook="09"),
        Variant(
            "selu_alpha_dropout",
            "SELU + LeCun + AlphaDropout(0.1)",
            "selu",
            "lecun_normal",
            alpha_dropout=0.1,
            notebook="09",
        ),
    )
}

REGIMES: dict[str, Regime] = {
    r.name: r
    for r in (
        Regime("sgd", "plain SGD, learning rate 0.01", "sgd", 0.01),
        Regime("adam", "Adam, learning rate 0.001, cosine decay", "adam", 1e-3, "cosine"),
    )
}


def _lookup(kind: str, value: str | T, table: dict[str, T], cls: type[T]) -> T:
    """``value`` itself if it is already a ``cls``, else its entry in ``table`` (by name)."""
    if isinstance(value, cls):
        return value
    if value not in table:
        raise ValueError(f"unknown {kind} {value!r}: use one of {', '.join(table)}")
    return table[value]


def _variant(variant: str | Variant) -> Variant:
    return _lookup("variant", variant, VARIANTS, Variant)


def _regime(regime: str | Regime) -> Regime:
    return _lookup("regime", regime, REGIMES, Regime)


# --------------------------------------------------------------------------- #
# The network and the data
# --------------------------------------------------------------------------- #


def build_deep_net(
    variant: str | Variant,
    n_hidden: int = 20,
    units: int = 100,
    input_shape: Sequence[int] = (28, 28),
) -> Any:
    """The ablation's network: Flatten -> ``n_hidden`` x Dense(``units``) -> Dense(10, softmax).

    The hidden layers follow the variant: its activation and initializer; with
    ``batch_norm``, Dense (no bias) -> BatchNormalization -> activation, as in
    notebook 08; with ``alpha_dropout``, an ``AlphaDropout`` layer before the output
    layer, as in notebook 09. The output layer keeps Keras's default initializer.
    Call ``course_utils.set_seed`` first for reproducible weights.

    Example:
        >>> model = build_deep_net("relu_he_bn", n_hidden=3)   # doctest: +SKIP
        >>> [type(layer).__name__ for layer in model.layers][:4]   # doctest: +SKIP
        ['Flatten', 'Dense', 'BatchNormalization', 'Activation']
    """
    import keras

    spec = _variant(variant)
    layers: list[Any] = [keras.Input(shape=tuple(input_shape)), keras.layers.Flatten()]
    for _ in range(n_hidden):
        if spec.batch_norm:
            layers += [
                keras.layers.Dense(units, kernel_initializer=spec.initializer, use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.Activation(spec.activation),
            ]
        else:
            layers.append(
                keras.layers.Dense(
                    units, activation=spec.activation, kernel_initializer=spec.initializer
                )
            )
    if spec.alpha_dropout:
        layers.append(keras.layers.AlphaDropout(spec.alpha_dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers, name=spec.name)


def standardize_images(data: Splits) -> Splits:
    """Images standardized pixel by pixel with the training set's mean and std, as float32.

    Pixels that are constant over the training set (a few border pixels) are divided
    by 1 instead of 0. Labels and names are unchanged.

    Example:
        >>> raw = Splits(*(np.arange(8.0).reshape(2, 2, 2), np.zeros(2)) * 3)
        >>> standardize_images(raw).X_train.mean(axis=0).tolist()
        [[0.0, 0.0], [0.0, 0.0]]
    """
    mean = data.X_train.mean(axis=0)
    std = data.X_train.std(axis=0)
    std[std == 0] = 1.0

    def scale(images: np.ndarray) -> np.ndarray:
        return ((images - mean) / std).astype(np.float32)

    return Splits(
        scale(data.X_train),
        data.y_train,
        scale(data.X_valid),
        data.y_valid,
        scale(data.X_test),
        data.y_test,
        data.names,
    )


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def _recorder(every: int) -> Any:
    """A Keras callback: epoch times and the first epoch's training loss every ``every`` steps."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.epoch_seconds: list[float] = []
            self.steps: list[int] = []
            self.running: list[float] = []  # Keras reports the running mean over the epoch

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.epoch == 0 and (batch + 1) % every == 0 and logs and "loss" in logs:
                self.steps.append(batch + 1)
                self.running.append(float(logs["loss"]))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_seconds.append(time.perf_counter() - self.started)

    return Recorder()


def window_means(steps: Sequence[int], running: Sequence[float]) -> list[float]:
    """Mean loss of each window of steps, from the running means Keras reports.

    Keras's ``loss`` during an epoch is the mean over all steps so far; the mean over
    steps ``a+1 .. b`` is ``(b * running[b] - a * running[a]) / (b - a)``.

    Example:
        >>> window_means([2, 4], [3.0, 2.0])
        [3.0, 1.0]
    """
    means, last_step, last_total = [], 0, 0.0
    for step, mean in zip(steps, running, strict=True):
        total = step * mean
        means.append((total - last_total) / (step - last_step))
        last_step, last_total = step, total
    return means


def train_variant(
    variant: str | Variant,
    regime: str | Regime,
    data: Splits,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    n_hidden: int = 20,
    loss_points: int = 20,
) -> dict[str, Any]:
    """Train one variant with one regime and seed; return what the ablation records.

    ``data`` must already be standardized (:func:`standardize_images`). The result
    holds, per epoch, ``val_accuracy``, ``val_loss``, ``accuracy`` and ``loss`` (the
    training figures Keras reports), ``epoch_seconds`` (wall time of each epoch,
    validation included; the first also pays for tracing the graph), the first
    epoch's training loss in ``loss_points`` windows (``first_epoch_loss``), and
    ``test_accuracy`` and ``test_loss`` after the last epoch.

    Example:
        >>> run = train_variant("relu_he", "sgd", data, epochs=1, batch_size=32, seed=0)  # doctest: +SKIP
        >>> run["val_accuracy"]   # doctest: +SKIP
        [0.8116]
    """
    spec, opt = _variant(variant), _regime(regime)
    steps_per_epoch = math.ceil(len(data.X_train) / batch_size)
    set_seed(seed)
    model = build_deep_net(spec, n_hidden=n_hidden, input_shape=data.X_train.shape[1:])
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=opt.make_optimizer(epochs * steps_per_epoch),
        metrics=["accuracy"],
    )
    recorder = _recorder(max(1, steps_per_epoch // max(1, loss_points)))
    history = model.fit(
        data.X_train,
        data.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(data.X_valid, data.y_valid),
        callbacks=[recorder],
        verbose=0,
    )
    test_loss, test_accuracy = model.evaluate(data.X_test, data.y_test, batch_size=1000, verbose=0)
    run: dict[str, Any] = {"variant": spec.name, "regime": opt.name, "seed": seed}
    for name in CURVES:
        run[name] = [round(float(v), 6) for v in history.history[name]]
    run["epoch_seconds"] = [round(s, 3) for s in recorder.epoch_seconds]
    run["first_epoch_loss"] = {
        "steps": recorder.steps,
        "loss": [round(v, 6) for v in window_means(recorder.steps, recorder.running)],
    }
    run["test_accuracy"] = round(float(test_accuracy), 6)
    run["test_loss"] = round(float(test_loss), 6)
    return run


def run_ablation(
    data: Splits,
    *,
    epochs: int,
    batch_size: int,
    seeds: Iterable[int],
    variants: Iterable[str] = tuple(VARIANTS),
    regimes: Iterable[str] = tuple(REGIMES),
    n_hidden: int = 20,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train every variant in every regime with every seed, one after the other.

    ``data`` is standardized here if it is not yet float32. Returns a JSON-ready
    dict: the ``recipe``, the ``regimes`` and ``variants`` used, the ``environment``
    and one entry per training run in ``runs`` (see :func:`train_variant`).
    ``on_run`` is called after each run, e.g. to print progress or save as you go.

    Example:
        >>> results = run_ablation(data, epochs=1, batch_size=32, seeds=[0])   # doctest: +SKIP
        >>> len(results["runs"])                                               # doctest: +SKIP
        10
    """
    if data.X_train.dtype != np.float32:
        data = standardize_images(data)
    seeds, variants, regimes = list(seeds), list(variants), list(regimes)
    for name in variants:
        _variant(name)
    for name in regimes:
        _regime(name)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "recipe": {
            "data": "Fashion-MNIST, inputs standardized pixel by pixel (training-set statistics)",
            "n_train": len(data.X_train),
            "n_valid": len(data.X_valid),
            "n_test": len(data.X_test),
            "network": f"Flatten -> {n_hidden} x Dense(100) -> Dense(10, softmax)",
            "n_hidden": n_hidden,
            "epochs": epochs,
            "batch_size": batch_size,
            "seeds": seeds,
        },
        "regimes": {name: asdict(REGIMES[name]) for name in regimes},
        "variants": {name: asdict(VARIANTS[name]) for name in variants},
        "environment": environment(),
        "runs": [],
    }
    for seed in seeds:
        for regime in regimes:
            for variant in variants:
                run = train_variant(
                    variant,
                    regime,
                    data,
                    epochs=epochs,
                    batch_size=batch_size,
                    seed=seed,
                    n_hidden=n_hidden,
                )
                results["runs"].append(run)
                results["total_seconds"] = round(time.perf_counter() - started, 1)
                if on_run is not None:
                    on_run(results)
    return results


def environment() -> dict[str, Any]:
    """Where the ablation ran: date, machine, Python, TensorFlow and Keras versions."""
    import os

    import keras
    import tensorflow as tf

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


# --------------------------------------------------------------------------- #
# Recorded results: load, summarize, plot
# --------------------------------------------------------------------------- #


def results_path() -> Path:
    """Where the package keeps the recorded ablation results.

    Example:
        >>> results_path().name
        'ablation_results.json'
    """
    return Path(str(resources.files("course_utils").joinpath(RESULTS_FILE)))


def save_results(results: Mapping[str, Any], path: str | Path | None = None) -> Path:
    """Write results as JSON (by default into the package) and return the path."""
    target = Path(path) if path is not None else results_path()
    target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return target


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The recorded ablation results (by default the package's ``ablation_results.json``).

    Raises:
        FileNotFoundError: with the command that makes the file, if it is missing.

    Example:
        >>> results = load_results()          # doctest: +SKIP
        >>> results["recipe"]["epochs"]       # doctest: +SKIP
        5
    """
    source = Path(path) if path is not None else results_path()
    if not source.exists():
        raise FileNotFoundError(
            f"No ablation results at {source}. Run `python -m benchmarks.ablation` from the "
            "course folder to make them (about 25 minutes on 2 CPU cores)."
        )
    return json.loads(source.read_text(encoding="utf-8"))


def _spread(values: Sequence[float]) -> tuple[float, float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.min()), float(array.max())


def _steady_seconds(epoch_seconds: Sequence[float]) -> float:
    """Seconds per epoch once the graph is traced: the fastest epoch after the first.

    The first epoch also pays for tracing; the fastest of the others is the one least
    slowed down by whatever else the machine was doing (as notebook 07 times depth).
    """
    later = list(epoch_seconds[1:]) or list(epoch_seconds)
    return float(min(later))


def _groups(results: Mapping[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Runs grouped by (regime, variant), in the order of ``REGIMES`` and ``VARIANTS``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    regimes = [r for r in REGIMES if r in results["regimes"]]
    variants = [v for v in VARIANTS if v in results["variants"]]
    for regime in regimes:
        for variant in variants:
            runs = [r for r in results["runs"] if r["regime"] == regime and r["variant"] == variant]
            if runs:
                groups[regime, variant] = runs
    return groups


def ablation_table(
    results: Mapping[str, Any] | None = None,
    formatted: bool = False,
    variants: Sequence[str] | None = None,
) -> Any:
    """One row per regime and variant: mean, min and max over the seeds.

    Columns: validation accuracy after epoch 1 and after the last epoch, test
    accuracy, and seconds per epoch (the fastest of epochs 2 onwards, so graph
    tracing is left out). With ``formatted=True`` each cell is a string
    ``mean (min-max)``, ready to show. ``variants`` keeps only those rows.
    ``results`` defaults to the recorded ones.

    Example:
        >>> ablation_table(formatted=True, variants=["relu_he", "relu_he_bn"])   # doctest: +SKIP
    """
    import pandas as pd

    results = load_results() if results is None else results
    for name in variants or ():
        _variant(name)
    last = results["recipe"]["epochs"]
    figures = {
        "val. accuracy, epoch 1": lambda run: run["val_accuracy"][0],
        f"val. accuracy, epoch {last}": lambda run: run["val_accuracy"][-1],
        "test accuracy": lambda run: run["test_accuracy"],
        "seconds per epoch": lambda run: _steady_seconds(run["epoch_seconds"]),
    }
    rows, index = [], []
    for (regime, variant), runs in _groups(results).items():
        if variants is not None and variant not in variants:
            continue
        row: dict[tuple[str, str], Any] = {}
        for figure, pick in figures.items():
            mean, low, high = _spread([pick(run) for run in runs])
            if formatted:
                digits = 1 if figure == "seconds per epoch" else 3
                row[figure, "mean (min-max)"] = (
                    f"{mean:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"
                )
            else:
                row.update({(figure, "mean"): mean, (figure, "min"): low, (figure, "max"): high})
        row["seeds", ""] = len(runs)
        rows.append(row)
        index.append((results["regimes"][regime]["label"], results["variants"][variant]["label"]))
    frame = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["regime", "variant"]))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    if formatted:
        frame.columns = frame.columns.droplevel(1)
    return frame


def plot_ablation(
    results: Mapping[str, Any] | None = None,
    metric: str = "val_accuracy",
    variants: Sequence[str] | None = None,
) -> Any:
    """The curves of every variant, one panel per regime: mean over seeds, min-max shaded.

    ``metric`` is ``"val_accuracy"`` (default), ``"val_loss"``, ``"accuracy"`` or
    ``"loss"`` (a dashed line marks ln(10) = 2.30 on loss plots), or
    ``"first_epoch_loss"``: the training loss *during* the first epoch, where the
    plateau of a network that guesses shows. ``variants`` picks and orders the lines.

    Example:
        >>> fig = plot_ablation(metric="val_accuracy")   # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    results = load_results() if results is None else results
    allowed = (*CURVES, "first_epoch_loss")
    if metric not in allowed:
        raise ValueError(f"metric must be one of {', '.join(allowed)}, got {metric!r}")
    groups = _groups(results)
    regimes = list(dict.fromkeys(regime for regime, _ in groups))
    shown = [_variant(v).name for v in variants] if variants is not None else list(VARIANTS)
    fig, axes = plt.subplots(1, len(regimes), figsize=(6 * len(regimes), 4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, regime in zip(axes.flat, regimes, strict=True):
        for i, variant in enumerate(v for v in VARIANTS if v in shown):
            runs = groups.get((regime, variant))
            if not runs:
                continue
            if metric == "first_epoch_loss":
                x = np.asarray(runs[0]["first_epoch_loss"]["steps"])
                curves = np.array([run["first_epoch_loss"]["loss"] for run in runs])
            else:
                curves = np.array([run[metric] for run in runs])
                x = np.arange(1, curves.shape[1] + 1)
            color = colors[i % len(colors)]
            label = results["variants"][variant]["label"]
            ax.plot(x, curves.mean(axis=0), "o-", ms=3, color=color, label=label)
            ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        if metric.endswith("loss"):
            ax.axhline(LN10, color="gray", ls="--", lw=1, label="ln(10): guessing")
        ax.set_title(results["regimes"][regime]["label"], fontsize=10)
        ax.set_xlabel("training step, first epoch" if metric == "first_epoch_loss" else "epoch")
        if metric != "first_epoch_loss":
            ax.set_xticks(x)
        ax.set_ylabel(
            "training loss, first epoch"
            if metric == "first_epoch_loss"
            else metric.replace("_", " ").replace("val ", "validation ")
        )
        ax.legend(fontsize=8)
    recipe = results["recipe"]
    fig.suptitle(
        f"{recipe['n_hidden']} hidden layers of 100 units, {recipe['n_train']:,} training images, "
        f"batch {recipe['batch_size']}, mean and range over {len(recipe['seeds'])} seeds",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- #
# Headline figures for make bench
# --------------------------------------------------------------------------- #


def figure_names(regime: str, variant: str) -> dict[str, str]:
    """The ``course_utils.record`` names of one row's headline figures.

    Example:
        >>> figure_names("sgd", "relu_glorot")["test_accuracy"]
        'ablation_sgd_relu_glorot_test_accuracy'
    """
    stem = f"ablation_{regime}_{variant}"
    return {
        "epoch1_val_accuracy": f"{stem}_epoch1_val_accuracy",
        "test_accuracy": f"{stem}_test_accuracy",
    }


def headline_figures(
    results: Mapping[str, Any] | None = None, notebook: str | None = None
) -> dict[str, float]:
    """Mean, min and max over the seeds of each row's epoch-1 validation and test accuracy.

    The mean is under the name of :func:`figure_names`, the spread under the same
    name with ``_min`` and ``_max``. ``notebook`` ("07", "08" or "09") keeps the
    variants that notebook teaches.

    Example:
        >>> figures = headline_figures(notebook="08")                    # doctest: +SKIP
        >>> figures["ablation_sgd_relu_he_bn_test_accuracy"]             # doctest: +SKIP
        0.86
    """
    results = load_results() if results is None else results
    figures: dict[str, float] = {}
    for (regime, variant), runs in _groups(results).items():
        if notebook is not None and VARIANTS[variant].notebook != notebook:
            continue
        names = figure_names(regime, variant)
        for key, values in [
            ("epoch1_val_accuracy", [run["val_accuracy"][0] for run in runs]),
            ("test_accuracy", [run["test_accuracy"] for run in runs]),
        ]:
            mean, low, high = _spread(values)
            figures[names[key]] = round(mean, 4)
            figures[names[key] + "_min"] = round(low, 4)
            figures[names[key] + "_max"] = round(high, 4)
    return figures


def record_figures(
    results: Mapping[str, Any] | None = None,
    notebook: str | None = None,
    quiet: bool = True,
) -> dict[str, float]:
    """``course_utils.record`` every headline figure (see :func:`headline_figures`).

    ``quiet`` (the default) keeps the dozens of lines ``record`` prints out of the
    notebook: :func:`ablation_table` shows the same figures better. Returns them.

    Example:
        >>> figures = record_figures(notebook="07")   # doctest: +SKIP
    """
    import contextlib
    import io

    from course_utils.results import record

    figures = headline_figures(results, notebook)
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        for name, value in figures.items():
            record(name, value)
    return figures


# --------------------------------------------------------------------------- #
# Notebook 02: many small networks trained side by side
# --------------------------------------------------------------------------- #


def train_xor_copies(
    X: Any, y: Any, hidden_units: int, n_copies: int = 20, n_steps: int = 300, seed: int = 42
) -> np.ndarray:
    """Train ``n_copies`` one-hidden-layer tanh networks on the same data, side by side.

    Each copy has its own weights, drawn from the range a ``Dense`` layer uses (Glorot
    uniform), and its own sigmoid output; the loss averages the copies' binary
    cross-entropies, so no copy's gradient depends on another copy's weights. The copies
    live in one model of two ``keras.layers.EinsumDense`` layers ("bi,cih->bch": for each
    sample b, copy c and hidden unit h, sum input i times that copy's own weight), which
    trains all of them in the time of one. Adam at 0.05, batches of 32 from a shuffled,
    repeated dataset, ``n_steps`` steps. Returns each copy's accuracy on ``X``.

    Example:
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
        >>> y = np.array([[0], [1], [1], [0]], dtype="float32")
        >>> train_xor_copies(X, y, hidden_units=8, n_copies=3).shape   # doctest: +SKIP
        (3,)
    """
    import keras
    import tensorflow as tf

    def glorot(fan_in: int, fan_out: int) -> Any:
        limit = np.sqrt(6 / (fan_in + fan_out))
        return keras.initializers.RandomUniform(-limit, limit)

    X = np.asarray(X, dtype="float32")
    y = np.asarray(y, dtype="float32").reshape(len(X), 1)
    set_seed(seed)
    copies = keras.Sequential(
        [
            keras.Input(shape=(X.shape[1],)),
            keras.layers.EinsumDense(
                "bi,cih->bch",
                output_shape=(n_copies, hidden_units),
                bias_axes="ch",
                activation="tanh",
                kernel_initializer=glorot(X.shape[1], hidden_units),
            ),
            keras.layers.EinsumDense(
                "bch,ch->bc",
                output_shape=(n_copies,),
                bias_axes="c",
                activation="sigmoid",
                kernel_initializer=glorot(hidden_units, 1),
            ),
        ]
    )
    copies.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.05))
    targets = np.repeat(y, n_copies, axis=1)  # every copy learns the same labels
    ds = tf.data.Dataset.from_tensor_slices((X, targets))
    copies.fit(ds.shuffle(len(X), seed=seed).repeat().batch(32), steps_per_epoch=n_steps, verbose=0)
    predicted = np.asarray(copies(X)) > 0.5  # shape (samples, n_copies)
    return np.mean(predicted == y, axis=0)
