"""Where a grading kernel may go, and which of the learner's files it gets: shared by the
grading machine (which builds the sandbox from it) and the kernel (whose monitor names
what learner code tried by it).

Example:
    >>> layout = Layout(free=("/tmp",), read_only=("/usr",), protected=("/course",))
    >>> layout.describe("/course/solutions/01.ipynb", writing=False)
    "tried to read /course/solutions/01.ipynb (the instructor's course files)"
    >>> layout.is_writable("/tmp/x"), layout.is_writable("/usr/lib")
    (True, False)
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


def _under(path: str, roots: Iterable[str]) -> str | None:
    """The longest root that ``path`` is inside of (or equal to), if any."""
    best = None
    for root in roots:
        root = root.rstrip("/") or "/"
        if path == root or path.startswith(root + "/") or root == "/":
            if best is None or len(root) > len(best):
                best = root
    return best


@dataclass(frozen=True)
class Layout:
    """Where the grading kernel may go: the same lists build the sandbox and judge attempts.

    ``free``: read and write (its working folder, its home, /tmp, /dev, /proc).
    ``read_only``: read only (the system, the Python environment, course_utils, data).
    ``protected``: the instructor's files, named as such in reports.
    Anything else is outside the sandbox: the kernel does not see it.
    """

    free: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()

    def describe(self, path: str, writing: bool) -> str | None:
        """What reaching ``path`` means, or None when it is allowed."""
        verb = "write" if writing else "read"
        path = os.path.normpath(path)
        free, read_only = _under(path, self.free), _under(path, self.read_only)
        protected = _under(path, self.protected)
        inside = max((r for r in (free, read_only) if r), key=len, default=None)
        if protected and (inside is None or len(protected) >= len(inside)):
            return f"tried to {verb} {path} (the instructor's course files)"
        if inside is not None and inside == read_only:
            return f"tried to modify {path} (read-only course or system files)" if writing else None
        if inside is not None:
            return None
        return f"tried to {verb} {path}, outside the grading sandbox"

    def is_writable(self, path: str) -> bool:
        """Can the kernel write ``path`` (a free folder that no read-only one narrows)?"""
        free, read_only = _under(path, self.free), _under(path, self.read_only)
        return free is not None and (read_only is None or len(free) > len(read_only))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Layout:
        data = json.loads(text)
        return cls(**{k: tuple(v) for k, v in data.items()})


LEARNER_FILE_LIMIT = 100 * 1024**2  # bytes: larger submitted files are left out


def _left_out(folder: str, names: list[str]) -> set[str]:
    """Notebooks (they hold the hidden tests during grading), special files, huge files."""
    skip = set(shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints")(folder, names))
    for name in names:
        try:
            info = os.lstat(os.path.join(folder, name))
        except OSError:
            skip.add(name)
            continue
        kind = stat.S_IFMT(info.st_mode)
        if kind not in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):  # FIFOs, devices, sockets
            skip.add(name)
        elif kind == stat.S_IFREG and info.st_size > LEARNER_FILE_LIMIT:
            skip.add(name)
    return skip


def copy_learner_files(source: Path, work: Path) -> None:
    """Copy the learner's folder into ``work``: no notebooks, no special or huge files, no
    links followed (a link is copied as a link; inside the sandbox it points nowhere useful)."""
    work.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, work, symlinks=True, dirs_exist_ok=True, ignore=_left_out)
