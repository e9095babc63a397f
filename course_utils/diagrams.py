"""Concept diagrams the notebooks show where a picture says more than a paragraph.

Each function draws one idea with matplotlib and returns the ``Figure``; the numbers on
a diagram are computed, not typed in, so the tests can check them:

- :func:`draw_neuron`: one artificial neuron, a weighted sum and an activation;
- :func:`draw_mlp`: a multilayer perceptron, layer by layer (optionally with units dropped);
- :func:`draw_computational_graph`: the forward pass and the gradients that backpropagation
  sends back through a tiny graph, ``loss = (w * x + b - target) ** 2``;
- :func:`draw_dropout`: the same network in one training step with dropout, and at inference;
- :func:`draw_batch_norm`: what Batch Normalization does to a batch, feature by feature.

Example:
    >>> fig = draw_mlp((3, 4, 2))
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

UNIT_RADIUS = 0.22
DROPPED = "#d9d9d9"  # the fill of a dropped unit
COLOURS = {"input": "#9ecae1", "hidden": "#fdd0a2", "output": "#a1d99b", "op": "#eeeeee"}


def _blank(ax: Axes, width: float, height: float) -> None:
    ax.set_xlim(-0.8, width + 0.8)
    ax.set_ylim(-1.0, height + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")


def _unit(
    ax: Axes,
    x: float,
    y: float,
    colour: str,
    text: str = "",
    gid: str = "unit",
    radius: float = UNIT_RADIUS,
) -> Circle:
    circle = Circle((x, y), radius, facecolor=colour, edgecolor="black", lw=1, zorder=3)
    circle.set_gid(gid)
    ax.add_patch(circle)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=4)
    return circle


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], **style) -> None:
    style = {"arrowstyle": "-|>", "mutation_scale": 10, "lw": 0.8, "color": "black", **style}
    arrow = FancyArrowPatch(start, end, shrinkA=9, shrinkB=9, zorder=2, **style)
    ax.add_patch(arrow)


def _one_decimal(value: float) -> str:
    """``value`` with one decimal, and no "-0.0".

    Example:
        >>> _one_decimal(-0.00001), _one_decimal(2.46)
        ('0.0', '2.5')
    """
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _numbers(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"


def _positions(layer_sizes: Sequence[int]) -> list[list[tuple[float, float]]]:
    """Where each unit of each layer sits: layers 1.6 apart, units centred vertically."""
    tallest = max(layer_sizes)
    return [
        [(1.6 * layer, (tallest - size) / 2 + unit) for unit in range(size)]
        for layer, size in enumerate(layer_sizes)
    ]


def draw_neuron(
    inputs: Sequence[float] = (1.0, 2.0, 0.5),
    weights: Sequence[float] = (0.5, -0.25, 2.0),
    bias: float = 0.5,
) -> Figure:
    """One neuron: each input times its weight, summed with the bias (z), then ReLU.

    Example:
        >>> fig = draw_neuron((1.0, 2.0), (3.0, -1.0), bias=0.5)
        >>> fig.axes[0].get_title()
        'One neuron: z = w1*x1 + w2*x2 + b = 1.5, output ReLU(z) = 1.5'
    """
    inputs, weights = [float(v) for v in inputs], [float(v) for v in weights]
    if len(inputs) != len(weights):
        raise ValueError(
            f"{len(inputs)} inputs but {len(weights)} weights: give one weight per input"
        )
    z = float(np.dot(inputs, weights) + bias)
    output = max(z, 0.0)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    n = len(inputs)
    _blank(ax, 4.4, max(n - 1, 2))
    middle = (n - 1) / 2
    for i, (x, w) in enumerate(zip(inputs, weights, strict=True)):
        y = n - 1 - i
        _unit(ax, 0, y, COLOURS["input"], f"{x:g}", gid="input")
        ax.text(-0.35, y, f"x{i + 1}", ha="right", va="center", fontsize=9)
        _arrow(ax, (0, y), (1.6, middle))
        ax.text(
            1.0, (y + middle) / 2 + 0.12, f"w{i + 1} = {w:g}", ha="center", fontsize=8, color="navy"
        )
    _unit(ax, 2.0, middle, COLOURS["hidden"], "Σ, then\nReLU", gid="neuron", radius=0.42)
    ax.text(2.0, middle - 0.55, f"+ b = {bias:g}", ha="center", va="top", fontsize=8, color="navy")
    _unit(ax, 4.0, middle, COLOURS["output"], f"{output:g}", gid="output")
    _arrow(ax, (2.4, middle), (4.0, middle))
    terms = " + ".join(f"w{i + 1}*x{i + 1}" for i in range(n))
    ax.set_title(f"One neuron: z = {terms} + b = {z:g}, output ReLU(z) = {output:g}", fontsize=10)
    fig.tight_layout()
    return fig


def draw_mlp(
    layer_sizes: Sequence[int] = (4, 5, 5, 3),
    dropped: Sequence[tuple[int, int]] = (),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A multilayer perceptron: every unit of a layer feeds every unit of the next.

    ``dropped`` lists ``(layer, unit)`` pairs drawn grey, with none of their connections
    (a training step with dropout). Each unit is a circle whose ``gid`` is its role.

    Example:
        >>> fig = draw_mlp((3, 4, 2))
        >>> sum(patch.get_gid() == "hidden" for patch in fig.axes[0].patches)
        4
    """
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError(
            f"layer_sizes {tuple(layer_sizes)}: give at least two layers of one unit or more"
        )
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(1.6 * len(layer_sizes) + 1.5, 0.55 * max(layer_sizes) + 1.5)
        )
    else:
        figure = ax.figure
        assert isinstance(figure, Figure), "draw_mlp draws on an axes of a whole figure"
        fig = figure
    gone = set(dropped)
    where = _positions(layer_sizes)
    last = len(layer_sizes) - 1
    _blank(ax, 1.6 * last, max(layer_sizes) - 1)
    for layer in range(last):
        for a, start in enumerate(where[layer]):
            for b, end in enumerate(where[layer + 1]):
                if (layer, a) not in gone and (layer + 1, b) not in gone:
                    ax.plot(*zip(start, end, strict=True), color="grey", lw=0.5, zorder=1)
    for layer, units in enumerate(where):
        role = "input" if layer == 0 else "output" if layer == last else "hidden"
        for unit, (x, y) in enumerate(units):
            off = (layer, unit) in gone
            _unit(ax, x, y, DROPPED if off else COLOURS[role], "×" if off else "", gid=role)
        name = "input" if layer == 0 else "output" if layer == last else f"hidden {layer}"
        ax.text(1.6 * layer, -0.75, f"{name}\n({len(units)})", ha="center", va="top", fontsize=8)
    ax.set_title(title or "A multilayer perceptron: each line is one weight", fontsize=10)
    fig.tight_layout()
    return fig


