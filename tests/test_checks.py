"""course_utils.checks: every check passes on good input and explains bad input."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT

from course_utils import checks
from course_utils.checks import (
    check_activations,
    check_architecture,
    check_at_least,
    check_at_most,
    check_callable,
    check_close,
    check_dataset_steps,
    check_decreasing,
    check_dtype,
    check_equal,
    check_in_range,
    check_keys,
    check_layer_types,
    check_loss,
    check_one_hot,
    check_one_of,
    check_param_count,
    check_shape,
    check_type,
    check_units,
)

FORGOT = r"None \(did you forget to return or assign the result\?\)"


def fails(pattern: str):
    """``pytest.raises(AssertionError, match=pattern)``."""
    return pytest.raises(AssertionError, match=pattern)


def test_all_lists_every_public_check():
    public = {name for name in dir(checks) if name.startswith("check_")}
    assert public == set(checks.__all__)


# --------------------------------------------------------------------------- #
# check_type / check_callable
# --------------------------------------------------------------------------- #


def test_check_type_passes():
    check_type("n", 3, int)
    check_type("x", 3.0, (int, float))
    check_type("X", np.zeros(2), np.ndarray)


def test_check_type_fails_with_names():
    with fails(r"^n: expected a int, got str$"):
        check_type("n", "3", int)
    with fails(r"^x: expected a int or float, got list$"):
        check_type("x", [1], (int, float))


def test_check_type_none():
    with fails(rf"^result: expected a ndarray, got {FORGOT}$"):
        check_type("result", None, np.ndarray)


def test_check_callable():
    check_callable("one_hot", len)
    check_callable("f", lambda x: x)
    with fails(r"^one_hot: expected a function, got int$"):
        check_callable("one_hot", 3)
    with fails(rf"^one_hot: expected a function, got {FORGOT}$"):
        check_callable("one_hot", None)


# --------------------------------------------------------------------------- #
# check_shape / check_dtype
# --------------------------------------------------------------------------- #


def test_check_shape_passes_with_and_without_wildcards():
    check_shape("X", np.zeros((5, 3)), (5, 3))
    check_shape("X", np.zeros((5, 3)), [5, 3])
    check_shape("batch", np.zeros((32, 784)), (None, 784))
    check_shape("y", [1, 2, 3], (3,))
    check_shape("scalar", np.float32(1.0), ())


def test_check_shape_fails():
    with fails(r"^X_train: expected shape \(5, 4\), got \(5, 3\)$"):
        check_shape("X_train", np.zeros((5, 3)), (5, 4))


def test_check_shape_wildcard_shown_as_any():
    with fails(r"^batch: expected shape \(any, 784\), got \(32, 28, 28\)$"):
        check_shape("batch", np.zeros((32, 28, 28)), (None, 784))
    with fails(r"^batch: expected shape \(any, 784\), got \(32, 783\)$"):
        check_shape("batch", np.zeros((32, 783)), (None, 784))


def test_check_shape_none():
    with fails(rf"^X: expected an array of shape \(5, 3\), got {FORGOT}$"):
        check_shape("X", None, (5, 3))


def test_check_shape_accepts_tf_tensors(tf):
    check_shape("t", tf.zeros((4, 10)), (None, 10))
    with fails(r"^t: expected shape \(4, 3\), got \(4, 10\)$"):
        check_shape("t", tf.zeros((4, 10)), (4, 3))


@pytest.mark.parametrize("expected", ["float32", np.float32, np.dtype("float32")])
def test_check_dtype_passes_for_names_and_numpy_dtypes(expected):
    check_dtype("X", np.zeros(2, dtype=np.float32), expected)


def test_check_dtype_fails():
    with fails(r"^X: expected dtype float32, got float64$"):
        check_dtype("X", np.zeros(2), "float32")
    with fails(r"^y: expected dtype uint8, got int64$"):
        check_dtype("y", np.zeros(2, dtype=np.int64), np.uint8)


def test_check_dtype_none_and_plain_values():
    with fails(rf"^X: expected an array of dtype float32, got {FORGOT}$"):
        check_dtype("X", None, "float32")
    with fails(r"^X: expected an array of dtype float32, got list$"):
        check_dtype("X", [1.0, 2.0], "float32")


def test_check_dtype_accepts_tf_tensors_and_dtypes(tf):
    check_dtype("t", tf.zeros(3), tf.float32)
    check_dtype("t", tf.zeros(3), "float32")
    check_dtype("X", np.zeros(3, dtype=np.float32), tf.float32)
    with fails(r"^t: expected dtype float32, got int32$"):
        check_dtype("t", tf.zeros(3, dtype=tf.int32), tf.float32)


# --------------------------------------------------------------------------- #
# check_equal / check_close
# --------------------------------------------------------------------------- #


def test_check_equal_scalars_and_strings():
    check_equal("iterations per epoch", 196, 196)
    check_equal("name", "relu", "relu")
    with fails(r"^iterations per epoch: expected 196, got 195$"):
        check_equal("iterations per epoch", 195, 196)
    with fails(r"^name: expected 'relu', got 'tanh'$"):
        check_equal("name", "tanh", "relu")


def test_check_equal_shows_numpy_scalars_as_plain_numbers():
    check_equal("n", np.int64(196), 196)
    with fails(r"^n: expected 196, got 195$"):
        check_equal("n", np.int64(195), 196)
    with fails(r"^mean: expected 0\.5, got 0\.25$"):
        check_equal("mean", np.float64(0.25), np.float64(0.5))


def test_check_equal_none():
    with fails(r"^n: expected 196, got None$"):
        check_equal("n", None, 196)
    with fails(rf"^labels: expected 3 values, got {FORGOT}$"):
        check_equal("labels", None, [1, 2, 3])


def test_check_equal_arrays_pass():
    check_equal("labels", np.array([1, 2, 3]), [1, 2, 3])
    check_equal("labels", [1, 2, 3], np.array([1, 2, 3]))
    check_equal("grid", np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3))


def test_check_equal_arrays_first_differing_position():
    with fails(r"^labels: 2 of 5 values differ; first at position 1: expected 1, got 9$"):
        check_equal("labels", np.array([0, 9, 2, 3, 7]), [0, 1, 2, 3, 4])


def test_check_equal_arrays_position_is_flat_index():
    got = np.array([[0, 1, 2], [3, 0, 5]])
    with fails(r"^grid: 1 of 6 values differ; first at position 4: expected 4, got 0$"):
        check_equal("grid", got, np.arange(6).reshape(2, 3))


def test_check_equal_arrays_wrong_length_or_shape():
    with fails(r"^labels: expected 3 values, got \(2,\)$"):
        check_equal("labels", [1, 2], [1, 2, 3])
    with fails(r"^grid: expected shape \(2, 3\), got \(3, 2\)$"):
        check_equal("grid", np.zeros((3, 2)), np.zeros((2, 3)))


def test_check_equal_accepts_tf_tensors(tf):
    check_equal("t", tf.constant([1, 2, 3]), [1, 2, 3])
    with fails(r"^t: 1 of 3 values differ; first at position 2: expected 3, got 4$"):
        check_equal("t", tf.constant([1, 2, 4]), [1, 2, 3])


def test_check_close_scalars():
    check_close("loss", 0.10000001, 0.1)
    check_close("loss", np.float32(0.1), 0.1)
    with fails(r"^loss: expected 0\.1, got 0\.2$"):
        check_close("loss", 0.2, 0.1)
    check_close("loss", 0.11, 0.1, atol=0.02)


def test_check_close_arrays():
    check_close("probs", [0.2, 0.7, 0.1], np.array([0.2, 0.7, 0.1]))
    with fails(r"^probs: 2 of 4 values are off; first at index \(0, 1\): expected 0\.5, got 0\.6$"):
        check_close("probs", [[0.1, 0.6], [0.3, 0.9]], [[0.1, 0.5], [0.3, 0.4]])


def test_check_close_shows_the_digits_that_differ():
    # 6 significant digits would print "expected 1050.7, got 1050.7"
    with fails(r"^selu\(1000\): expected 1050\.700987, got 1050\.701$"):
        check_close("selu(1000)", 1050.701, 1050.7009873554805, rtol=1e-9, atol=0)
    with fails(
        r"^w: 1 of 2 values are off; first at index \(1,\): expected 1\.050700987, got 1\.050701$"
    ):
        check_close("w", [0.5, 1.050701], [0.5, 1.0507009873554805], rtol=1e-9, atol=0)


def test_check_close_shape_mismatch():
    with fails(r"^probs: expected shape \(3,\), got \(2,\)$"):
        check_close("probs", [0.1, 0.2], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("bad", [np.nan, np.inf, [0.1, np.nan], [-np.inf, 0.0]])
def test_check_close_detects_nan_and_inf(bad):
    expected = np.zeros(np.shape(bad))
    with fails(r"^loss: contains NaN or infinity; expected finite values$"):
        check_close("loss", bad, expected)


def test_check_close_none():
    with fails(rf"^loss: expected a value close to 0\.1, got {FORGOT}$"):
        check_close("loss", None, 0.1)


def test_check_close_accepts_tf_tensors(tf):
    check_close("loss", tf.constant(0.25), 0.25)
    check_close("probs", tf.constant([0.2, 0.8]), tf.constant([0.2, 0.8]))
    with fails(r"^loss: expected 0\.25, got 0\.5$"):
        check_close("loss", tf.constant(0.5), 0.25)


# --------------------------------------------------------------------------- #
# check_in_range / check_at_least / check_at_most
# --------------------------------------------------------------------------- #


def test_check_in_range():
    check_in_range("pixels", np.array([0.0, 0.5, 1.0]), 0, 1)
    check_in_range("pixel", 0.5, 0, 1)
    with fails(r"^pixels: expected values in \[0, 1\], got values from 0 to 255$"):
        check_in_range("pixels", np.array([0, 128, 255], dtype=np.uint8), 0, 1)
    with fails(r"^pixels: expected values in \[0, 1\], got values from -0\.5 to 1$"):
        check_in_range("pixels", [-0.5, 1.0], 0, 1)


def test_check_in_range_empty_none_and_nan():
    with fails(r"^pixels: is empty; expected values in \[0, 1\]$"):
        check_in_range("pixels", np.array([]), 0, 1)
    with fails(rf"^pixels: expected values in \[0, 1\], got {FORGOT}$"):
        check_in_range("pixels", None, 0, 1)
    with fails(r"^pixels: contains NaN; expected values in \[0, 1\]$"):
        check_in_range("pixels", np.array([0.5, np.nan]), 0, 1)


def test_check_in_range_accepts_tf_tensors(tf):
    check_in_range("images", tf.constant([[0.0, 1.0]]), 0.0, 1.0)
    with fails(r"^images: expected values in \[0\.0, 1\.0\], got values from 0 to 2$"):
        check_in_range("images", tf.constant([0.0, 2.0]), 0.0, 1.0)


def test_check_at_least():
    check_at_least("test accuracy", 0.9, 0.8)
    check_at_least("test accuracy", 0.8, 0.8)
    with fails(r"^test accuracy: expected at least 0\.8, got 0\.7512$"):
        check_at_least("test accuracy", 0.75123, 0.8)
    with fails(r"^test accuracy: expected at least 0\.8, got nan$"):
        check_at_least("test accuracy", float("nan"), 0.8)
    with fails(rf"^test accuracy: expected a number >= 0\.8, got {FORGOT}$"):
        check_at_least("test accuracy", None, 0.8)


def test_check_at_most():
    check_at_most("RMSE", 0.5, 0.6)
    check_at_most("RMSE", np.float64(0.6), 0.6)
    with fails(r"^RMSE: expected at most 0\.6, got 0\.7$"):
        check_at_most("RMSE", 0.7, 0.6)
    with fails(r"^RMSE: expected at most 0\.6, got nan$"):
        check_at_most("RMSE", np.nan, 0.6)
    # counts read as counts, not 5.005e+04
    with fails(r"^parameters: expected at most 50,050, got 50,095$"):
        check_at_most("parameters", np.int64(50_095), 50_050)
    with fails(rf"^RMSE: expected a number <= 0\.6, got {FORGOT}$"):
        check_at_most("RMSE", None, 0.6)


def test_check_at_least_and_most_accept_tf_scalars(tf):
    check_at_least("acc", tf.constant(0.9), 0.8)
    check_at_most("loss", tf.constant(0.3), 0.5)
    with fails(r"^loss: expected at most 0\.5, got 0\.9$"):
        check_at_most("loss", tf.constant(0.9), 0.5)


# --------------------------------------------------------------------------- #
# check_one_hot
# --------------------------------------------------------------------------- #


def test_check_one_hot_passes():
    check_one_hot("Y", np.eye(3)[[2, 0]], labels=[2, 0], depth=3)
    check_one_hot("Y", np.eye(10, dtype=np.float32)[[1, 1, 9]])
    check_one_hot("Y", np.eye(4)[[3, 1]], labels=np.array([3, 1], dtype=np.uint8))


def test_check_one_hot_accepts_tf_tensors(tf):
    check_one_hot("Y", tf.one_hot([1, 0, 2], 3), labels=tf.constant([1, 0, 2]), depth=3)


def test_check_one_hot_none():
    with fails(rf"^Y: expected a one-hot array, got {FORGOT}$"):
        check_one_hot("Y", None)


def test_check_one_hot_not_2d():
    with fails(r"^Y: expected a 2-D array \(samples x classes\), got 1-D shape \(3,\)$"):
        check_one_hot("Y", np.array([0, 1, 0]))
    with fails(r"^Y: expected a 2-D array \(samples x classes\), got 3-D shape \(2, 1, 3\)$"):
        check_one_hot("Y", np.zeros((2, 1, 3)))


def test_check_one_hot_wrong_depth():
    with fails(r"^Y: expected 10 columns \(one per class\), got 9$"):
        check_one_hot("Y", np.eye(9)[[1, 2]], depth=10)


def test_check_one_hot_values_other_than_0_and_1():
    with fails(r"^Y: a one-hot array holds only 0s and 1s, got other values too$"):
        check_one_hot("Y", np.array([[0.0, 0.5, 0.5]]))


def test_check_one_hot_rows_with_two_ones_or_none():
    with fails(r"^Y: row 1 has 2 ones; each row needs exactly one$"):
        check_one_hot("Y", np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]]))
    with fails(r"^Y: row 0 has 0 ones; each row needs exactly one$"):
        check_one_hot("Y", np.array([[0, 0, 0], [0, 1, 0]]))


def test_check_one_hot_wrong_column_vs_labels():
    with fails(r"^Y: row 2 should have its 1 in column 0, found it in column 2$"):
        check_one_hot("Y", np.eye(3)[[1, 2, 2]], labels=[1, 2, 0])


def test_check_one_hot_wrong_number_of_rows_vs_labels():
    with fails(r"^Y: expected 3 rows \(one per label\), got 2$"):
        check_one_hot("Y", np.eye(3)[[1, 2]], labels=[1, 2, 0])


# --------------------------------------------------------------------------- #
# check_decreasing
# --------------------------------------------------------------------------- #


def test_check_decreasing_passes():
    check_decreasing("loss", [2.3, 1.9, 1.5])
    check_decreasing("loss", [2.3, 2.5, 1.5])  # only first and last are compared
    check_decreasing("loss", np.array([1.0, 0.5]), min_drop=0.4)


def test_check_decreasing_fails_when_not_falling():
    with fails(r"^loss: expected it to fall by more than 0, went from 1\.5 to 1\.9$"):
        check_decreasing("loss", [1.5, 1.7, 1.9])
    with fails(r"^loss: expected it to fall by more than 0, went from 1 to 1$"):
        check_decreasing("loss", [1.0, 1.0])
    with fails(r"^loss: expected it to fall by more than 0\.6, went from 1 to 0\.5$"):
        check_decreasing("loss", [1.0, 0.5], min_drop=0.6)


def test_check_decreasing_needs_two_values():
    with fails(r"^loss: expected at least 2 values to compare, got 1$"):
        check_decreasing("loss", [1.0])
    with fails(r"^loss: expected at least 2 values to compare, got 0$"):
        check_decreasing("loss", None)


def test_check_decreasing_detects_nan():
    with fails(r"^loss: contains NaN or infinity \(a learning rate that is too large\?\)$"):
        check_decreasing("loss", [2.3, np.nan, 0.1])


# --------------------------------------------------------------------------- #
# Keras models
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def mlp(keras):
    """The course's Fashion-MNIST MLP, built with keras.Input (Sequential)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


