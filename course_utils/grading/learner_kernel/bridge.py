"""Inside the learner's kernel: answer the judge's requests with data.

The grading process runs :func:`serve_requests` in the learner's kernel, once per test
cell; it answers the judge's requests (:mod:`course_utils.grading.judge_kernel.judge`) one after
another with :func:`serve`: look up a name, call a function, read an attribute or an item,
iterate. Results go back as data (:mod:`wire`); objects
that are not data stay here behind numbered handles.

Nothing here is trusted: a learner can change this module like any other code in
their kernel. It does not matter: whatever this side sends is only data, decoded
into exact types on the judge's side and compared there, where no learner code runs.

Example:
    >>> import json
    >>> serve(json.dumps({"op": "get", "name": "x"}), {"x": [1, 2]})
    '[1, 2]'
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from course_utils.grading import wire
from course_utils.grading.contract import (
    BRIDGE_ANSWER_PREFIX,
    BRIDGE_CALLBACK_PREFIX,
    BRIDGE_DONE,
    BRIDGE_REQUEST_PROMPT,
)

# Introspection helpers the judge may run on a learner's object, here.
APPLICABLE = frozenset({"course_utils.checks.dataset_steps"})
_MISSING = object()
_objects: dict[int, Any] = {}


def _handle(value: Any) -> wire.Handle:
    number = len(_objects) + 1
    _objects[number] = value
    try:
        text = repr(value)[:300]
    except Exception:  # a learner's __repr__ may fail
        text = f"<{type(value).__name__}>"
    return wire.Handle(number, wire.type_names(value), text)


def _object(h: wire.Handle) -> Any:
    if h.id not in _objects:
        raise KeyError(f"no object number {h.id}")
    return _objects[h.id]


class JudgeFunction:
    """A function of the judge's (a test's loss function, say), called from the learner's code.

    Each call asks the judge, through the grading process, with ``input()``: the arguments
    go as data, the result comes back as data. The function's code stays with the judge.
    """

    def __init__(self, number: int) -> None:
        self.number = number

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = {"id": self.number, "args": wire.to_data(list(args), _handle)}
        call["kwargs"] = wire.to_data(dict(kwargs), _handle)
        reply = input(BRIDGE_CALLBACK_PREFIX + json.dumps(call))
        return wire.decode(reply, _object)

    def __repr__(self) -> str:
        return f"<a function of the grader's, number {self.number}>"


def _incoming(value: Any) -> Any:
    """The judge's arguments as the learner's code expects them: Keras models and layers,
    TensorFlow variables (the grader's own objects, rebuilt here)."""
    kind = type(value)
    if kind in (list, tuple):
        return kind(_incoming(item) for item in value)
    if kind is dict:
        return {key: _incoming(item) for key, item in value.items()}
    if kind is wire.Variable:
        import tensorflow as tf

        return tf.Variable(value.value)
    if kind is PurePosixPath:
        return Path(value)
    if kind is wire.KerasFile:
        return wire.load_keras_file(value.data)
    if kind is wire.KerasConfig:
        import keras

        return wire.rebuild_keras(
            keras.saving.deserialize_keras_object(value.config), value.weights
        )
    return value


def _answer(request: dict, namespace: dict) -> Any:
    op = request["op"]

    def arg(key: str) -> Any:
        return _incoming(wire.from_data(request[key], _object, callback=JudgeFunction))

    if op == "get":
        value = namespace.get(request["name"], _MISSING)
        if value is _MISSING:
            raise NameError(f"name '{request['name']}' is not defined")
        return value
    if op == "keep":
        value = arg("value")
        return _AsHandle(_dataset(value) if request.get("dataset") else value)
    target = _object(wire.Handle(int(request["h"]), [], ""))
    if op == "call":
        return target(*arg("args"), **arg("kwargs"))
    if op == "attr":
        return getattr(target, str(request["name"]))
    if op == "item":
        return target[arg("key")]
    if op == "len":
        return len(target)
    if op == "iter":
        return iter(target)
    if op == "next":
        try:
            return ("item", next(target))
        except StopIteration:
            return ("stop", None)
    if op == "data":
        return _AsData(target)
    if op == "apply":
        name = str(request["fn"])
        if name not in APPLICABLE:
            raise ValueError(f"{name} may not be applied")
        module, _, function = name.rpartition(".")
        return getattr(importlib.import_module(module), function)(target)
    raise ValueError(f"unknown request {op!r}")


def _dataset(batches: Any) -> Any:
    """A ``tf.data.Dataset`` of the judge's batches (tuples of arrays, all of one size but
    the last), in their order."""
    import numpy as np
    import tensorflow as tf

    if type(batches) is not list or not batches:
        raise ValueError("a dataset is sent as a non-empty list of batches")
    first = batches[0]
    sizes = [len(batch[0]) if type(batch) is tuple else len(batch) for batch in batches]
    if any(size != sizes[0] for size in sizes[:-1]) or sizes[-1] > sizes[0]:
        raise ValueError("a dataset's batches must all have one size (the last may be smaller)")
    if type(first) is tuple:
        columns = tuple(np.concatenate([batch[i] for batch in batches]) for i in range(len(first)))
        return tf.data.Dataset.from_tensor_slices(columns).batch(sizes[0])
    return tf.data.Dataset.from_tensor_slices(np.concatenate(batches)).batch(sizes[0])


class _AsHandle:
    """A value the judge wants kept here, behind a handle (a model it lends the learner's code)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _AsData:
    """A value the judge wants as data whatever its size (no handle: an error if not data)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _built_in_model(value: Any) -> wire.KerasFile | None:
    """A Keras model whose every class is Keras's own, as its ``.keras`` file; else None
    (a model of the learner's classes stays here, behind a handle)."""
    if not any(name == "keras.src.models.model.Model" for name in wire.type_names(value)):
        return None
    try:
        parts = [value, *value._flatten_layers(include_self=False)]
        if any(not type(part).__module__.startswith("keras.") for part in parts):
            return None
        import os
        import tempfile

        with tempfile.TemporaryDirectory(prefix="course-model-") as folder:
            path = os.path.join(folder, "model.keras")
            value.save(path)
            with open(path, "rb") as handle:
                return wire.KerasFile(handle.read())
    except Exception:  # not built, not savable: it stays a handle
        return None


def _built_in_config(value: Any) -> wire.KerasConfig | None:
    """A Keras object of Keras's own class with no weights (a fresh layer, a loss, an
    activation), as its config; else None."""
    module = type(value).__module__
    if not module.startswith("keras.") or getattr(value, "weights", None):
        return None
    try:
        import keras

        return wire.KerasConfig(keras.saving.serialize_keras_object(value))
    except Exception:
        return None


def _plain(value: Any) -> Any:
    """TensorFlow tensors and Keras variables as NumPy arrays, TensorFlow variables as
    :class:`wire.Variable`, paths as their text, models of Keras's own layers as ``.keras``
    files, weightless Keras objects as configs; the rest as it is."""
    keras_form = _built_in_model(value) or _built_in_config(value)
    if keras_form is not None:
        return keras_form
    if isinstance(value, PurePath):  # a path is its text: the judge looks at the file itself
        return PurePosixPath(str(value))
    numpy = getattr(type(value), "numpy", None)
    module = type(value).__module__
    if numpy is not None and module.startswith(("tensorflow", "keras")):
        try:
            if module.startswith("tensorflow") and any(
                name.endswith("ResourceVariable") for name in wire.type_names(value)
            ):
                return wire.Variable(value.numpy())
            return value.numpy()
        except Exception:
            return value
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_plain(v) for v in value)
    if isinstance(value, list) and type(value) is list:
        return [_plain(v) for v in value]
    if isinstance(value, dict) and type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