def graph_values(x: float, w: float, b: float, target: float) -> dict[str, float]:
    """The forward values and the gradients of ``loss = (w * x + b - target) ** 2``, by the
    chain rule, one node at a time (what :func:`draw_computational_graph` writes on the graph).

    Example:
        >>> values = graph_values(x=2.0, w=3.0, b=1.0, target=5.0)
        >>> values["loss"], values["dloss_dw"], values["dloss_db"]
        (4.0, 8.0, 4.0)
    """
    u = w * x
    z = u + b
    loss = (z - target) ** 2
    dloss_dz = 2 * (z - target)  # d(e^2)/de with e = z - target
    dloss_du = dloss_dz  # z = u + b: an addition passes the gradient on unchanged
    return {
        "u": u,
        "z": z,
        "loss": loss,
        "dloss_dz": dloss_dz,
        "dloss_du": dloss_du,
        "dloss_db": dloss_dz,
        "dloss_dw": dloss_du * x,  # u = w * x: a product sends back the other factor
        "dloss_dx": dloss_du * w,
    }


def draw_computational_graph(
    x: float = 2.0, w: float = 3.0, b: float = 1.0, target: float = 5.0
) -> Figure:
    """The graph of ``loss = (w * x + b - target) ** 2``: values forward (black, left to
    right), gradients backward (red, right to left), as backpropagation computes them.

    Example:
        >>> fig = draw_computational_graph()
        >>> "dloss/dw = 8" in [t.get_text() for t in fig.axes[0].texts]
        True
    """
    v = graph_values(x, w, b, target)
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    _blank(ax, 6.0, 2.0)
    nodes = {
        "x": (0.0, 2.0, COLOURS["input"], f"x\n{x:g}"),
        "w": (0.0, 1.0, COLOURS["hidden"], f"w\n{w:g}"),
        "b": (0.0, 0.0, COLOURS["hidden"], f"b\n{b:g}"),
        "u": (2.0, 1.5, COLOURS["op"], "×"),
        "z": (4.0, 1.0, COLOURS["op"], "+"),
        "loss": (6.0, 1.0, COLOURS["output"], "(z-t)²"),
    }
    for name, (px, py, colour, text) in nodes.items():
        _unit(ax, px, py, colour, text, gid=name)
    edges = [("x", "u"), ("w", "u"), ("u", "z"), ("b", "z"), ("z", "loss")]
    forward = {
        "x": f"{x:g}",
        "w": f"{w:g}",
        "u": f"u = {v['u']:g}",
        "b": f"{b:g}",
        "z": f"z = {v['z']:g}",
    }
    backward = {
        "x": f"dloss/dx = {v['dloss_dx']:g}",
        "w": f"dloss/dw = {v['dloss_dw']:g}",
        "u": f"dloss/du = {v['dloss_du']:g}",
        "b": f"dloss/db = {v['dloss_db']:g}",
        "z": f"dloss/dz = {v['dloss_dz']:g}",
    }
    for start, end in edges:
        (x0, y0), (x1, y1) = nodes[start][:2], nodes[end][:2]
        _arrow(ax, (x0, y0), (x1, y1))
        mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(mid_x, mid_y + 0.12, forward[start], ha="center", fontsize=8)
        ax.text(mid_x, mid_y - 0.2, backward[start], ha="center", fontsize=8, color="crimson")
    ax.text(
        6.0,
        0.6,
        f"loss = {v['loss']:g}\n(target t = {target:g})",
        ha="center",
        va="top",
        fontsize=8,
    )
    ax.set_title(
        "Forward pass (black): values left to right. Backward pass (red): each node multiplies\n"
        "the gradient it receives by its own local derivative and passes it back.",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def dropout_mask(layer_sizes: Sequence[int], rate: float, seed: int = 0) -> list[tuple[int, int]]:
    """The hidden units one training step drops: each with probability ``rate``, its own draw.

    Example:
        >>> dropout_mask((3, 4, 2), rate=0.0)
        []
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate = {rate}: a dropout rate is a probability in [0, 1)")
    rng = np.random.default_rng(seed)
    return [
        (layer, unit)
        for layer in range(1, len(layer_sizes) - 1)
        for unit in range(layer_sizes[layer])
        if rng.random() < rate
    ]


def draw_dropout(
    layer_sizes: Sequence[int] = (4, 6, 6, 3), rate: float = 0.5, seed: int = 0
) -> Figure:
    """Dropout: in a training step each hidden unit is switched off with probability ``rate``
    (a new draw every step); at inference every unit works.

    Example:
        >>> fig = draw_dropout((3, 4, 2), rate=0.5)
        >>> [ax.get_title().split(":")[0] for ax in fig.axes]
        ['One training step', 'Inference (evaluate, predict)']
    """
    dropped = dropout_mask(layer_sizes, rate, seed)
    width = 1.6 * len(layer_sizes) + 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(2 * width, 0.55 * max(layer_sizes) + 1.8))
    draw_mlp(
        layer_sizes,
        dropped,
        ax=left,
        title=f"One training step: {len(dropped)} hidden units dropped (rate {rate:g});\n"
        f"the kept ones are scaled by 1/(1 - rate) = {1 / (1 - rate):.2g}",
    )
    draw_mlp(layer_sizes, ax=right, title="Inference (evaluate, predict): every unit, no scaling")
    fig.tight_layout()
    return fig


def draw_batch_norm(
    batch: np.ndarray | None = None,
    gamma: Sequence[float] = (2.0, 0.5, 1.0),
    beta: Sequence[float] = (1.0, 0.0, -1.0),
    epsilon: float = 1e-3,
    seed: int = 0,
) -> Figure:
    """What Batch Normalization does in training, feature by feature: the batch's values,
    the same values with each feature's batch mean removed and divided by its batch standard
    deviation, then scaled by gamma and shifted by beta (both learned).

    ``batch`` is (samples, features); by default 64 samples of three features with very
    different means and spreads.

    Example:
        >>> fig = draw_batch_norm()
        >>> [ax.get_title().split("\\n")[0] for ax in fig.axes]
        ['The batch', 'Normalized per feature', 'Scaled and shifted']
    """
    if batch is None:
        rng = np.random.default_rng(seed)
        batch = rng.normal([5.0, -2.0, 0.5], [3.0, 0.5, 1.0], size=(64, 3))
    batch = np.asarray(batch, dtype=float)
    if batch.ndim != 2:
        raise ValueError(f"batch has shape {batch.shape}: give (samples, features)")
    n_features = batch.shape[1]
    if len(gamma) != n_features or len(beta) != n_features:
        raise ValueError(f"{n_features} features: give one gamma and one beta per feature")
    normalized = (batch - batch.mean(axis=0)) / np.sqrt(batch.var(axis=0) + epsilon)
    output = normalized * np.asarray(gamma) + np.asarray(beta)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=False)
    rng = np.random.default_rng(seed + 1)
    panels = [
        (batch, "The batch", "value of the feature"),
        (normalized, "Normalized per feature", "(value - batch mean) / batch std"),
        (
            output,
            "Scaled and shifted",
            f"gamma * normalized + beta\ngamma = {_numbers(gamma)}, beta = {_numbers(beta)}",
        ),
    ]
    for ax, (values, title, ylabel) in zip(axes, panels, strict=True):
        for feature in range(n_features):
            jitter = rng.uniform(-0.15, 0.15, size=len(values))
            ax.scatter(feature + jitter, values[:, feature], s=6, alpha=0.6, gid="values")
            ax.hlines(values[:, feature].mean(), feature - 0.3, feature + 0.3, color="black")
        means = ", ".join(_one_decimal(m) for m in values.mean(axis=0))
        stds = ", ".join(_one_decimal(s) for s in values.std(axis=0))
        ax.set_title(f"{title}\nmeans {means}; stds {stds}", fontsize=9)
        ax.set_xticks(range(n_features), [f"feature {i + 1}" for i in range(n_features)])
        ax.set_ylabel(ylabel, fontsize=8)
    fig.suptitle(
        "Batch Normalization in training (black bars: each feature's batch mean)", fontsize=10
    )
    fig.tight_layout()
    return fig
