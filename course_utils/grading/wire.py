"""What crosses between a learner's kernel and the judge: data, written as JSON, never pickle.

The contract both sides share. :func:`encode` turns a value into JSON text: ``None``,
booleans, numbers, strings, bytes, lists, tuples and dicts of those, NumPy arrays and
scalars (raw bytes in base64, with their dtype and shape), file paths (as
``PurePosixPath``: each side decides what a path means there), and *handles* for anything
else (an object that stays in the learner's kernel, named by a number). :func:`decode`
reads that text back into **exact** built-in and NumPy types: whatever subclass, lying
``__eq__`` or ``__array__`` a learner's value had, the judge gets a plain ``int``,
``float``, ``tuple`` or ``numpy.ndarray`` with the same content, or an error.

Example:
    >>> import numpy as np
    >>> decode(encode({"a": (1, 2.5, None), "x": np.arange(3, dtype=np.int16)}))
    {'a': (1, 2.5, None), 'x': array([0, 1, 2], dtype=int16)}
    >>> class Liar(int):
    ...     def __eq__(self, other):
    ...         return True
    >>> encode(Liar(3), lambda v: Handle(1, ["Liar"], "3"))  # not data: it stays behind
    '{"H": [1, ["Liar"], "3"]}'
    >>> type(decode("3")), decode("[1, 2.5]") == [1, 2.5]  # whatever is sent: exact types
    (<class 'int'>, True)
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any

import numpy as np

MAX_BYTES = 256 * 1024**2  # of one encoded message
MAX_DEPTH = 32  # nesting of lists, tuples and dicts
INLINE_ARRAY_BYTES = 16 * 1024**2  # larger arrays stay in the learner's kernel, as handles
# dtype kinds that are plain data: bool, signed, unsigned, float, complex, bytes, str
_KINDS = frozenset("biufcSU")
# tuple, dict, array, scalar, handle, bytes, error, slice, judge function, Keras model file,
# Keras object config (and weights), TensorFlow variable, path
_TAGS = frozenset("TDASHBERJKXVP")


class WireError(ValueError):
    """A message that is not data of the agreed form (too big, too deep, unknown parts)."""


class Handle:
    """An object left in the learner's kernel: its number, type names and a short repr."""

    __slots__ = ("id", "types", "text")

    def __init__(self, id: int, types: list[str], text: str) -> None:
        self.id, self.types, self.text = id, types, text

    def __repr__(self) -> str:
        return f"Handle({self.id}, {self.types[:1]}, {self.text!r})"


class Callback:
    """A function of the judge's, passed to the learner's code: only its number crosses."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id


class KerasFile:
    """A Keras model of built-in layers, as the bytes of its ``.keras`` file (a zip of JSON
    and weights): the judge loads it with ``safe_mode=True``, never the learner's classes."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class KerasConfig:
    """A Keras object of Keras's own classes (a layer, a loss) as its serialized config and
    its weights: data rebuilt on the other side with Keras's safe deserializer."""

    __slots__ = ("config", "weights")

    def __init__(self, config: Any, weights: list | None = None) -> None:
        self.config, self.weights = config, weights or []


class Variable:
    """A TensorFlow variable's value (the judge's, passed to the learner's code)."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray) -> None:
        self.value = value


class RemoteError(Exception):
    """An exception raised by the learner's code: its type name and message, as text."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def type_names(value: Any) -> list[str]:
    """``module.qualname`` of the value's type and its bases (what ``isinstance`` would see)."""
    return [f"{t.__module__}.{t.__qualname__}" for t in type(value).__mro__]


def _array(value: np.ndarray) -> dict:
    if value.dtype.kind not in _KINDS:
        raise WireError(f"arrays of dtype {value.dtype} are not data")
    data = value if value.flags.c_contiguous else np.ascontiguousarray(value)  # keeps 0-d
    return {"A": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}


