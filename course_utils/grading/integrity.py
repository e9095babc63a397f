"""Inside the grading kernel: run test cells on untouched machinery, and say when it was touched.

Autograding wraps every test cell (and every probe the grading process sends
around it) in one line that calls :func:`run`. Before the test's code runs,
:func:`run`:

1. tells the grading process, on the report channel, that the guard really runs
   (a fresh token per execution: a cell that was swapped or skipped sends none);
2. compares the kernel with the :func:`snapshot` taken before the first cell:
   learner-defined code hooked into IPython or the kernel (input or AST
   transformers, event callbacks, replaced methods), trace or import hooks,
   library modules replaced by learner files, changed attributes of ``builtins``,
   ``numpy`` or ``course_utils.checks``. Each finding is reported as tampering and
   the modules are put back;
3. runs the test with Python's own builtins, so shadowed names (``len = ...``) in
   the learner's namespace cannot change what the test does, and compiles it as
   ``<tests grade_id>``, so tracebacks never print the (hidden) test lines.

Example:
    >>> ns = {"len": lambda x: 99, "answer": [1, 2, 3]}
    >>> exec("assert len(answer) == 99", ns)                    # shadowed
    >>> exec(guard_line("assert len(answer) == 3", "t", "token"), ns)   # real builtins
"""

from __future__ import annotations

import builtins
import functools
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from course_utils.grading import monitor

GUARD_NAME = "_course_guard"  # the name the wrapper binds; RestoreTestCells strips its frames
# Modules whose attributes must stay the objects they were before the first cell.
IDENTITY_MODULES = ("builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "importlib")
# Modules the hidden tests reload: every function must still come from the module's own file.
RELOADED_MODULES = ("course_utils.checks",)
# Library packages that learner files may not stand in for.
LIBRARIES = frozenset(
    {
        "builtins",
        "course_utils",
        "importlib",
        "IPython",
        "ipykernel",
        "jupyter_client",
        "keras",
        "math",
        "matplotlib",
        "nbformat",
        "numpy",
        "pandas",
        "scipy",
        "sklearn",
        "tensorflow",
        "zmq",
    }
)
_MISSING = object()
# Names IPython and ipykernel put into builtins around each cell, and the last result.
_IPYTHON_MANAGED = frozenset(
    {"exit", "quit", "get_ipython", "_", "__", "___", "input", "raw_input", "getpass"}
)
# Hooks no library sets while grading: any change is reported.
_ALWAYS_CHECKED_HOOKS = frozenset(
    {"sys.gettrace()", "sys.getprofile()", "threading trace hook", "threading profile hook"}
)


def guard_line(source: str, name: str, token: str) -> str:
    """The one line a test cell (or a probe) runs as: ``source`` goes through :func:`run`.

    Example:
        >>> guard_line("check(x)", "x_tests", "ab12").startswith("import course_utils.grading")
        True
    """
    return (
        f"import course_utils.grading.integrity as {GUARD_NAME}; "
        f"{GUARD_NAME}.run({source!r}, {name!r}, {token!r})"
    )


def defined_in_cells(value: Any) -> bool:
    """True if ``value`` is code written in a notebook cell (a function, method, class or instance of one).

    Example:
        >>> defined_in_cells(len), defined_in_cells(functools.partial(print))
        (False, False)
    """
    for _ in range(5):  # unwrap partials and bound methods
        if isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, types.MethodType):
            value = value.__func__
        else:
            break
    code = getattr(value, "__code__", None)
    if isinstance(code, types.CodeType):
        return monitor.is_cell_file(code.co_filename)
    cls = value if isinstance(value, type) else type(value)
    if cls.__module__ == "__main__":
        return True
    for method in ("__call__", "__init__"):
        code = getattr(vars(cls).get(method), "__code__", None)
        if isinstance(code, types.CodeType) and monitor.is_cell_file(code.co_filename):
            return True
    return False


def _top(name: str) -> str:
    return name.partition(".")[0]


@dataclass
class Snapshot:
    """The kernel's machinery as it was before the first cell."""

    builtins: dict[str, Any]
    modules: dict[str, types.ModuleType]
    module_dicts: dict[str, dict[str, Any]]
    classes: dict[type, dict[str, Any]]
    instances: dict[str, tuple[Any, dict[str, Any]]]
    handlers: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    hooks: dict[str, Any]
    lists: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    shell: Any = None
    layout: monitor.Layout = field(default_factory=monitor.Layout)