MLP_TYPES = ["Flatten", "Dense", "Dense", "Dense"]
MLP_UNITS = [None, 300, 100, 10]
MLP_ACTIVATIONS = [None, "relu", "relu", "softmax"]
MLP_PARAMS = (28 * 28 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10)


@pytest.fixture(scope="module")
def functional(keras):
    inputs = keras.Input(shape=(8,))
    hidden = keras.layers.Dense(4, activation="tanh")(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs, outputs)


def test_check_layer_types(mlp):
    check_layer_types(mlp, MLP_TYPES)
    with fails(r"^layer 3: expected a Dropout layer, got Dense$"):
        check_layer_types(mlp, ["Flatten", "Dense", "Dropout", "Dense"])


def test_check_layer_types_wrong_count(mlp):
    with fails(
        r"^model: expected 3 layers \['Flatten', 'Dense', 'Dense'\], "
        r"got 4 layers \['Flatten', 'Dense', 'Dense', 'Dense'\]$"
    ):
        check_layer_types(mlp, ["Flatten", "Dense", "Dense"])


def test_model_checks_reject_non_models():
    for check, args in [
        (check_layer_types, (MLP_TYPES,)),
        (check_units, (MLP_UNITS,)),
        (check_activations, (MLP_ACTIVATIONS,)),
        (check_param_count, (MLP_PARAMS,)),
    ]:
        with fails(rf"^model: expected a Keras model, got {FORGOT}$"):
            check(None, *args)
        with fails(r"^model: expected a Keras model, got list$"):
            check([1, 2], *args)