def to_data(
    value: Any,
    handle: Callable[[Any], Handle | Callback] | None = None,
    depth: int = 0,
    inline: bool = False,
) -> Any:
    """``value`` as JSON-ready data; other objects become handles (or an error without ``handle``).
    Arrays up to :data:`INLINE_ARRAY_BYTES` are data, larger ones handles, or data too with
    ``inline`` (the judge's arguments: a large array of the judge's never stays behind)."""
    if depth > MAX_DEPTH:
        raise WireError(f"data nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return kind(value) if value is not None else None
    if kind is float:
        return float(value)
    if kind is bytes:
        return {"B": base64.b64encode(value).decode()}
    if kind is KerasFile:
        return {"K": base64.b64encode(value.data).decode()}
    if kind is KerasConfig:
        weights = [_array(np.asarray(w))["A"] for w in value.weights]
        return {"X": [json.loads(json.dumps(value.config)), weights]}  # JSON types only
    if kind is Variable:
        return {"V": _array(np.asarray(value.value))["A"]}
    if kind is PurePosixPath:
        return {"P": str(value)}
    if kind is slice:
        return {
            "R": [to_data(part, None, depth + 1) for part in (value.start, value.stop, value.step)]
        }
    if kind in (list, tuple):
        items = [to_data(item, handle, depth + 1, inline) for item in value]
        return items if kind is list else {"T": items}
    if kind is dict:
        return {"D": [[to_data(k, handle, depth + 1, inline), to_data(v, handle, depth + 1, inline)]
                      for k, v in value.items()]}  # fmt: skip
    if kind is np.ndarray and (handle is None or inline or value.nbytes <= INLINE_ARRAY_BYTES):
        return _array(value)
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return {"S": _array(np.asarray(value))["A"]}
    if handle is None:
        raise WireError(f"a {kind.__name__} is not data")
    h = handle(value)
    if isinstance(h, Callback):
        return {"J": int(h.id)}
    return handle_data(h)


def handle_data(h: Handle) -> dict:
    """A handle's JSON-ready form."""
    return {"H": [h.id, h.types, h.text]}


def encode(
    value: Any, handle: Callable[[Any], Handle | Callback] | None = None, inline: bool = False
) -> str:
    """JSON text for ``value`` (see :func:`to_data`)."""
    text = json.dumps(to_data(value, handle, inline=inline), allow_nan=True)
    if len(text) > MAX_BYTES:
        raise WireError(f"{len(text):,} bytes of data, more than the {MAX_BYTES:,} allowed")
    return text


def _decode_array(parts: Any) -> np.ndarray:
    dtype_str, shape, data = parts
    dtype = np.dtype(str(dtype_str))
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise WireError(f"dtype {dtype} is not data")
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise WireError(f"shape {shape}")
    raw = base64.b64decode(str(data), validate=True)
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise WireError(f"{len(raw)} bytes do not fill an array of shape {shape}, {dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def from_data(
    data: Any,
    handle: Callable[[Handle], Any] | None = None,
    depth: int = 0,
    callback: Callable[[int], Any] | None = None,
) -> Any:
    """Exact built-in and NumPy values from :func:`to_data`'s form; handles through ``handle``,
    the judge's functions through ``callback`` (only the learner's side accepts them)."""
    if depth > MAX_DEPTH:
        raise WireError(f"data nested more than {MAX_DEPTH} levels deep")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [from_data(item, handle, depth + 1, callback) for item in data]
    if kind is not dict or len(data) != 1 or next(iter(data)) not in _TAGS:
        raise WireError(f"unexpected {kind.__name__} in the data")
    tag, body = next(iter(data.items()))
    if tag == "T":
        return tuple(from_data(item, handle, depth + 1, callback) for item in body)
    if tag == "D":
        return {
            from_data(k, handle, depth + 1, callback): from_data(v, handle, depth + 1, callback)
            for k, v in body
        }
    if tag == "A":
        return _decode_array(body)
    if tag == "S":
        return _decode_array(body)[()]
    if tag == "B":
        return base64.b64decode(str(body), validate=True)
    if tag == "R":
        parts = [from_data(part, None, depth + 1) for part in body]
        if len(parts) != 3 or any(p is not None and type(p) is not int for p in parts):
            raise WireError("a slice of anything but whole numbers")
        return slice(*parts)
    if tag == "K":
        return KerasFile(base64.b64decode(str(body), validate=True))
    if tag == "X":
        config, weights = body
        return KerasConfig(config, [_decode_array(w) for w in weights])
    if tag == "V":
        return Variable(_decode_array(body))
    if tag == "P":
        if type(body) is not str or "\0" in body:
            raise WireError("a path that is not a string")
        return PurePosixPath(body)
    if tag == "J":
        if callback is None:
            raise WireError("a judge's function where only data may come")
        return callback(int(body))
    if tag == "E":
        raise RemoteError(str(body[0])[:200], str(body[1])[:2000])
    h = Handle(int(body[0]), [str(t)[:300] for t in body[1]][:50], str(body[2])[:300])
    if handle is None:
        raise WireError("a handle where only data may come")
    return handle(h)


def decode(
    text: str | bytes,
    handle: Callable[[Handle], Any] | None = None,
    callback: Callable[[int], Any] | None = None,
) -> Any:
    """Values from :func:`encode`'s text: exact types, or :class:`WireError`."""
    if len(text) > MAX_BYTES:
        raise WireError(f"{len(text):,} bytes of data, more than the {MAX_BYTES:,} allowed")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not JSON: {error}") from None
    try:
        return from_data(data, handle, callback=callback)
    except (TypeError, ValueError, IndexError, KeyError) as error:
        if isinstance(error, WireError):
            raise
        raise WireError(f"malformed data: {error}") from None


def error(exc: BaseException) -> str:
    """JSON text that :func:`decode` raises as :class:`RemoteError`."""
    return json.dumps({"E": [type(exc).__name__, str(exc)[:2000]]})


def rebuild_keras(instance: Any, weights: list) -> Any:
    """A deserialized Keras object with its weights set (and derived state updated)."""
    if weights:
        instance.set_weights(weights)
        finalize = getattr(instance, "finalize_state", None)
        if callable(finalize):
            finalize()  # Normalization computes its mean and variance from its weights here
    return instance


def load_keras_file(data: bytes) -> Any:
    """The Keras model whose ``.keras`` file is ``data``, loaded in Keras's safe mode (built-in
    layers only, no lambda).

    Keras's loader (3.15) rebuilds a ``Sequential`` model after adding each layer, so its time
    grows with the square of the number of layers: 0.6-0.8 s for 07's 20-layer net with its
    activation layers (43 layers), and one test loads a dozen. Here each model is built once,
    after its last layer, as ``keras.Sequential(layers)`` builds it: 0.18 s for that net.
    """
    import keras

    with tempfile.TemporaryDirectory(prefix="course-model-") as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as handle:
            handle.write(data)
        with _sequential_built_once():
            return keras.saving.load_model(path, safe_mode=True)


@contextlib.contextmanager
def _sequential_built_once() -> Iterator[None]:
    """``keras.Sequential.from_config`` builds the model once, after its last layer."""
    from keras.src.models.sequential import Sequential
    from keras.src.saving import serialization_lib

    original = Sequential.__dict__["from_config"]

    def from_config(cls: type, config: dict, custom_objects: Any = None) -> Any:
        layers = config.get("layers", [])
        if "name" in config and all(isinstance(c, dict) and "module" in c for c in layers):
            model = cls(name=config["name"])
            for layer_config in layers:
                layer = serialization_lib.deserialize_keras_object(
                    layer_config, custom_objects=custom_objects
                )
                model.add(layer, rebuild=False)
            if model._layers:
                model._maybe_rebuild()
            shape = config.get("build_input_shape")
            if not model._functional and shape and isinstance(shape, (tuple, list)):
                model.build(shape)
            return model
        return original.__func__(cls, config, custom_objects)  # a legacy format: Keras's way

    Sequential.from_config = classmethod(from_config)
    try:
        yield
    finally:
        Sequential.from_config = original