_SNAPSHOT: Snapshot | None = None
_BUILTINS_DICT = vars(builtins)


def _hook_lists(shell: Any) -> dict[str, Any]:
    """Lists whose entries run on every cell or import."""
    lists: dict[str, Any] = {"sys.meta_path": sys.meta_path, "sys.path_hooks": sys.path_hooks}
    if shell is not None:
        lists["input_transformers_post"] = shell.input_transformers_post
        lists["input_transformers_cleanup"] = shell.input_transformers_cleanup
        lists["ast_transformers"] = shell.ast_transformers
        manager = getattr(shell, "input_transformer_manager", None)
        for name in ("cleanup_transforms", "line_transforms", "token_transformers"):
            if isinstance(getattr(manager, name, None), list):
                lists[f"input_transformer_manager.{name}"] = getattr(manager, name)
        for event, callbacks in getattr(shell.events, "callbacks", {}).items():
            lists[f"events.{event}"] = callbacks
    return lists


def _sys_hooks() -> dict[str, Any]:
    import threading

    return {
        "sys.excepthook": sys.excepthook,
        "sys.displayhook": sys.displayhook,
        "sys.breakpointhook": sys.breakpointhook,
        "sys.unraisablehook": sys.unraisablehook,
        "sys.gettrace()": sys.gettrace(),
        "sys.getprofile()": sys.getprofile(),
        "threading trace hook": getattr(threading, "_trace_hook", None),
        "threading profile hook": getattr(threading, "_profile_hook", None),
    }


def _machinery(shell: Any, kernel: Any) -> dict[str, Any]:
    """The objects that execute cells and report their results."""
    objects: dict[str, Any] = {}
    if shell is not None:
        objects.update(
            shell=shell,
            displayhook=shell.displayhook,
            display_pub=shell.display_pub,
            compile=shell.compile,
            input_transformer_manager=shell.input_transformer_manager,
            events=shell.events,
        )
    if kernel is not None:
        objects.update(kernel=kernel, session=kernel.session)
        if getattr(kernel, "iopub_thread", None) is not None:
            objects["iopub_thread"] = kernel.iopub_thread
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if type(stream).__module__.startswith("ipykernel"):
            objects[f"sys.{name}"] = stream
    return objects