def test_functional_model_input_layer_is_skipped(functional):
    assert type(functional.layers[0]).__name__ == "InputLayer"
    check_layer_types(functional, ["Dense", "Dense"])
    check_units(functional, [4, 1])
    check_activations(functional, ["tanh", "linear"])
    check_param_count(functional, (8 * 4 + 4) + (4 * 1 + 1))
    with fails(r"^layer 1 \(Dense\): expected 5 units, got 4$"):
        check_units(functional, [5, 1])


def test_check_units(mlp):
    check_units(mlp, MLP_UNITS)
    check_units(mlp, [None, None, None, 10])


def test_check_units_message_names_layer(mlp, keras):
    narrow = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    with fails(r"^layer 2 \(Dense\): expected 300 units, got 256$"):
        check_units(narrow, MLP_UNITS)
    with fails(r"^layer 1 \(Flatten\): expected 300 units, got None$"):
        check_units(mlp, [300, 300, 100, 10])
    with fails(r"^model: expected 3 layers, got 4$"):
        check_units(mlp, [300, 100, 10])


def test_check_activations(mlp, keras):
    check_activations(mlp, MLP_ACTIVATIONS)
    check_activations(mlp, [None, "ReLU", None, "Softmax"])  # case-insensitive
    with fails(r"^layer 4 \(Dense\): expected activation 'sigmoid', got 'softmax'$"):
        check_activations(mlp, [None, "relu", "relu", "sigmoid"])
    with fails(r"^layer 1 \(Flatten\): expected activation 'relu', got 'None'$"):
        check_activations(mlp, ["relu", "relu", "relu", "softmax"])
    with fails(r"^model: expected 2 layers, got 4$"):
        check_activations(mlp, ["relu", "softmax"])


