"""Inside the judge's kernel: run a test cell against the learner's kernel, from a distance.

The judge is a second sandboxed kernel that never runs learner code and never sees
the learner's files. It runs the notebook's setup cell, then each test cell through
:func:`run`. Every name a test reads that the judge does not have (a learner's
function, a teaching cell's data) is fetched from the learner's kernel: data comes
as a copy of exact built-in or NumPy types (:mod:`wire`), anything else as a
:class:`Remote` proxy. Calling a proxy, reading its attributes or items, or iterating
it sends a request; arguments and results cross as data. The request goes out as
``input()``: the grading process answers it with the learner kernel's reply
(:mod:`course_utils.grading.learner_kernel.bridge`). Checks run here, so the verdict is computed
where no learner code runs, and the test's code (hidden tests included) and its
expected values never reach the learner's kernel.

Example (a fake learner kernel in this process):
    >>> from course_utils.grading.learner_kernel import bridge
    >>> learner = {"double": lambda x: 2 * x}
    >>> def ask(request):
    ...     return bridge.serve(request, learner)
    >>> ns = {}
    >>> run("result = double(21)", "double_tests", ns, ask=ask)
    >>> ns["result"], type(ns["result"])
    (42, <class 'int'>)
"""

from __future__ import annotations

import ast
import builtins
import errno
import json
import posixpath
import stat
from collections.abc import Callable, Iterator
from pathlib import PosixPath, PurePath, PurePosixPath
from typing import Any

import numpy as np

from course_utils.grading import wire
from course_utils.grading.contract import ANSWER, CALLBACK, FILES, REQUEST_PREFIX, SOURCE_PREFIX

_asking: Callable[[str], str] | None = None  # set while run() runs a test


def _ask_grader(request: str) -> str:
    return input(REQUEST_PREFIX + request)