def snapshot(
    shell: Any = None, kernel: Any = None, layout: monitor.Layout | None = None
) -> Snapshot:
    """Record the kernel's machinery; call it once, before the first cell runs."""
    global _SNAPSHOT
    import importlib

    for name in (*IDENTITY_MODULES, *RELOADED_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    objects = _machinery(shell, kernel)
    classes: dict[type, dict[str, Any]] = {}
    for obj in objects.values():
        for cls in type(obj).__mro__:
            if cls is not object and not cls.__module__ == "builtins":
                classes.setdefault(cls, dict(vars(cls)))
    names = (*IDENTITY_MODULES, *RELOADED_MODULES)
    _SNAPSHOT = Snapshot(
        builtins={k: v for k, v in vars(builtins).items() if k not in _IPYTHON_MANAGED},
        modules={n: sys.modules[n] for n in names if n in sys.modules},
        module_dicts={
            n: dict(vars(sys.modules[n]))
            for n in IDENTITY_MODULES
            if n in sys.modules and n != "builtins"
        },
        classes=classes,
        instances={label: (obj, _instance_state(obj)) for label, obj in objects.items()},
        handlers={
            name: (table, dict(table))
            for name in ("shell_handlers", "control_handlers")
            if isinstance(table := getattr(kernel, name, None), dict)
        },
        hooks=_sys_hooks(),
        lists={k: tuple(v) for k, v in _hook_lists(shell).items()},
        shell=shell,
        layout=layout or monitor.Layout(),
    )
    return _SNAPSHOT


def _instance_state(obj: Any) -> dict[str, Any]:
    state = dict(getattr(obj, "__dict__", {}))
    state.update({f"trait:{k}": v for k, v in getattr(obj, "_trait_values", {}).items()})
    return state


def _check_instance(label: str, obj: Any, before: dict[str, Any]) -> list[str]:
    found = []
    for key, value in _instance_state(obj).items():
        if before.get(key, _MISSING) is not value and defined_in_cells(value):
            found.append(f"attached learner code to {label}.{key.removeprefix('trait:')}")
    return found


def _module_file_is_writable(module: types.ModuleType, layout: monitor.Layout) -> bool:
    """Was the module loaded from a folder learner code can write (its home, /tmp)?

    A plain prefix test: learner code cannot make links in the read-only folders,
    so a module found through a writable folder has that folder in its path.
    """
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and layout.is_writable(path)


_CHECKED_MODULES: dict[str, int] = {}  # name -> id of the module object found clean


def check(restore: bool = True) -> list[str]:
    """What changed since :func:`snapshot`, one sentence each; put changed modules back."""
    snap = _SNAPSHOT
    if snap is None:
        return []
    found: list[str] = []
    # 1. modules replaced in sys.modules, and attributes of core modules
    for name, module in snap.modules.items():
        if sys.modules.get(name) is not module:
            found.append(f"replaced the module {name} in sys.modules")
            if restore:
                sys.modules[name] = module
    for name, before in snap.module_dicts.items():
        module = snap.modules[name]
        now = vars(module)
        for key, value in before.items():
            if key not in _IPYTHON_MANAGED and now.get(key, _MISSING) is not value:
                found.append(f"changed {name}.{key}")
                if restore:
                    setattr(module, key, value)
    for name in RELOADED_MODULES:
        reloaded = sys.modules.get(name)
        source = getattr(reloaded, "__file__", None)
        for key, value in vars(reloaded).items() if reloaded else ():
            code = getattr(value, "__code__", None)
            if isinstance(code, types.CodeType) and getattr(value, "__module__", None) == name:
                if code.co_filename != source or value.__name__ != key:
                    found.append(f"changed {name}.{key}")
            elif defined_in_cells(value):
                found.append(f"changed {name}.{key}")
    # 2. library modules loaded from files the learner could write
    for name, module in list(sys.modules.items()):
        if _CHECKED_MODULES.get(name) == id(module) or _top(name) not in LIBRARIES:
            continue
        if isinstance(module, types.ModuleType) and _module_file_is_writable(module, snap.layout):
            found.append(f"loaded its own file as the library module {name}")
        else:
            _CHECKED_MODULES[name] = id(module)
    # 3. the classes and objects that run cells and report results
    for cls, before in snap.classes.items():
        for key, value in vars(cls).items():
            if before.get(key, _MISSING) is not value and defined_in_cells(value):
                found.append(f"attached learner code to {cls.__qualname__}.{key}")
    for label, (obj, before) in snap.instances.items():
        found.extend(_check_instance(label, obj, before))
    for table, before in snap.handlers.values():
        for msg_type, handler in table.items():
            if before.get(msg_type, _MISSING) is not handler:
                found.append(f"replaced the kernel's {msg_type} handler")
    # 4. hooks that run on every cell, import, exception or line
    for name, entries in _hook_lists(snap.shell).items():
        for entry in entries:
            if defined_in_cells(entry):
                found.append(f"installed learner code as a hook in {name}")
                break
    for name, value in _sys_hooks().items():
        old = snap.hooks.get(name)
        if value is not old and (defined_in_cells(value) or name in _ALWAYS_CHECKED_HOOKS):
            found.append(f"replaced {name}")
    return sorted(set(found))


def _report(found: list[str]) -> None:
    for finding in found:
        monitor.REPORTER.send(monitor.TAMPERING, "integrity", finding)


def _restore_builtins(snap: Snapshot | None) -> list[str]:
    """Put back replaced builtins first, with nothing but dict methods and bytecode.

    The rest of the guard (and the json, os and re code it calls) looks builtins
    up at call time, so it only works once they are the real ones again.
    """
    if snap is None:
        return []
    pristine = snap.builtins
    changed = [
        f"changed builtins.{k}"
        for k, v in pristine.items()
        if _BUILTINS_DICT.get(k, _MISSING) is not v
    ]
    _BUILTINS_DICT.update(pristine)
    return changed


def run(source: str, name: str, token: str) -> None:
    """Run a test cell's code on checked machinery, with Python's own builtins.

    The learner's names stay visible (tests call the learner's functions), but
    names the test binds do not leak back into the learner's namespace.
    """
    snap = _SNAPSHOT
    found = _restore_builtins(snap)
    monitor.REPORTER.echo(token)
    _report(found + check(restore=True))
    real = snap.builtins if snap is not None else dict(vars(builtins))
    namespace = dict(sys._getframe(1).f_globals)
    namespace.update({k: v for k, v in real.items() if not k.startswith("_")})
    namespace["__builtins__"] = real
    real["exec"](real["compile"](source, f"<tests {name}>", "exec"), namespace)
