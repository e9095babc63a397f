"""course_utils.plotting: every function returns a Figure with the right content."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import plotting  # noqa: E402
from course_utils.data import FASHION_MNIST_CLASS_NAMES  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled_lines(ax):
    """Lines with a legend label (not axhline/axvline helpers)."""
    return [line for line in ax.lines if not line.get_label().startswith("_")]


def is_red(color) -> bool:
    r, g, b = to_rgb(color)
    return r > 0.6 and g < 0.3 and b < 0.4


# --------------------------------------------------------------------------- #
# Images
# --------------------------------------------------------------------------- #


def test_show_image():
    image = np.random.default_rng(0).random((28, 28))
    fig = plotting.show_image(image, title="noise")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "noise"
    np.testing.assert_array_equal(ax.images[0].get_array(), image)


def test_show_image_reshapes_flat_vector_and_no_title():
    flat = np.arange(784, dtype=np.float64)
    fig = plotting.show_image(flat)
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.images[0].get_array(), flat.reshape(28, 28))
    assert ax.get_title() == ""


def test_plot_image_grid_titles_are_class_names():
    images = np.random.default_rng(1).integers(0, 256, size=(5, 28, 28))
    labels = [0, 9, 3, 3, 1]
    fig = plotting.plot_image_grid(images, labels, FASHION_MNIST_CLASS_NAMES, n_rows=2, n_cols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 5  # one empty panel
    assert [ax.get_title() for ax in drawn] == [FASHION_MNIST_CLASS_NAMES[i] for i in labels]
    for ax, image in zip(drawn, images, strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), image)


def test_plot_image_grid_without_class_names_and_flat_images():
    images = np.zeros((4, 784))
    fig = plotting.plot_image_grid(images, [7, 2, 1, 0], n_rows=1, n_cols=4)
    assert [ax.get_title() for ax in fig.axes] == ["7", "2", "1", "0"]
    assert all(ax.images[0].get_array().shape == (28, 28) for ax in fig.axes)


def test_plot_image_grid_marks_wrong_predictions_red():
    names = FASHION_MNIST_CLASS_NAMES
    labels = [0, 1, 2, 3]
    predictions = [0, 5, 2, 9]
    fig = plotting.plot_image_grid(
        np.zeros((4, 28, 28)), labels, names, n_rows=1, n_cols=4, predictions=predictions
    )
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == [
        f"{names[p]}\n({names[t]})" for p, t in zip(predictions, labels, strict=True)
    ]
    wrong = [is_red(t.get_color()) for t in titles]
    assert wrong == [False, True, False, True]
    assert to_rgb(titles[0].get_color()) == to_rgb("black")


# --------------------------------------------------------------------------- #
# Learning curves
# --------------------------------------------------------------------------- #

HISTORY = {
    "loss": [1.0, 0.6, 0.4],
    "accuracy": [0.6, 0.75, 0.8],
    "val_loss": [1.1, 0.7, 0.6],
    "val_accuracy": [0.55, 0.7, 0.74],
    "learning_rate": [0.01, 0.01, 0.01],
}


def test_history_frame_from_dict():
    frame = plotting.history_frame(HISTORY)
    assert list(frame.index) == [1, 2, 3]
    assert frame.index.name == "epoch"
    assert frame["val_loss"].tolist() == HISTORY["val_loss"]
    assert set(frame.columns) == set(HISTORY)


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [({}, "dict"), ([1.0, 0.5], "list"), (None, "NoneType"), ("loss", "str")],
)
def test_history_frame_rejects_bad_input(bad, type_name):
    with pytest.raises(
        ValueError,
        match=rf"expected a Keras History \(what model\.fit returns\) or its \.history dict, "
        rf"got {type_name}$",
    ):
        plotting.history_frame(bad)


def test_plot_learning_curves_from_dict():
    fig = plotting.plot_learning_curves(HISTORY, title="MLP")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # loss and accuracy; learning_rate is not a metric panel
    assert sorted(ax.get_ylabel() for ax in fig.axes) == ["accuracy", "loss"]
    for ax in fig.axes:
        metric = ax.get_ylabel()
        lines = labelled_lines(ax)
        assert [line.get_label() for line in lines] == [
            f"training {metric}",
            f"validation {metric}",
        ]
        np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(lines[0].get_ydata(), HISTORY[metric])
        np.testing.assert_array_equal(lines[1].get_ydata(), HISTORY[f"val_{metric}"])
        assert ax.get_xlabel() == "epoch"
    assert fig.get_suptitle() == "MLP"


def test_plot_learning_curves_chosen_metrics_and_no_validation():
    fig = plotting.plot_learning_curves({"loss": [2.0, 1.0], "mae": [0.9, 0.5]}, metrics=["mae"])
    (ax,) = fig.axes
    assert ax.get_ylabel() == "mae"
    assert [line.get_label() for line in labelled_lines(ax)] == ["training mae"]


def test_plot_learning_curves_from_keras_history(keras):
    rng = np.random.default_rng(0)
    X = rng.random((16, 4)).astype("float32")
    y = rng.integers(0, 2, 16)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(X, y, epochs=1, batch_size=8, validation_data=(X, y), verbose=0)

    frame = plotting.history_frame(history)
    assert len(frame) == 1
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(frame.columns)

    fig = plotting.plot_learning_curves(history)
    assert sorted(ax.get_ylabel() for ax in fig.axes) == ["accuracy", "loss"]
    for ax in fig.axes:
        metric = ax.get_ylabel()
        lines = labelled_lines(ax)
        assert len(lines) == 2
        np.testing.assert_allclose(lines[0].get_ydata(), history.history[metric])
        np.testing.assert_allclose(lines[1].get_ydata(), history.history[f"val_{metric}"])


# --------------------------------------------------------------------------- #
# Functions, per-layer plots
# --------------------------------------------------------------------------- #


def test_plot_functions_two_panels():
    x = np.linspace(-3, 3, 601)
    fig = plotting.plot_functions({"tanh": np.tanh, "square": np.square}, x, title="activations")
    assert isinstance(fig, Figure)
    function_ax, derivative_ax = fig.axes
    assert function_ax.get_title() == "activations"
    assert derivative_ax.get_title() == "derivative"
    for ax in fig.axes:
        assert [line.get_label() for line in labelled_lines(ax)] == ["tanh", "square"]
    square = labelled_lines(function_ax)[1]
    np.testing.assert_allclose(square.get_ydata(), x**2)
    d_square = labelled_lines(derivative_ax)[1]
    np.testing.assert_allclose(d_square.get_ydata()[1:-1], 2 * x[1:-1], atol=1e-9)
    d_tanh = labelled_lines(derivative_ax)[0]
    np.testing.assert_allclose(d_tanh.get_ydata()[1:-1], 1 - np.tanh(x[1:-1]) ** 2, atol=1e-3)


def test_plot_functions_without_derivatives_and_default_grid():
    fig = plotting.plot_functions({"relu": lambda z: np.maximum(z, 0)}, derivatives=False)
    (ax,) = fig.axes
    assert ax.get_title() == "function"
    (line,) = labelled_lines(ax)
    assert line.get_xdata()[0] == -5 and line.get_xdata()[-1] == 5


def test_plot_per_layer_log_scale():
    series = {"sigmoid": [1e-5, 1e-3, 1e-1], "relu": [0.1, 0.2, 0.3, 0.4]}
    fig = plotting.plot_per_layer(series, "gradient norm", title="gradients", log_scale=True)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "gradient norm"
    assert ax.get_title() == "gradients"
    lines = labelled_lines(ax)
    assert [line.get_label() for line in lines] == ["sigmoid", "relu"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines[0].get_ydata(), series["sigmoid"])


def test_plot_per_layer_linear_by_default():
    fig = plotting.plot_per_layer({"std": [1.0, 0.5]}, "activation std")
    assert fig.axes[0].get_yscale() == "linear"


# --------------------------------------------------------------------------- #
# Confusion matrix
# --------------------------------------------------------------------------- #


def test_confusion_matrix_counts():
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    matrix = plotting.confusion_matrix(y_true, y_pred, 4)
    np.testing.assert_array_equal(matrix, sk_confusion_matrix(y_true, y_pred, labels=range(4)))
    assert matrix.sum() == 200


def test_confusion_matrix_small_example_and_unused_class():
    matrix = plotting.confusion_matrix([0, 1, 1, 1], [0, 1, 0, 1], 3)
    assert matrix.shape == (3, 3)
    assert matrix[0, 0] == 1 and matrix[1, 1] == 2 and matrix[1, 0] == 1
    assert matrix[2].sum() == 0 and matrix[:, 2].sum() == 0


def _cell_texts(ax, n):
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    return [[texts[(i, j)].get_text() for j in range(n)] for i in range(n)]


def test_plot_confusion_matrix_normalized():
    names = ["cat", "dog", "bird"]
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 1, 0]
    fig = plotting.plot_confusion_matrix(y_true, y_pred, names)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown.sum(axis=1), [1, 1, 1])
    np.testing.assert_allclose(shown[0], [2 / 3, 1 / 3, 0])
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert _cell_texts(ax, 3)[0] == ["0.67", "0.33", "0.00"]


def test_plot_confusion_matrix_counts():
    fig = plotting.plot_confusion_matrix([0, 0, 1], [0, 1, 1], ["a", "b"], normalize=False)
    (ax,) = fig.axes
    assert _cell_texts(ax, 2) == [["1", "1"], ["0", "1"]]