def serve(request: str, namespace: dict) -> str:
    """The answer to one request (JSON text) as data: a value, a handle or an error."""
    try:
        value = _answer(json.loads(request), namespace)
        if isinstance(value, _AsData):
            return wire.encode(_plain(value.value))
        if isinstance(value, _AsHandle):
            return json.dumps(wire.handle_data(_handle(value.value)))
        return wire.encode(_plain(value), _handle)
    except Exception as exc:  # the learner's code failed: the judge gets its name and message
        return wire.error(exc)


def serve_requests(namespace: dict | None = None, read: Callable[[str], str] | None = None) -> None:
    """Answer the judge's requests one after another until the reply is :data:`BRIDGE_DONE`.

    The first request is read with ``input(BRIDGE_REQUEST_PROMPT)``; each answer goes out as
    the prompt of the ``input()`` that reads the next request.

    Example:
        >>> replies = iter(['{"op": "get", "name": "x"}', BRIDGE_DONE])
        >>> prompts = []
        >>> serve_requests({"x": 3}, lambda prompt: prompts.append(prompt) or next(replies))
        >>> prompts
        ['course-judge-request', 'course-judge-answer:3']
    """
    if namespace is None:
        from IPython import get_ipython

        namespace = get_ipython().user_ns
    if read is None:  # the kernel's input() of this execution (it changes with each one)
        read = input
    prompt = BRIDGE_REQUEST_PROMPT
    while True:
        request = read(prompt)
        if request == BRIDGE_DONE:
            return
        prompt = BRIDGE_ANSWER_PREFIX + serve(request, namespace)
