"""Plots the notebooks share: images, learning curves, per-layer statistics, confusion matrix.

Every function draws with matplotlib and returns the ``Figure``; in JupyterLab it
appears below the cell on its own.

Example:
    >>> import numpy as np
    >>> fig = show_image(np.zeros((28, 28)), title="blank")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def show_image(image: Any, title: str | None = None) -> Figure:
    """Show one grayscale image (28x28, or 784 values reshaped to 28x28).

    Example:
        >>> fig = show_image(np.random.rand(784), title="noise")
    """
    image = np.asarray(image)
    if image.ndim == 1:
        side = int(round(np.sqrt(image.size)))
        image = image.reshape(side, side)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(image, cmap="binary")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_image_grid(
    images: Any,
    labels: Sequence[int],
    class_names: Sequence[str] | None = None,
    n_rows: int = 4,
    n_cols: int = 10,
    predictions: Sequence[int] | None = None,
) -> Figure:
    """A grid of images titled with their class names.

    With ``predictions``, each title reads ``predicted (true)`` and wrong ones are red.

    Example:
        >>> fig = plot_image_grid(np.zeros((4, 28, 28)), [0, 1, 2, 3], n_rows=1, n_cols=4)
    """
    images = np.asarray(images)
    count = min(n_rows * n_cols, len(images))

    def name(label: int) -> str:
        return class_names[int(label)] if class_names is not None else str(int(label))

    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 1.2, n_rows * 1.45), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        image = images[i].reshape(28, 28) if images[i].size == 784 else images[i]
        ax.imshow(image, cmap="binary", interpolation="nearest")
        if predictions is None:
            ax.set_title(name(labels[i]), fontsize=8)
        else:
            wrong = int(predictions[i]) != int(labels[i])
            ax.set_title(
                f"{name(predictions[i])}\n({name(labels[i])})",
                fontsize=7,
                color="crimson" if wrong else "black",
            )
    fig.tight_layout()
    return fig


def history_frame(history: Any):
    """A pandas DataFrame (one row per epoch) from a Keras ``History`` or its ``.history`` dict."""
    import pandas as pd

    data = getattr(history, "history", history)
    if not isinstance(data, Mapping) or not data:
        raise ValueError(
            "expected a Keras History (what model.fit returns) or its .history dict, "
            f"got {type(history).__name__}"
        )
    frame = pd.DataFrame(data)
    frame.index = np.arange(1, len(frame) + 1)
    frame.index.name = "epoch"
    return frame


def plot_learning_curves(
    history: Any, metrics: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """Training and validation curves per epoch, one panel per metric.

    ``metrics`` defaults to every metric without the ``val_`` prefix (loss, accuracy...);
    each panel shows the metric and its ``val_`` twin.

    Example:
        >>> fig = plot_learning_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    """
    frame = history_frame(history)
    if metrics is None:
        metrics = [c for c in frame.columns if not c.startswith("val_") and c != "learning_rate"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=True):
        ax.plot(frame.index, frame[metric], "o-", ms=3, label=f"training {metric}")
        if f"val_{metric}" in frame:
            ax.plot(frame.index, frame[f"val_{metric}"], "s--", ms=3, label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_functions(
    functions: Mapping[str, Callable[[np.ndarray], Any]],
    x: Any = None,
    derivatives: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot functions of one variable (activations, say) and, beside them, their derivatives.

    Derivatives are estimated with ``np.gradient`` on the grid ``x``.

    Example:
        >>> fig = plot_functions({"tanh": np.tanh}, np.linspace(-3, 3, 101))
    """
    x = np.linspace(-5, 5, 401) if x is None else np.asarray(x, dtype=np.float64)
    panels = 2 if derivatives else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    for label, func in functions.items():
        y = np.asarray(func(x), dtype=np.float64)
        axes[0, 0].plot(x, y, label=label)
        if derivatives:
            axes[0, 1].plot(x, np.gradient(y, x), label=label)
    axes[0, 0].set_title(title or "function")
    if derivatives:
        axes[0, 1].set_title("derivative")
    for ax in axes.flat:
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("z")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_per_layer(
    series: Mapping[str, Sequence[float]],
    ylabel: str,
    title: str | None = None,
    log_scale: bool = False,
) -> Figure:
    """One line per named series against layer number (1 = closest to the input).

    Use it for gradient norms or activation mean/std layer by layer.

    Example:
        >>> fig = plot_per_layer({"ReLU + Glorot": [1e-4, 1e-3, 1e-2]}, "gradient norm", log_scale=True)
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        array = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, len(array) + 1), array, "o-", ms=3, label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("layer (1 = first hidden layer)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return matrix


def plot_confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str], normalize: bool = True
) -> Figure:
    """A confusion matrix heat map; normalized rows show each class's recall.

    Example:
        >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["a", "b"])
    """
    matrix = confusion_matrix(y_true, y_pred, len(class_names)).astype(np.float64)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.6 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.grid(False)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in ticks:
        for j in ticks:
            text = f"{matrix[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(
                float(j),
                float(i),
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i, j] > threshold else "black",
            )
    fig.tight_layout()
    return fig