def test_check_activations_default_is_linear(keras):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    check_activations(model, ["linear"])
    with fails(r"^layer 1 \(Dense\): expected activation 'relu', got 'linear'$"):
        check_activations(model, ["relu"])


def test_check_param_count(mlp):
    check_param_count(mlp, MLP_PARAMS)
    check_param_count(mlp, MLP_PARAMS, trainable_only=True)
    with fails(rf"^model: expected 266,000 parameters, got {MLP_PARAMS:,}$"):
        check_param_count(mlp, 266_000)


def test_check_param_count_trainable_only(keras):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.Dense(2)]
    )
    model.layers[0].trainable = False
    total, trainable = (4 * 3 + 3) + (3 * 2 + 2), 3 * 2 + 2
    check_param_count(model, total)
    check_param_count(model, trainable, trainable_only=True)
    with fails(rf"^model: expected {total} trainable parameters, got {trainable}$"):
        check_param_count(model, total, trainable_only=True)


def test_check_param_count_model_without_weights(keras):
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])  # no keras.Input
    with fails(
        r"^model: has no weights yet; give it an input shape \(keras\.Input\) or call it on data$"
    ):
        check_param_count(model, 10)


def test_check_architecture_passes(mlp):
    check_architecture(mlp, MLP_TYPES)
    check_architecture(
        mlp, MLP_TYPES, units=MLP_UNITS, activations=MLP_ACTIVATIONS, params=MLP_PARAMS
    )


