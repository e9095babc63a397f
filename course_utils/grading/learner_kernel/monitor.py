"""Inside the grading kernel: report what learner code tries, for the instructor to see.

The grading process gives each kernel the write end of a pipe (``--report-fd``).
:class:`Reporter` writes one JSON line per finding to it. Learner code can add
lines (it only accuses itself) but cannot remove what was already written.

:func:`install` adds a Python audit hook (PEP 578), which cannot be removed from
Python code, before the first cell runs. It reports what learner code does:

Learner code means code written in a notebook cell, calling directly or through
the standard library (a library doing its own work, such as matplotlib reading
its fonts, is not reported).

*attempts*: reaching files outside the grading area (the instructor's course
folder, other learners, anyone's home), writing to read-only course code, opening
a network connection, starting a program. They are reported and nothing else
happens: the sandbox already stops them, and no grade depends on a report (the
judge decides every grade, outside this process).

Example:
    >>> layout = Layout(free=("/home/learner",), read_only=("/usr",), protected=("/srv/course",))
    >>> layout.describe("/srv/course/gradebook.db", writing=True)
    "tried to write /srv/course/gradebook.db (the instructor's course files)"
    >>> layout.describe("/home/learner/outputs/model.keras", writing=True) is None
    True
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import sysconfig
import threading
import types
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from course_utils.grading.contract import ATTEMPT
from course_utils.grading.layout import Layout

# A line the grading process reads: {"kind": ..., "what": ..., "detail": ...}.
MAX_REPORTS = 200
MAX_LINE = 2000

# Code objects of notebook cells: IPython names them after a temporary file
# (ipykernel) or "<ipython-input-...>" (plain IPython).
_CELL_FILE = re.compile(r"(^<ipython-input-\d+-[0-9a-f]+>$)|(/ipykernel_\d+/[0-9a-f]+\.py$)")


def is_cell_file(filename: str) -> bool:
    """True for the file name IPython gives the code of a notebook cell.

    Example:
        >>> is_cell_file("/tmp/ipykernel_42/3712834511.py"), is_cell_file("/usr/lib/x.py")
        (True, False)
    """
    return bool(_CELL_FILE.search(filename))


@dataclass
class Reporter:
    """Writes findings, one JSON line each, to the report pipe (never blocks, never raises)."""

    fd: int | None
    sent: set[tuple[str, str, str]] = field(default_factory=set)

    def send(self, kind: str, what: str, detail: str) -> None:
        key = (kind, what, detail)
        if self.fd is None or key in self.sent or len(self.sent) >= MAX_REPORTS:
            return
        self.sent.add(key)
        self._write(kind, what, detail[:MAX_LINE])

    def _write(self, kind: str, what: str, detail: str) -> None:
        if self.fd is None:
            return
        # JSON by hand with the C string encoder: it works even when learner code
        # has replaced builtins that the json module's Python code relies on.
        line = (
            '{"kind": '
            + _quote(kind)
            + ', "what": '
            + _quote(what)
            + ', "detail": '
            + _quote(detail)
            + "}\n"
        )
        try:
            os.write(self.fd, line.encode("ascii"))
        except OSError:  # a full pipe or a closed descriptor: reports are best effort
            pass


REPORTER = Reporter(None)


# --------------------------------------------------------------------------- #
# The audit hook
# --------------------------------------------------------------------------- #

_FILE_EVENTS = {
    "open": 0,
    "os.listdir": 0,
    "os.scandir": 0,
    "glob.glob": 0,
    "os.chdir": 0,
    "os.remove": 0,
    "os.rmdir": 0,
    "os.mkdir": 0,
    "os.rename": 0,
    "os.truncate": 0,
    "os.chmod": 0,
    "os.chown": 0,
    "os.link": 1,
    "os.symlink": 1,
    "os.utime": 0,
    "shutil.rmtree": 0,
    "shutil.copyfile": 1,
    "sqlite3.connect": 0,
}
_WRITING_EVENTS = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.rename",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "os.utime",
    "shutil.rmtree",
    "shutil.copyfile",
    "sqlite3.connect",
}
_NETWORK_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"}
_PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
}
_WRITE_MODE = re.compile(r"[wax+]")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

_local = threading.local()


def _transparent_prefixes() -> tuple[str, ...]:
    """Code that acts for its caller: the standard library, and IPython (it wraps ``open``)."""
    prefixes = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
    spec = importlib.util.find_spec("IPython")
    if spec is not None and spec.submodule_search_locations:
        prefixes.add(list(spec.submodule_search_locations)[0])
    return tuple(prefixes)


_TRANSPARENT = _transparent_prefixes()


def _is_transparent(filename: str) -> bool:
    if filename.startswith("<"):  # code compiled from a string, frozen importlib
        return True
    if "site-packages" in filename and "/IPython/" not in filename:
        return False
    return filename.startswith(_TRANSPARENT)


def _from_learner() -> bool:
    """Did learner code make this call, directly or through the standard library?

    Walks outwards from the frame that raised the event, over standard-library
    and IPython frames and code compiled from strings; the first other frame
    decides: a notebook cell is the learner, anything else is a library doing its
    own work (fonts, caches).
    """
    frame: types.FrameType | None = sys._getframe(3)  # _from_learner <- _handle <- hook <- caller
    while frame is not None:
        name = frame.f_code.co_filename
        if is_cell_file(name):
            return True
        if not _is_transparent(name):
            return False
        frame = frame.f_back
    return False


def _as_path(value: Any) -> str | None:
    if isinstance(value, int) or value is None:
        return None
    try:
        return os.path.abspath(os.fsdecode(value))
    except (TypeError, ValueError):
        return None


def _writing(event: str, args: tuple) -> bool:
    if event in _WRITING_EVENTS:
        return True
    if event == "open" and len(args) >= 3:
        mode, flags = args[1], args[2]
        if isinstance(mode, str) and _WRITE_MODE.search(mode):
            return True
        return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
    return False


def _handle(event: str, args: tuple, layout: Layout) -> None:
    if event in _FILE_EVENTS:
        path = _as_path(args[_FILE_EVENTS[event]] if len(args) > _FILE_EVENTS[event] else None)
        if path is None:
            return
        message = layout.describe(path, _writing(event, args))
        if message and _from_learner():
            REPORTER.send(ATTEMPT, "file", message)
    elif event in _NETWORK_EVENTS:
        if _from_learner():
            address = args[1] if len(args) > 1 else "?"
            REPORTER.send(ATTEMPT, "network", f"tried to open a network connection to {address!r}")
    elif event in _PROCESS_EVENTS:
        if _from_learner():
            program = args[0] if args else "?"
            REPORTER.send(ATTEMPT, "process", f"tried to start a program: {program!r}"[:300])


def install(reporter: Reporter, layout: Layout) -> None:
    """Start reporting: set the report channel and add the audit hook (once per process)."""
    global REPORTER
    REPORTER = reporter
    watched = set(_FILE_EVENTS) | _NETWORK_EVENTS | _PROCESS_EVENTS

    def hook(event: str, args: tuple) -> None:
        if event not in watched:
            return
        if getattr(_local, "busy", False):
            return
        _local.busy = True
        try:
            _handle(event, args, layout)
        except Exception:  # an audit hook must never break the code it watches
            pass
        finally:
            _local.busy = False

    sys.addaudithook(hook)
