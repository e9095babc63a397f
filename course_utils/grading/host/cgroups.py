"""Limits on all of a grading kernel's processes together, where the machine lets us set them.

The kernel's own resource limits (:func:`course_utils.grading.kernel.limit_resources`)
bound each process. A learner who starts many processes (a fork bomb) would
still take the whole machine; a Linux control group bounds them *together*:
at most ``KERNEL_PROCESSES`` processes and threads and ``KERNEL_MEMORY`` bytes
(:mod:`course_utils.grading.contract`).

Making control groups needs root (or a delegated cgroup), so this is best
effort: where it cannot be done, :meth:`KernelCgroup.create` says why and the
kernel runs with its per-process limits only. Both cgroup layouts are handled:
v2 (``/sys/fs/cgroup`` with the ``pids`` and ``memory`` controllers) and v1
(``/sys/fs/cgroup/pids``, ``/sys/fs/cgroup/memory``).

Example:
    >>> group = KernelCgroup("example", base=Path("/nonexistent"))
    >>> group.create()
    False
    >>> group.command(["bwrap", "..."])
    ['bwrap', '...']
"""

from __future__ import annotations

import os
import shlex
import time
import uuid
from pathlib import Path

from course_utils.grading.contract import KERNEL_MEMORY, KERNEL_PROCESSES

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "course-grading"


class KernelCgroup:
    """One control group per grading kernel, removed when the kernel is gone.

    Its name starts with the process id of the grading process that made it
    (``<pid>-<random>``): a group is swept as left behind only once that process is gone,
    so two workers starting kernels at once never remove each other's new, empty groups.
    """

    def __init__(self, name: str | None = None, base: Path = CGROUP_ROOT, parent: str = PARENT):
        self.name = name or f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.base = base
        self.parent = parent
        self.folders: list[Path] = []
        self.problem: str | None = None

    def _layout(self) -> list[tuple[Path, dict[str, str]]]:
        """(folder to make, files to write) for this machine's cgroup layout."""
        v2_controllers = self.base / "cgroup.controllers"
        if v2_controllers.is_file():
            controllers = v2_controllers.read_text().split()
            if not {"pids", "memory"} <= set(controllers):
                return []
            return [
                (
                    self.base / self.parent / self.name,
                    {"pids.max": str(KERNEL_PROCESSES), "memory.max": str(KERNEL_MEMORY)},
                )
            ]
        layout = []
        if (self.base / "pids" / "cgroup.procs").is_file():
            layout.append(
                (self.base / "pids" / self.parent / self.name, {"pids.max": str(KERNEL_PROCESSES)})
            )
        if (self.base / "memory" / "cgroup.procs").is_file():
            layout.append(
                (
                    self.base / "memory" / self.parent / self.name,
                    {"memory.limit_in_bytes": str(KERNEL_MEMORY)},
                )
            )
        return layout

    def create(self) -> bool:
        """Make the group(s) and set the limits; False (and ``problem`` says why) if not possible."""
        try:
            layout = self._layout()
            if not layout:
                self.problem = f"no pids or memory controller under {self.base}"
                return False
            for folder, _ in layout:
                _sweep(folder.parent)
            for folder, limits in layout:
                if (self.base / "cgroup.subtree_control").is_file():  # v2: hand controllers down
                    _enable_controllers(self.base)
                    _enable_controllers(folder.parent)
                folder.mkdir(parents=True, exist_ok=True)
                self.folders.append(folder)
                for name, value in limits.items():
                    (folder / name).write_text(value)
            return True
        except OSError as exc:
            self.problem = f"cannot make control groups here ({exc.strerror or exc})"
            self.remove()
            return False

    def command(self, command: list[str]) -> list[str]:
        """``command``, started from inside the group(s): a shell joins them, then runs it."""
        if not self.folders:
            return command
        joins = " && ".join(
            f"echo $$ > {shlex.quote(str(folder / 'cgroup.procs'))}" for folder in self.folders
        )
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "course-grading-kernel", *command]

    def remove(self, wait: float = 3.0) -> None:
        """Remove the group(s) once their processes are gone (waiting up to ``wait`` seconds);
        one still in use is left, and swept by the next :meth:`create`."""
        deadline = time.monotonic() + wait
        for folder in reversed(self.folders):
            while time.monotonic() < deadline and _busy(folder):
                time.sleep(0.05)
            try:
                folder.rmdir()
            except OSError:
                pass
        self.folders = []


def _busy(folder: Path) -> bool:
    try:
        return bool((folder / "cgroup.procs").read_text().strip())
    except OSError:
        return False


def _maker_alive(name: str) -> bool:
    """Whether the grading process that made the group ``name`` (``<pid>-...``) still runs."""
    pid, _, _ = name.partition("-")
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def _sweep(parent: Path) -> None:
    """Remove the empty groups of grading processes that are gone (their kernels crashed or
    were killed before removing them); a running process's groups are its own to remove."""
    if parent.is_dir():
        for stale in parent.iterdir():
            if stale.is_dir() and not _maker_alive(stale.name) and not _busy(stale):
                try:
                    stale.rmdir()
                except OSError:
                    pass


def _enable_controllers(parent: Path) -> None:
    """cgroup v2: let the course's parent group hand the pids and memory controllers down."""
    parent.mkdir(exist_ok=True)
    control = parent / "cgroup.subtree_control"
    enabled = control.read_text().split() if control.exists() else []
    for controller in ("pids", "memory"):
        if controller not in enabled:
            control.write_text(f"+{controller}")