def test_check_architecture_reports_first_problem_in_order(mlp):
    bad_units = [None, 256, 100, 10]
    bad_acts = [None, "tanh", "relu", "softmax"]
    # wrong layer types are reported before anything else
    with fails(r"^layer 1: expected a Dense layer, got Flatten$"):
        check_architecture(mlp, ["Dense"] * 4, units=bad_units, activations=bad_acts, params=1)
    with fails(r"^layer 2 \(Dense\): expected 256 units, got 300$"):
        check_architecture(mlp, MLP_TYPES, units=bad_units, activations=bad_acts, params=1)
    with fails(r"^layer 2 \(Dense\): expected activation 'tanh', got 'relu'$"):
        check_architecture(mlp, MLP_TYPES, units=MLP_UNITS, activations=bad_acts, params=1)
    with fails(r"^model: expected 1 parameters, got 266,610$"):
        check_architecture(mlp, MLP_TYPES, units=MLP_UNITS, activations=MLP_ACTIVATIONS, params=1)


# --------------------------------------------------------------------------- #
# Works under python -O (no bare assert statements)
# --------------------------------------------------------------------------- #


def test_checks_raise_under_python_O():
    code = (
        "import sys\n"
        "if sys.flags.optimize < 1: raise SystemExit('not running under -O')\n"
        "from course_utils.checks import check_equal\n"
        "check_equal('iterations per epoch', 195, 196)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert "not running under -O" not in result.stderr
    assert re.search(
        r"AssertionError: iterations per epoch: expected 196, got 195", result.stderr
    ), result.stderr


# --------------------------------------------------------------------------- #
# check_one_of / check_keys
# --------------------------------------------------------------------------- #


def test_check_one_of():
    check_one_of("diagnosis", "overfitting", ["underfitting", "overfitting"])
    check_one_of("units", 3, (1, 2, 3))
    with fails(r"^diagnosis: expected one of 'underfitting', 'overfitting'; got 'too big'$"):
        check_one_of("diagnosis", "too big", ["underfitting", "overfitting"])
    with fails(rf"^diagnosis: expected one of 'a', 'b'; got {FORGOT}$"):
        check_one_of("diagnosis", None, ["a", "b"])


def test_check_keys():
    check_keys("changes", {"epochs": 5}, ["epochs", "units"])
    check_keys("changes", {}, ["epochs"])
    check_keys("changes", {"epochs": 5}, ["epochs", "units"], required=["epochs"])
    with fails(r"^changes: unexpected key 'dropout'; allowed keys: 'epochs', 'units'$"):
        check_keys("changes", {"epochs": 5, "dropout": 0.5}, ["epochs", "units"])
    with fails(r"^changes: missing key 'units'$"):
        check_keys("changes", {"epochs": 5}, ["epochs", "units"], required=["units"])
    with fails(r"^changes: expected a dict, got list$"):
        check_keys("changes", ["epochs"], ["epochs"])
    with fails(rf"^changes: expected a dict, got {FORGOT}$"):
        check_keys("changes", None, ["epochs"])


# --------------------------------------------------------------------------- #
# tf.data pipelines
# --------------------------------------------------------------------------- #


def test_dataset_steps(tf):
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((8, 2))).shuffle(8, seed=1).batch(2)
    ds = ds.map(lambda x: x * 2, num_parallel_calls=tf.data.AUTOTUNE).prefetch(1)
    assert checks.dataset_steps(ds) == ["TensorSlice", "Shuffle", "Batch", "Map", "Prefetch"]
    assert checks.dataset_steps(tf.data.Dataset.range(3)) == ["Range"]


