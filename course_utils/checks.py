"""Checks that exercise test cells call, with messages that say what is wrong.

Each function checks one property and raises ``AssertionError`` with a message
that names *where* (the variable or layer), *what was expected* and *what was
got*, for example ``layer 2 (Dense): expected 300 units, got 256``. They raise
explicitly rather than using ``assert``, which ``python -O`` removes.

Example:
    >>> import numpy as np
    >>> check_shape("X_train", np.zeros((5, 3)), (5, 3))
    >>> check_shape("X_train", np.zeros((5, 3)), (5, 4))
    Traceback (most recent call last):
    ...
    AssertionError: X_train: expected shape (5, 4), got (5, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "check_type",
    "check_callable",
    "check_shape",
    "check_dtype",
    "check_equal",
    "check_close",
    "check_in_range",
    "check_at_least",
    "check_at_most",
    "check_one_hot",
    "check_decreasing",
    "check_one_of",
    "check_keys",
    "check_dataset_steps",
    "check_loss",
    "check_layer_types",
    "check_units",
    "check_activations",
    "check_param_count",
    "check_architecture",
]


def fail(message: str) -> NoReturn:
    """Raise the ``AssertionError`` every check raises."""
    raise AssertionError(message)


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy array from a NumPy array, a TensorFlow tensor, a list or a number."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def _amount(number: float) -> str:
    """A bound or a measured number: whole numbers in full with thousands separators
    (``50,095``, not ``5.01e+04``), others with four significant digits."""
    if float(number).is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.4g}"


def _show(value: Any) -> str:
    """``repr`` with NumPy scalars shown as plain numbers (NumPy 2 shows ``np.int64(3)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _remote_types(value: Any) -> list[str] | None:
    """``module.qualname`` of the type (and bases) of an object the grader's judge sees from a
    distance (a proxy for an object in the learner's kernel); None for an ordinary object."""
    if getattr(type(value), "course_remote_types", None) is None:
        return None
    return list(value.course_remote_types)


def type_name(value: Any) -> str:
    """The class name of ``value``, also for an object the grader's judge sees from a distance.

    Example:
        >>> type_name(3.0)
        'float'
    """
    remote = _remote_types(value)
    return remote[0].rpartition(".")[2] if remote else type(value).__name__


def is_instance(value: Any, expected: type) -> bool:
    """``isinstance(value, expected)``, also for an object the grader's judge sees from a distance.

    Example:
        >>> is_instance(True, int)
        True
    """
    remote = _remote_types(value)
    if remote is None:
        return isinstance(value, expected)
    return f"{expected.__module__}.{expected.__qualname__}" in remote


def _judge() -> Any:
    """The grader's judge module, when this process is the judge running a test; else None."""
    import sys

    judge = sys.modules.get("course_utils.grading.judge_kernel.judge")
    return judge if judge is not None and judge.judging() else None


def in_your_kernel(value: Any) -> Any:
    """``value`` where your code runs: in your own notebook, ``value`` itself.

    At grading time, tests run in a separate process from your code, so nothing in your
    notebook can change a grade. A test that gives your function a model to train (or
    a dataset, or asks about a file your code wrote) wraps it in ``in_your_kernel``:
    your code then gets a copy on its side, and a path means your file.

    Example:
        >>> in_your_kernel([1, 2])
        [1, 2]
    """
    judge = _judge()
    return value if judge is None else judge.lend(value)


def from_your_kernel(value: Any) -> Any:
    """The object your code changed (a model it trained), for the test to check: in your
    own notebook, ``value`` itself; at grading time, a copy made from its weights.

    Example:
        >>> from_your_kernel("model")
        'model'
    """
    judge = _judge()
    return value if judge is None else judge.take_back(value)


def _describe(value: Any) -> str:
    if value is None:
        return "None (did you forget to return or assign the result?)"
    return type_name(value)


# --------------------------------------------------------------------------- #
# Plain values and arrays
# --------------------------------------------------------------------------- #


def check_type(name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    """Check ``isinstance(value, expected)``.

    Example:
        >>> check_type("n", 3, int)
    """
    remote = _remote_types(value)
    types = expected if isinstance(expected, tuple) else (expected,)
    if remote is not None:
        ok = any(f"{t.__module__}.{t.__qualname__}" in remote for t in types)
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        fail(f"{name}: expected a {names}, got {_describe(value)}")


def check_callable(name: str, value: Any) -> None:
    """Check that ``value`` is a function (or another callable).

    Example:
        >>> check_callable("one_hot", len)
    """
    if not callable(value):
        fail(f"{name}: expected a function, got {_describe(value)}")


def check_shape(name: str, value: Any, expected: Sequence[int | None]) -> None:
    """Check an array's or tensor's shape; ``None`` in ``expected`` matches any size.

    Example:
        >>> check_shape("batch", np.zeros((32, 784)), (None, 784))
    """
    if value is None:
        fail(f"{name}: expected an array of shape {tuple(expected)}, got {_describe(value)}")
    shape = tuple(
        int(d) if d is not None else None for d in getattr(value, "shape", np.shape(value))
    )
    expected = tuple(expected)
    if len(shape) != len(expected) or any(
        e is not None and e != s for e, s in zip(expected, shape, strict=False)
    ):
        shown = tuple("any" if e is None else e for e in expected)
        fail(f"{name}: expected shape {shown}, got {shape}".replace("'any'", "any"))


def check_dtype(name: str, value: Any, expected: Any) -> None:
    """Check an array's or tensor's dtype (NumPy or TensorFlow dtypes, or a name).

    Example:
        >>> check_dtype("X", np.zeros(2, dtype=np.float32), "float32")
    """
    got = getattr(value, "dtype", None)
    if got is None:
        fail(f"{name}: expected an array of dtype {expected}, got {_describe(value)}")
    got_name = getattr(got, "name", str(got))
    expected_name = getattr(expected, "name", None) or np.dtype(expected).name
    if got_name != expected_name:
        fail(f"{name}: expected dtype {expected_name}, got {got_name}")


def check_equal(name: str, value: Any, expected: Any) -> None:
    """Check exact equality of numbers, strings, lists or integer arrays.

    Example:
        >>> check_equal("iterations per epoch", 196, 196)
    """
    if isinstance(expected, (np.ndarray, list, tuple)) and not isinstance(value, str):
        got = to_numpy(value) if value is not None else None
        want = np.asarray(expected)
        if got is None or got.shape != want.shape:
            wanted = f"{len(want)} values" if want.ndim == 1 else f"shape {want.shape}"
            fail(f"{name}: expected {wanted}, got {_describe(value) if got is None else got.shape}")
        bad = np.flatnonzero(got.ravel() != want.ravel())
        if bad.size:
            i = int(bad[0])
            fail(
                f"{name}: {bad.size} of {want.size} values differ; first at position {i}: "
                f"expected {_show(want.ravel()[i])}, got {_show(got.ravel()[i])}"
            )
        return
    if hasattr(value, "shape") and tuple(value.shape) != ():
        fail(
            f"{name}: expected a single value {_show(expected)}, "
            f"got an array of shape {tuple(value.shape)}"
        )
    if hasattr(value, "shape"):  # a 0-d NumPy array or tensor: compare its number
        value = to_numpy(value).item()
    if value is None or value != expected:
        fail(f"{name}: expected {_show(expected)}, got {_show(value)}")


def _distinct(want: float, got: float) -> tuple[str, str]:
    """``want`` and ``got`` as text, with enough digits to tell them apart."""
    for digits in (6, 10, 17):
        texts = f"{want:.{digits}g}", f"{got:.{digits}g}"
        if texts[0] != texts[1]:
            break
    return texts


def check_close(
    name: str, value: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-6
) -> None:
    """Check numbers or arrays agree within a tolerance (as ``np.allclose``).

    Example:
        >>> check_close("loss", 0.10000001, 0.1)
    """
    if value is None:
        fail(f"{name}: expected a value close to {expected}, got {_describe(value)}")
    got = to_numpy(value).astype(np.float64)
    want = np.asarray(to_numpy(expected), dtype=np.float64)
    if got.shape != want.shape:
        fail(f"{name}: expected shape {want.shape}, got {got.shape}")
    if not np.all(np.isfinite(got)):
        fail(f"{name}: contains NaN or infinity; expected finite values")
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if not np.all(close):
        if got.ndim == 0:
            want_text, got_text = _distinct(float(want), float(got))
            fail(f"{name}: expected {want_text}, got {got_text}")
        i = np.unravel_index(int(np.flatnonzero(~close.ravel())[0]), got.shape)
        want_text, got_text = _distinct(float(want[i]), float(got[i]))
        fail(
            f"{name}: {int((~close).sum())} of {got.size} values are off; first at index "
            f"{tuple(int(k) for k in i)}: expected {want_text}, got {got_text}"
        )


def check_in_range(name: str, value: Any, low: float, high: float) -> None:
    """Check every value lies in ``[low, high]``.

    Example:
        >>> check_in_range("pixels", np.array([0.0, 0.5, 1.0]), 0, 1)
    """
    if value is None:
        fail(f"{name}: expected values in [{low}, {high}], got {_describe(value)}")
    arr = to_numpy(value).astype(np.float64)
    if arr.size == 0:
        fail(f"{name}: is empty; expected values in [{low}, {high}]")
    if np.isnan(arr).any():
        fail(f"{name}: contains NaN; expected values in [{low}, {high}]")
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if lo < low or hi > high:
        fail(f"{name}: expected values in [{low}, {high}], got values from {lo:.6g} to {hi:.6g}")


def _as_number(name: str, value: Any, wanted: str) -> float:
    """``value`` as a float; a missing value fails with "expected a number <wanted>"."""
    if value is None:
        fail(f"{name}: expected a number {wanted}, got {_describe(value)}")
    return float(to_numpy(value))


def check_at_least(name: str, value: Any, minimum: float) -> None:
    """Check a number is at least ``minimum`` (an accuracy, say).

    Example:
        >>> check_at_least("test accuracy", 0.9, 0.8)
    """
    number = _as_number(name, value, f">= {minimum}")
    if not number >= minimum:
        fail(f"{name}: expected at least {_amount(minimum)}, got {_amount(number)}")


def check_at_most(name: str, value: Any, maximum: float) -> None:
    """Check a number is at most ``maximum`` (a loss or an error, say).

    Example:
        >>> check_at_most("RMSE", 0.5, 0.6)
    """
    number = _as_number(name, value, f"<= {maximum}")
    if not number <= maximum:
        fail(f"{name}: expected at most {_amount(maximum)}, got {_amount(number)}")


def check_one_hot(
    name: str, value: Any, labels: Any | None = None, depth: int | None = None
) -> None:
    """Check a 2-D array is one-hot: 0s and 1s, exactly one 1 per row.

    With ``labels``, also check row ``i`` has its 1 at column ``labels[i]``.

    Example:
        >>> check_one_hot("Y", np.eye(3)[[2, 0]], labels=[2, 0], depth=3)
    """
    if value is None:
        fail(f"{name}: expected a one-hot array, got {_describe(value)}")
    arr = to_numpy(value)
    if arr.ndim != 2:
        fail(
            f"{name}: expected a 2-D array (samples x classes), got {arr.ndim}-D shape {arr.shape}"
        )
    if depth is not None and arr.shape[1] != depth:
        fail(f"{name}: expected {depth} columns (one per class), got {arr.shape[1]}")
    if not np.all((arr == 0) | (arr == 1)):
        fail(f"{name}: a one-hot array holds only 0s and 1s, got other values too")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(sums != 1)
    if bad.size:
        fail(f"{name}: row {int(bad[0])} has {int(sums[bad[0]])} ones; each row needs exactly one")
    if labels is not None:
        labels = to_numpy(labels).astype(int).ravel()
        if len(labels) != len(arr):
            fail(f"{name}: expected {len(labels)} rows (one per label), got {len(arr)}")
        hot = arr.argmax(axis=1)
        wrong = np.flatnonzero(hot != labels)
        if wrong.size:
            i = int(wrong[0])
            fail(
                f"{name}: row {i} should have its 1 in column {labels[i]}, found it in column {hot[i]}"
            )


def check_decreasing(name: str, values: Sequence[float], min_drop: float = 0.0) -> None:
    """Check the last value is below the first by more than ``min_drop`` (a falling loss).

    Example:
        >>> check_decreasing("loss", [2.3, 1.9, 1.5])
    """
    arr = to_numpy(list(values) if values is not None else []).astype(np.float64).ravel()
    if arr.size < 2:
        fail(f"{name}: expected at least 2 values to compare, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        fail(f"{name}: contains NaN or infinity (a learning rate that is too large?)")
    if not arr[-1] < arr[0] - min_drop:
        fail(
            f"{name}: expected it to fall by more than {min_drop:.4g}, went from {arr[0]:.4g} to {arr[-1]:.4g}"
        )


def check_one_of(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Check a value is one of a few allowed answers (a diagnosis, a name, a setting).

    Example:
        >>> check_one_of("diagnosis of run_a", "overfitting", ["underfitting", "overfitting"])
        >>> check_one_of("diagnosis of run_a", "too big", ["underfitting", "overfitting"])
        Traceback (most recent call last):
        ...
        AssertionError: diagnosis of run_a: expected one of 'underfitting', 'overfitting'; got 'too big'
    """
    if value is None or value not in list(choices):
        allowed = ", ".join(_show(c) for c in choices)
        got = _describe(value) if value is None else _show(value)
        fail(f"{name}: expected one of {allowed}; got {got}")


def check_keys(name: str, value: Any, allowed: Sequence[str], required: Sequence[str] = ()) -> None:
    """Check a dict uses only ``allowed`` keys and has every ``required`` one.

    Example:
        >>> check_keys("changes", {"epochs": 5}, ["epochs", "units"])
        >>> check_keys("changes", {"dropout": 0.5}, ["epochs", "units"])
        Traceback (most recent call last):
        ...
        AssertionError: changes: unexpected key 'dropout'; allowed keys: 'epochs', 'units'
    """
    if not isinstance(value, dict):
        fail(f"{name}: expected a dict, got {_describe(value)}")
    for key in value:
        if key not in allowed:
            keys = ", ".join(_show(k) for k in allowed)
            fail(f"{name}: unexpected key {_show(key)}; allowed keys: {keys}")
    for key in required:
        if key not in value:
            fail(f"{name}: missing key {_show(key)}")


# --------------------------------------------------------------------------- #
# tf.data pipelines
# --------------------------------------------------------------------------- #

# Class names of tf.data's transformations, shortened to the method that made them.
_STEP_ALIASES = {"ParallelMap": "Map", "ParallelBatch": "Batch", "ParallelInterleave": "Interleave"}


def dataset_steps(dataset: Any) -> list[str]:
    """The transformations of a ``tf.data`` pipeline, from its source to its end.

    ``from_tensor_slices(...).shuffle(...).batch(...)`` gives
    ``["TensorSlice", "Shuffle", "Batch"]``; ``map`` with ``num_parallel_calls``
    counts as ``"Map"``.

    Example:
        >>> import tensorflow as tf                                      # doctest: +SKIP
        >>> dataset_steps(tf.data.Dataset.range(4).batch(2).prefetch(1))  # doctest: +SKIP
        ['Range', 'Batch', 'Prefetch']
    """
    if _remote_types(dataset) is not None:  # the judge asks the learner's kernel
        return [
            str(step) for step in dataset.course_remote_apply("course_utils.checks.dataset_steps")
        ]
    steps = []
    node = dataset
    while node is not None:
        step = type(node).__name__.lstrip("_")
        step = step[: -len("Dataset")] if step.endswith("Dataset") else step
        steps.append(_STEP_ALIASES.get(step, step))
        node = getattr(node, "_input_dataset", None)
    return steps[::-1]


def check_dataset_steps(name: str, dataset: Any, expected: Sequence[str]) -> None:
    """Check a ``tf.data`` pipeline makes the ``expected`` steps in this order and ends with the last.

    Other steps may come in between (a ``cache``, say), but the order of the
    expected ones matters: shuffling after batching mixes whole batches, not samples.

    Example:
        >>> import tensorflow as tf                                           # doctest: +SKIP
        >>> ds = tf.data.Dataset.range(8).shuffle(8).batch(2).prefetch(1)    # doctest: +SKIP
        >>> check_dataset_steps("ds", ds, ["Shuffle", "Batch", "Prefetch"])  # doctest: +SKIP
    """
    if _not_a_dataset(dataset):
        fail(f"{name}: expected a tf.data.Dataset, got {_describe(dataset)}")
    steps = dataset_steps(dataset)
    shown = " -> ".join(steps)
    position = 0
    for step in expected:
        if step not in steps[position:]:
            where = "missing" if step not in steps else "in the wrong place"
            fail(
                f"{name}: the {step} step is {where}; expected "
                f"{' -> '.join(expected)} in this order, got {shown}"
            )
        position = steps.index(step, position) + 1
    if expected and steps[-1] != expected[-1]:
        fail(f"{name}: expected the pipeline to end with {expected[-1]}, got {shown}")


def _not_a_dataset(value: Any) -> bool:
    """True if ``value`` is not a ``tf.data.Dataset`` (checked without importing TensorFlow)."""
    remote = _remote_types(value)
    if remote is not None:
        return not any(name.endswith(".DatasetV2") for name in remote)
    return not any(cls.__name__ == "DatasetV2" for cls in type(value).__mro__)


# --------------------------------------------------------------------------- #
# Losses
# --------------------------------------------------------------------------- #


def loss_name(loss: Any) -> str:
    """The name of the function behind a Keras loss given as a string, function or object.

    ``"mse"``, ``keras.losses.mean_squared_error`` and ``keras.losses.MeanSquaredError()``
    all give ``"mean_squared_error"``.

    Example:
        >>> import keras                                                   # doctest: +SKIP
        >>> loss_name("mse"), loss_name(keras.losses.Huber())               # doctest: +SKIP
        ('mean_squared_error', 'huber')
    """
    if isinstance(loss, str):
        import keras

        loss = keras.losses.get(loss)
    function = getattr(loss, "fn", loss)
    return str(getattr(function, "__name__", type(loss).__name__))


def loss_from_logits(loss: Any) -> bool:
    """True for a Keras loss object made with ``from_logits=True`` (strings and functions: False).

    Example:
        >>> loss_from_logits("sparse_categorical_crossentropy")
        False
    """
    get_config = getattr(loss, "get_config", None)
    if isinstance(loss, str) or not callable(get_config):
        return False
    return bool(get_config().get("from_logits", False))


def check_loss(name: str, loss: Any, expected: str | Sequence[str]) -> None:
    """Check a Keras loss (string, function or object) is the ``expected`` one (or one of them).

    Names are those of ``keras.losses`` functions: ``"mean_squared_error"``,
    ``"sparse_categorical_crossentropy"``...

    Example:
        >>> check_loss("loss", "mse", "mean_squared_error")               # doctest: +SKIP
        >>> check_loss("loss", "mae", "mean_squared_error")               # doctest: +SKIP
        Traceback (most recent call last):
        ...
        AssertionError: loss: expected mean_squared_error, got mean_absolute_error
    """
    wanted = [expected] if isinstance(expected, str) else list(expected)
    if loss is None:
        fail(f"{name}: expected a loss ({' or '.join(wanted)}), got {_describe(loss)}")
    try:
        if not (isinstance(loss, str) or callable(loss)):
            raise ValueError(loss)
        got = loss_name(loss)
    except ValueError:
        fail(f"{name}: {loss!r} is not a Keras loss; expected {' or '.join(wanted)}")
    if got not in wanted:
        fail(f"{name}: expected {' or '.join(wanted)}, got {got}")


# --------------------------------------------------------------------------- #
# Keras models
# --------------------------------------------------------------------------- #


def model_layers(model: Any) -> list[Any]:
    """The model's layers without the ``InputLayer`` (Functional models list it)."""
    return [layer for layer in model.layers if type_name(layer) != "InputLayer"]


def _check_model(model: Any) -> list[Any]:
    if model is None or not hasattr(model, "layers"):
        fail(f"model: expected a Keras model, got {_describe(model)}")
    return model_layers(model)


def _where(index: int, layer: Any) -> str:
    return f"layer {index + 1} ({type_name(layer)})"


def check_layer_types(model: Any, expected: Sequence[str]) -> None:
    """Check the model's layer classes, in order (``InputLayer`` not counted).

    Example:
        >>> check_layer_types(model, ["Flatten", "Dense", "Dense", "Dense"])   # doctest: +SKIP
    """
    layers = _check_model(model)
    got = [type_name(layer) for layer in layers]
    if len(got) != len(expected):
        fail(
            f"model: expected {len(expected)} layers {list(expected)}, got {len(got)} layers {got}"
        )
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if g != e:
            fail(f"layer {i + 1}: expected a {e} layer, got {g}")


def _layers_to_check(model: Any, expected: Sequence[Any]) -> list[tuple[int, Any, Any]]:
    """``(index, layer, wanted)`` for each layer with a wanted value (``None`` skips one)."""
    layers = _check_model(model)
    if len(layers) != len(expected):
        fail(f"model: expected {len(expected)} layers, got {len(layers)}")
    return [
        (i, layer, want)
        for i, (layer, want) in enumerate(zip(layers, expected, strict=True))
        if want is not None
    ]


def check_units(model: Any, expected: Sequence[int | None]) -> None:
    """Check each layer's ``units``; ``None`` skips layers without units (Flatten, Dropout).

    Example:
        >>> check_units(model, [None, 300, 100, 10])   # doctest: +SKIP
    """
    for i, layer, want in _layers_to_check(model, expected):
        got = getattr(layer, "units", None)
        if got != want:
            fail(f"{_where(i, layer)}: expected {want} units, got {got}")


def activation_name(layer: Any) -> str | None:
    """The name of a layer's activation function (``"relu"``, ``"softmax"``...), or None."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return str(getattr(activation, "__name__", type_name(activation))).lower()


def check_activations(model: Any, expected: Sequence[str | None]) -> None:
    """Check each layer's activation by name; ``None`` skips a layer.

    Example:
        >>> check_activations(model, [None, "relu", "relu", "softmax"])   # doctest: +SKIP
    """
    for i, layer, want in _layers_to_check(model, expected):
        got = activation_name(layer)
        if got != want.lower():
            fail(f"{_where(i, layer)}: expected activation '{want}', got '{got}'")


def check_param_count(model: Any, expected: int, trainable_only: bool = False) -> None:
    """Check the model's total (or trainable) parameter count.

    Example:
        >>> check_param_count(model, 266_610)   # doctest: +SKIP
    """
    _check_model(model)
    if not getattr(model, "built", True) or not model.weights:
        fail("model: has no weights yet; give it an input shape (keras.Input) or call it on data")
    got = (
        model.count_params()
        if not trainable_only
        else int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    )
    kind = "trainable parameters" if trainable_only else "parameters"
    if got != expected:
        fail(f"model: expected {expected:,} {kind}, got {got:,}")


def check_architecture(
    model: Any,
    layer_types: Sequence[str],
    units: Sequence[int | None] | None = None,
    activations: Sequence[str | None] | None = None,
    params: int | None = None,
) -> None:
    """Run the model checks above in order: layer types, units, activations, parameters.

    Example:
        >>> check_architecture(                                   # doctest: +SKIP
        ...     model, ["Flatten", "Dense", "Dense", "Dense"],
        ...     units=[None, 300, 100, 10],
        ...     activations=[None, "relu", "relu", "softmax"], params=266_610)
    """
    steps: list[Callable[[], None]] = [lambda: check_layer_types(model, layer_types)]
    if units is not None:
        steps.append(lambda: check_units(model, units))
    if activations is not None:
        steps.append(lambda: check_activations(model, activations))
    if params is not None:
        steps.append(lambda: check_param_count(model, params))
    for step in steps:
        step()
