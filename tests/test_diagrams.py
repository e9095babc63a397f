"""course_utils.diagrams: each concept diagram draws what it says, with computed numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import same_color  # noqa: E402

from course_utils import diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def units(ax, role=None):
    return [p for p in ax.patches if role is None or p.get_gid() == role]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_the_mlp_has_every_unit_and_every_weight():
    ax = diagrams.draw_mlp((4, 5, 3, 2)).axes[0]
    assert [len(units(ax, r)) for r in ("input", "hidden", "output")] == [4, 8, 2]
    assert len(ax.lines) == 4 * 5 + 5 * 3 + 3 * 2  # one line per weight
    assert "hidden 2\n(3)" in texts(ax)


def test_a_dropped_unit_is_grey_and_loses_its_connections():
    ax = diagrams.draw_mlp((3, 4, 2), dropped=[(1, 0), (1, 3)]).axes[0]
    grey = [p for p in units(ax) if same_color(p.get_facecolor(), diagrams.DROPPED)]
    assert len(grey) == 2
    assert len(ax.lines) == 3 * 2 + 2 * 2


@pytest.mark.parametrize("sizes", [(3,), (3, 0, 2)])
def test_an_mlp_needs_two_layers_of_units(sizes):
    with pytest.raises(ValueError, match="at least two layers"):
        diagrams.draw_mlp(sizes)


def test_the_neuron_shows_its_weighted_sum_and_relu():
    fig = diagrams.draw_neuron(inputs=(1.0, -2.0), weights=(0.5, 1.5), bias=0.25)
    title = fig.axes[0].get_title()
    assert "= -2.25" in title and "ReLU(z) = 0" in title  # 0.5 - 3 + 0.25, then ReLU
    assert len(units(fig.axes[0], "input")) == 2
    with pytest.raises(ValueError, match="one weight per input"):
        diagrams.draw_neuron(inputs=(1.0, 2.0), weights=(1.0,))


def test_the_graphs_gradients_are_what_tensorflow_computes():
    import tensorflow as tf

    x, w, b, target = 1.5, -2.0, 0.75, 3.0
    values = diagrams.graph_values(x, w, b, target)
    tx, tw, tb = (tf.Variable(v, dtype=tf.float64) for v in (x, w, b))
    with tf.GradientTape() as tape:
        loss = (tw * tx + tb - target) ** 2
    dx, dw, db = tape.gradient(loss, [tx, tw, tb])
    assert values["loss"] == pytest.approx(float(loss))
    assert values["dloss_dx"] == pytest.approx(float(dx))
    assert values["dloss_dw"] == pytest.approx(float(dw))
    assert values["dloss_db"] == pytest.approx(float(db))
    shown = texts(diagrams.draw_computational_graph(x, w, b, target).axes[0])
    for name in ("dloss_dx", "dloss_dw", "dloss_db", "dloss_du", "dloss_dz"):
        assert f"{name.replace('_', '/')} = {values[name]:g}" in shown


def test_dropout_drops_each_hidden_unit_with_its_rate():
    sizes = (10, 500, 500, 10)
    mask = diagrams.dropout_mask(sizes, rate=0.3, seed=1)
    assert {layer for layer, _ in mask} == {1, 2}  # never an input or output unit
    assert 0.25 < len(mask) / 1000 < 0.35
    assert diagrams.dropout_mask(sizes, rate=0.3, seed=1) == mask  # same seed, same draw
    assert diagrams.dropout_mask(sizes, rate=0.0) == []
    with pytest.raises(ValueError, match="probability"):
        diagrams.dropout_mask(sizes, rate=1.0)


def test_the_dropout_figure_shows_training_and_inference():
    fig = diagrams.draw_dropout((3, 6, 6, 2), rate=0.5, seed=3)
    training, inference = fig.axes
    dropped = len(diagrams.dropout_mask((3, 6, 6, 2), 0.5, seed=3))
    grey = [p for p in units(training) if same_color(p.get_facecolor(), diagrams.DROPPED)]
    assert len(grey) == dropped > 0
    assert f"{dropped} hidden units dropped" in training.get_title()
    assert not [p for p in units(inference) if same_color(p.get_facecolor(), diagrams.DROPPED)]
    assert len(inference.lines) == 3 * 6 + 6 * 6 + 6 * 2


def test_batch_norm_panels_match_a_keras_layer_in_training():
    import keras

    rng = np.random.default_rng(0)
    batch = rng.normal([4.0, -1.0], [2.0, 0.3], size=(32, 2))
    gamma, beta = (1.5, 0.5), (-1.0, 2.0)
    fig = diagrams.draw_batch_norm(batch, gamma=gamma, beta=beta)
    raw, normalized, output = (
        np.column_stack([c.get_offsets()[:, 1] for c in ax.collections if c.get_gid() == "values"])
        for ax in fig.axes
    )
    np.testing.assert_allclose(raw, batch)
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-9)
    variance = batch.var(axis=0)  # std 1, but for epsilon: sqrt(var / (var + epsilon))
    np.testing.assert_allclose(normalized.std(axis=0), np.sqrt(variance / (variance + 1e-3)))
    layer = keras.layers.BatchNormalization(epsilon=1e-3)
    layer.build((None, 2))
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    expected = np.asarray(layer(batch.astype("float32"), training=True))
    np.testing.assert_allclose(output, expected, atol=1e-4)
    for ax in fig.axes:
        assert ax.get_ylabel(), ax.get_title()  # every panel says what its axis is
    with pytest.raises(ValueError, match="one gamma and one beta per feature"):
        diagrams.draw_batch_norm(batch, gamma=(1.0,), beta=(0.0,))