def test_check_dataset_steps_passes(tf):
    ds = tf.data.Dataset.range(8).shuffle(8).batch(2).map(lambda x: x).prefetch(1)
    check_dataset_steps("ds", ds, ["Shuffle", "Batch", "Map", "Prefetch"])
    check_dataset_steps("ds", ds.cache().prefetch(1), ["Shuffle", "Batch", "Prefetch"])
    check_dataset_steps("ds", ds, [])


def test_check_dataset_steps_order_missing_and_end(tf):
    expected = ["Shuffle", "Batch", "Map", "Prefetch"]
    wrong_order = tf.data.Dataset.range(8).batch(2).shuffle(8).map(lambda x: x).prefetch(1)
    with fails(
        r"^ds: the Batch step is in the wrong place; expected Shuffle -> Batch -> Map -> Prefetch "
        r"in this order, got Range -> Batch -> Shuffle -> Map -> Prefetch$"
    ):
        check_dataset_steps("ds", wrong_order, expected)
    with fails(r"^ds: the Map step is missing; expected .* got Range -> Shuffle -> Batch$"):
        check_dataset_steps("ds", tf.data.Dataset.range(8).shuffle(8).batch(2), expected)
    late = tf.data.Dataset.range(8).shuffle(8).batch(2).map(lambda x: x).prefetch(1).cache()
    with fails(
        r"^ds: expected the pipeline to end with Prefetch, "
        r"got Range -> Shuffle -> Batch -> Map -> Prefetch -> Cache$"
    ):
        check_dataset_steps("ds", late, expected)
    with fails(r"^ds: expected a tf.data.Dataset, got list$"):
        check_dataset_steps("ds", [1, 2], expected)
    with fails(rf"^ds: expected a tf.data.Dataset, got {FORGOT}$"):
        check_dataset_steps("ds", None, expected)