class Remote:
    """An object in the learner's kernel. Operations on it are requests; results are data."""

    def __init__(self, handle: wire.Handle, ask: Callable[[str], str]) -> None:
        object.__setattr__(self, "_course_handle", handle)
        object.__setattr__(self, "_course_ask", ask)

    @property
    def course_remote_types(self) -> list[str]:
        """``module.qualname`` of the object's type and bases, as the learner's kernel says."""
        return list(self._course_handle.types)

    def _request(self, op: str, **fields: Any) -> Any:
        fields.update(op=op, h=self._course_handle.id)
        return _answer(self._course_ask, fields)

    def course_remote_apply(self, function: str) -> Any:
        """An allowed introspection helper (``bridge.APPLICABLE``) run on the object over there."""
        return self._request("apply", fn=function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._request("call", args=_sent(list(args)), kwargs=_sent(dict(kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in _REMOTE_DUNDERS:
            raise AttributeError(name)
        return self._request("attr", name=name)

    def __getitem__(self, key: Any) -> Any:
        return self._request("item", key=_sent(key))

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        """NumPy gets the whole object as data, in one request (an error if it is not data)."""
        return np.asarray(self._request("data"), dtype=dtype)

    def __len__(self) -> int:
        length = self._request("len")
        if type(length) is not int:
            raise TypeError("len() of a learner's object did not give an int")
        return length

    def __iter__(self) -> Iterator[Any]:
        iterator = self._request("iter")
        while True:
            kind, item = iterator._request("next")
            if kind == "stop":
                return
            yield item

    def __repr__(self) -> str:
        return f"<learner's {self._course_handle.text}>"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects in the learner's kernel are read-only from the judge")


_REMOTE_DUNDERS = frozenset({"__name__", "__qualname__"})  # plain strings, asked for
_callbacks: dict[int, Callable[..., Any]] = {}


def load_model(file: wire.KerasFile) -> Any:
    """A learner's Keras model, loaded here from its ``.keras`` file in Keras's safe mode:
    built-in layers only, no lambda, none of the learner's code."""
    try:
        return wire.load_keras_file(file.data)
    except Exception as error:
        raise LearnerCodeError(
            "a model that does not load",
            "the judge loads models from a .keras file with Keras's built-in layers only "
            f"(safe mode), and this one failed: {type(error).__name__}: {str(error)[:300]}",
        ) from None


def _keras_only(config: Any, depth: int = 0) -> None:
    """Refuse a config that names anything but Keras's own modules, custom objects or lambdas."""
    if depth > wire.MAX_DEPTH:
        raise wire.WireError("a Keras config nested too deep")
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (
            isinstance(module, str) and (module == "keras" or module.startswith("keras."))
        ):
            raise wire.WireError(f"a Keras config naming the module {str(module)[:80]!r}")
        registered = config.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            raise wire.WireError(f"a Keras config naming a custom object {registered[:80]!r}")
        if config.get("class_name") == "__lambda__":
            raise wire.WireError("a Keras config holding a lambda")
        for item in config.values():
            _keras_only(item, depth + 1)
    elif isinstance(config, list):
        for item in config:
            _keras_only(item, depth + 1)


def load_config(config: wire.KerasConfig) -> Any:
    """A Keras object rebuilt here from its config (and weights): Keras's own classes only."""
    import keras

    try:
        _keras_only(config.config)
        return wire.rebuild_keras(keras.saving.deserialize_keras_object(config.config, safe_mode=True),
                       config.weights)  # fmt: skip
    except Exception as error:
        raise LearnerCodeError(
            "a Keras object that does not rebuild",
            f"the judge rebuilds Keras objects of Keras's own classes only: {str(error)[:300]}",
        ) from None


def _loaded(value: Any) -> Any:
    """``value`` with every Keras model file and config in it rebuilt here, TensorFlow
    variables as variables, paths as :class:`LearnerPath`."""
    if type(value) is wire.KerasFile:
        return load_model(value)
    if type(value) is wire.KerasConfig:
        return load_config(value)
    if type(value) is wire.Variable:
        import tensorflow as tf

        return tf.Variable(value.value)
    if type(value) is PurePosixPath:
        return LearnerPath(value)
    if type(value) in (list, tuple):
        return type(value)(_loaded(item) for item in value)
    if type(value) is dict:
        return {key: _loaded(item) for key, item in value.items()}
    return value


def _handle_of(value: Any) -> wire.Handle | wire.Callback:
    """Judge-side values sent as arguments: proxies go back home, functions stay here
    (the learner's code gets a stand-in that calls back); anything else must be data."""
    if isinstance(value, Remote):
        return value._course_handle
    if callable(value) and not isinstance(value, type):
        number = len(_callbacks) + 1
        _callbacks[number] = value
        return wire.Callback(number)
    raise wire.WireError(f"a {type(value).__name__} cannot be sent to the learner's kernel")


def _outgoing(value: Any, depth: int = 0) -> Any:
    """The judge's arguments for the learner's code, as data: tensors as arrays, variables as
    :class:`wire.Variable`, Keras models as ``.keras`` files, other Keras objects as configs
    with weights. (Proxies and the judge's functions are handled by :func:`_handle_of`.)"""
    if depth > wire.MAX_DEPTH or isinstance(value, Remote):
        return value
    kind = type(value)
    if kind in (list, tuple):
        return kind(_outgoing(item, depth + 1) for item in value)
    if kind is dict:
        return {key: _outgoing(item, depth + 1) for key, item in value.items()}
    if isinstance(value, PurePath):
        return PurePosixPath(str(value))
    module = kind.__module__
    if module.startswith(("tensorflow", "keras")):
        names = wire.type_names(value)
        if any(name.endswith("ResourceVariable") or name.endswith(".Variable") for name in names):
            return wire.Variable(np.asarray(value))
        if hasattr(value, "numpy") and not hasattr(value, "get_config"):
            return np.asarray(value)
        if "keras.src.models.model.Model" in names:
            return _model_file(value)
        if hasattr(value, "get_config"):
            import keras

            weights = value.get_weights() if hasattr(value, "get_weights") else []
            return wire.KerasConfig(keras.saving.serialize_keras_object(value), weights)
    return value


def _sent(value: Any) -> Any:
    """The judge's ``value`` as data for a request (proxies as their handles)."""
    return wire.to_data(_outgoing(value), _handle_of, inline=True)


def _model_file(model: Any) -> wire.KerasFile:
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="course-model-") as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as handle:
            return wire.KerasFile(handle.read())


def _call_back(ask: Callable[[str], str], text: str) -> str:
    """Run one of the judge's functions for the learner's code; the next reply, after it."""
    try:
        if len(text) > wire.MAX_BYTES:
            raise wire.WireError("a call too large")
        call = json.loads(text)
        function = _callbacks[int(call["id"])]
        args = wire.from_data(call["args"], lambda h: Remote(h, ask))
        kwargs = wire.from_data(call["kwargs"], lambda h: Remote(h, ask))
        if type(args) is not list or type(kwargs) is not dict:
            raise wire.WireError("a call's arguments must be a list and a dict")
        result = wire.encode(_outgoing(function(*args, **kwargs)), _handle_of, inline=True)
    except Exception as exc:  # the learner's code sees the failure as an exception
        result = wire.error(exc)
    return ask(json.dumps({"op": "result", "value": result}))


def _answer(ask: Callable[[str], str], request: dict) -> Any:
    reply = ask(json.dumps(request))
    while reply.startswith(CALLBACK):
        reply = _call_back(ask, reply[len(CALLBACK) :])
    if reply.startswith(ANSWER):  # from the grading process; in-process tests send bare answers
        reply = reply[len(ANSWER) :]
    try:
        return _loaded(wire.decode(reply, lambda h: Remote(h, ask)))
    except wire.RemoteError as error:
        raise learner_exception(error.name)(error.name, error.message) from None


class LearnerCodeError(Exception):
    """The learner's code raised an exception while the judge called it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"your code raised {name}: {message}")


_learner_exceptions: dict[str, type] = {}


def learner_exception(name: str) -> type:
    """A :class:`LearnerCodeError` named as the learner's exception was (``NotImplementedError``
    in the feedback, as in the learner's own kernel); an ``AttributeError`` stays one here too,
    so ``hasattr`` and ``getattr`` defaults work on proxies."""
    name = name if name.isidentifier() else "LearnerCodeError"
    if name not in _learner_exceptions:
        bases = (
            (LearnerCodeError, AttributeError) if name == "AttributeError" else (LearnerCodeError,)
        )
        _learner_exceptions[name] = type(name, bases, {"__module__": "learner"})
    return _learner_exceptions[name]


def _files(what: str, path: str) -> Any:
    """What the grading process sees of a file in the learner's sandbox (never followed
    through a link); a missing file raises :class:`FileNotFoundError` as ``os.stat`` would."""
    if _asking is None:
        raise RuntimeError("a learner's file can be looked at only while the judge runs a test")
    reply = _asking(json.dumps({"op": FILES, "what": what, "path": path}))
    if reply.startswith(ANSWER):
        reply = reply[len(ANSWER) :]
    try:
        return wire.decode(reply)
    except wire.RemoteError as error:
        code = {"FileNotFoundError": errno.ENOENT, "NotADirectoryError": errno.ENOTDIR,
                "IsADirectoryError": errno.EISDIR}.get(error.name, errno.EIO)  # fmt: skip
        raise OSError(code, error.message, path) from None


class LearnerPath(PosixPath):
    """A path in the learner's sandbox. Reading it (``exists``, ``is_dir``, ``is_file``,
    ``stat``, ``iterdir``, ``read_bytes``, ``read_text``) asks the grading process, which
    looks at the learner's files itself: the learner's code cannot answer for them.
    Changing files from a test is refused.
    """

    def stat(self, *, follow_symlinks: bool = True) -> Any:  # links are never followed
        import os

        seen = _files("stat", str(self))
        if type(seen) is not dict or type(seen.get("mode")) is not int:
            raise OSError(errno.EIO, "an unreadable answer", str(self))
        return os.stat_result((seen["mode"], 0, 0, 1, 0, 0, int(seen["size"]), 0, 0, 0))

    def iterdir(self) -> Iterator[LearnerPath]:  # type: ignore[override]
        names = _files("list", str(self))
        for name in names if type(names) is list else []:
            if type(name) is str and name not in (".", "..") and "/" not in name:
                yield self / name

    def read_bytes(self) -> bytes:
        data = _files("read", str(self))
        if type(data) is not bytes:
            raise OSError(errno.EIO, "an unreadable answer", str(self))
        return data

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def resolve(self, strict: bool = False) -> LearnerPath:
        """The path with ``.`` and ``..`` removed (links are not followed in the learner's files)."""
        return type(self)(posixpath.normpath(str(self))) if self.is_absolute() else self

    def _mode(self) -> int | None:
        try:
            return self.stat().st_mode
        except OSError:
            return None

    # Spelled out, not inherited: newer Pythons answer these with os.path on this process's
    # own files, which are not the learner's.
    def exists(self, *, follow_symlinks: bool = True) -> bool:
        return self._mode() is not None

    def is_dir(self) -> bool:
        mode = self._mode()
        return mode is not None and stat.S_ISDIR(mode)

    def is_file(self) -> bool:
        mode = self._mode()
        return mode is not None and stat.S_ISREG(mode)

    def is_symlink(self) -> bool:
        mode = self._mode()
        return mode is not None and stat.S_ISLNK(mode)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EPERM, "a test cannot change the learner's files", str(self))

    open = mkdir = touch = unlink = rmdir = rename = replace = chmod = _refuse
    write_bytes = write_text = symlink_to = hardlink_to = _refuse


def judging() -> bool:
    """True while the judge runs a test (in this kernel)."""
    return _asking is not None


def lend(value: Any) -> Any:
    """A copy of the judge's ``value`` kept in the learner's kernel, as a :class:`Remote`
    (a model for the learner's code to train, a ``tf.data`` dataset of batches); a path as
    the :class:`LearnerPath` of the learner's file there."""
    if _asking is None or isinstance(value, Remote):
        return value
    if isinstance(value, PurePath):
        return LearnerPath(str(value))
    request: dict[str, Any] = {"op": "keep"}
    if any(name.endswith(".DatasetV2") for name in wire.type_names(value)):
        request["dataset"] = True
        value = [
            tuple(np.asarray(part) for part in element) if isinstance(element, tuple)
            else np.asarray(element)
            for element in value
        ]  # fmt: skip
    request["value"] = _sent(value)
    return _answer(_asking, request)


def take_back(value: Any) -> Any:
    """The learner kernel's object behind a :class:`Remote`, as data here (a model of
    built-in layers loaded in safe mode): the judge checks its own copy."""
    if isinstance(value, Remote):
        return value._request("data")
    return value


def names_read(source: str) -> list[str]:
    """Names the code reads and never binds itself, in order (what must be found elsewhere)."""
    tree = ast.parse(source)
    read: dict[str, None] = {}
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.setdefault(node.id, None)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return [name for name in read if name not in bound]


def fetch(name: str, ask: Callable[[str], str]) -> Any:
    """The learner kernel's value of ``name``: data, or a :class:`Remote`."""
    return _answer(ask, {"op": "get", "name": name})


def run_test_cell(grade_id: str, namespace: dict) -> None:
    """Run the test cell ``grade_id``, its source asked of the grading process.

    The source comes by ``input()``, not in the code the kernel executes: a traceback
    quotes executed lines, and this way no line of a test is ever quoted.
    """
    run(input(SOURCE_PREFIX + grade_id), grade_id, namespace)


def run(
    source: str, grade_id: str, namespace: dict, ask: Callable[[str], str] | None = None
) -> None:
    """Run a test cell's ``source`` in ``namespace``, with missing names from the learner's kernel.

    Names the judge has (the setup cell's imports, what earlier test cells defined) are
    the judge's own; builtins are Python's. The code is compiled as ``<tests grade_id>``,
    so a traceback shows no line of it.
    """
    global _asking
    ask = ask or _ask_grader
    _asking = ask
    for name in names_read(source):
        if name in namespace or hasattr(builtins, name):
            continue
        try:
            namespace[name] = fetch(name, ask)
        except LearnerCodeError:
            pass  # not defined there either (or unreadable): the test's own NameError says so
    namespace.setdefault("__builtins__", builtins)
    exec(compile(source, f"<tests {grade_id}>", "exec"), namespace)  # noqa: S102