# --------------------------------------------------------------------------- #
# Losses
# --------------------------------------------------------------------------- #


def test_loss_name_and_from_logits(keras):
    assert checks.loss_name("mse") == "mean_squared_error"
    assert checks.loss_name(keras.losses.mean_absolute_error) == "mean_absolute_error"
    assert checks.loss_name(keras.losses.Huber()) == "huber"
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert checks.loss_name(sparse) == "sparse_categorical_crossentropy"
    assert checks.loss_from_logits(sparse) is True
    assert checks.loss_from_logits(keras.losses.CategoricalCrossentropy()) is False
    assert checks.loss_from_logits("binary_crossentropy") is False
    assert checks.loss_from_logits(keras.losses.binary_crossentropy) is False


def test_check_loss(keras):
    check_loss("loss", "mse", "mean_squared_error")
    check_loss(
        "loss", keras.losses.MeanSquaredError(), ["mean_absolute_error", "mean_squared_error"]
    )
    with fails(r"^loss: expected mean_squared_error, got mean_absolute_error$"):
        check_loss("loss", "mae", "mean_squared_error")
    with fails(
        r"^loss: expected sparse_categorical_crossentropy or huber, got categorical_crossentropy$"
    ):
        check_loss(
            "loss",
            keras.losses.CategoricalCrossentropy(),
            ["sparse_categorical_crossentropy", "huber"],
        )
    with fails(r"^loss: 'nonsense' is not a Keras loss; expected mean_squared_error$"):
        check_loss("loss", "nonsense", "mean_squared_error")
    with fails(r"^loss: 42 is not a Keras loss; expected mean_squared_error$"):
        check_loss("loss", 42, "mean_squared_error")
    with fails(rf"^loss: expected a loss \(mean_squared_error\), got {FORGOT}$"):
        check_loss("loss", None, "mean_squared_error")
