"""The grading sandbox: every kernel that autograding starts runs inside bubblewrap.

nbgrader runs learner code with the grader's own rights: without a sandbox a
submission can read the instructor's solutions, write the gradebook or change
the grading code. Here each grading kernel is started by
:class:`SandboxedKernelManager` inside `bubblewrap <https://github.com/containers/bubblewrap>`_
(``bwrap``, Debian package ``bubblewrap``), where it sees only:

========================================  ==========================================
inside the sandbox                        what it is
========================================  ==========================================
``/usr``, ``/bin``, ``/lib*``             the system, read-only
a few files of ``/etc``                   the dynamic loader, fonts, time zone, read-only
the Python environment, ``course_utils``  read-only, at their usual paths
``/home/learner``                         its own empty home (a size-limited tmpfs)
``/home/learner/<assignment>``            its working folder: the learner's files, no notebooks
``~/.keras/datasets/fashion-mnist``,      the course data caches, read-only
``~/scikit_learn_data``
``/tmp``                                  empty, size-limited
``/proc``, ``/dev``                       its own processes only; null, zero, random...
``/dev/shm``                              its own, size-limited (256 MiB)
``/run/course/runtime``                   the Jupyter sockets (ZeroMQ over Unix sockets), a
                                          64 KiB tmpfs the grader reaches through
                                          ``/proc/<pid>/root``: nothing of the grading
                                          machine's disk is writable
========================================  ==========================================

Not the course folder (``solutions/``, ``source/``, ``gradebook.db``, ``submitted/``,
``autograded/``, ``feedback/``, ``nbgrader_config.py``, ``.git``), no one's home, no
network (a new, empty network namespace), no other process, no capabilities, as
an unprivileged user that cannot make new namespaces.

``COURSE_GRADING_SANDBOX=off`` grades without the sandbox (and warns every time);
:func:`sandbox_problem` says why the sandbox cannot run on a machine.

Example:
    >>> sandbox_mode() in ("on", "off")
    True
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

from course_utils.grading.contract import (
    FILE_SIZE_LIMIT,
    KERNEL_MODULE,
    KERNEL_PROCESSES,
    MEMORY_LIMIT,
    RUNTIME_SIZE,
    SHM_SIZE,
    TMPFS_SIZE,
    not_graded,
)
from course_utils.grading.host.cgroups import KernelCgroup
from course_utils.grading.layout import Layout, copy_learner_files

SANDBOX_ENV = "COURSE_GRADING_SANDBOX"
LEARNER = "learner"
LEARNER_UID = 1000
HOME = f"/home/{LEARNER}"
SUBMISSION = "/run/course/submission"  # the learner's files, read-only; copied into the work folder
CONNECTION_FILE = "/run/course/kernel.json"  # read-only: ports and key, written by the grader
RUNTIME = "/run/course/runtime"  # the kernel's ZeroMQ sockets, in a tmpfs of the sandbox's own
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "fonts",
    "alternatives",
    "mime.types",
    "nsswitch.conf",
    "matplotlibrc",
)
# Namespaces, user and rights: what no grading kernel needs.
_ISOLATION = (
    "--unshare-all",
    "--unshare-user",
    "--uid",
    str(LEARNER_UID),
    "--gid",
    str(LEARNER_UID),
    "--disable-userns",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--hostname",
    "grading",
)


class SandboxUnavailableError(RuntimeError):
    """Grading needs the sandbox and this machine cannot make one. No grade is recorded."""


def sandbox_mode() -> str:
    """``"on"`` (the default) or ``"off"``, from ``COURSE_GRADING_SANDBOX``.

    Raises:
        ValueError: for any other value, saying which values work.
    """
    value = os.environ.get(SANDBOX_ENV, "on").strip().lower() or "on"
    if value in ("on", "1", "yes", "true"):
        return "on"
    if value in ("off", "0", "no", "false"):
        return "off"
    raise ValueError(
        f"{SANDBOX_ENV}={value!r} is not understood: use 'on' (the default) or 'off' "
        "(grade without the sandbox)."
    )


UNSANDBOXED_WARNING = (
    f"{SANDBOX_ENV}=off: grading WITHOUT the sandbox. Learner code runs with your rights and can "
    "read your solutions, write the gradebook and change the grading code. Unset "
    f"{SANDBOX_ENV} to grade in the sandbox."
)


_READY: set[str] = set()  # checks that passed in this process (a failure is checked again)


def sandbox_problem() -> str | None:
    """Why the sandbox cannot run on this machine, with the fix; ``None`` if it can.

    Starts one tiny sandbox (``/bin/true`` with every namespace the grading kernel
    gets); once it worked the answer is remembered, a failure is tried again next time.
    """
    if "sandbox" in _READY:
        return None
    problem = _sandbox_problem()
    if problem is None:
        _READY.add("sandbox")
    return problem


def _sandbox_problem() -> str | None:
    if not sys.platform.startswith("linux"):
        return (
            f"the grading sandbox needs Linux (bubblewrap) and this is {sys.platform}. "
            "Grade on a Linux machine or virtual machine."
        )
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return (
            "bubblewrap (the 'bwrap' command) is not installed. Install it: "
            "sudo apt-get install bubblewrap (Debian, Ubuntu) or sudo dnf install bubblewrap "
            "(Fedora)."
        )
    command = [bwrap, *_ISOLATION, *_system_mounts(), "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not be started ({exc})."
    if result.returncode != 0:
        return (
            f"bubblewrap cannot make a sandbox here: {result.stderr.strip() or result.returncode}. "
            "It needs user namespaces: on Debian allow them with "
            "'sudo sysctl -w kernel.unprivileged_userns_clone=1', on Ubuntu 24.04 or later with "
            "'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'; inside a container, "
            "start the container with user namespaces allowed."
        )
    return None


def course_utils_problem() -> str | None:
    """Whether grading kernels (``python -I``, so never from the current folder) would import
    another copy of ``course_utils`` than this process uses (two copies of the course, one
    Python environment): both paths, and the fix. ``None`` if they are the same.

    Example:
        >>> course_utils_problem() is None   # doctest: +SKIP
        True
    """
    if "course_utils" in _READY:
        return None
    here = course_utils_root()
    probe = "import importlib.util as u; s = u.find_spec('course_utils'); print(s and s.origin)"
    try:
        found = subprocess.run(
            [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, cwd="/"
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{sys.executable} could not be started ({exc})."
    there = str(Path(found).resolve().parent) if found and found != "None" else None
    if there == here:
        _READY.add("course_utils")
        return None
    return (
        f"this grading process uses course_utils from {here}, but the grading kernels "
        f"({sys.executable} -I) would import {there or 'no course_utils at all'}: two copies of "
        "the course share one Python environment. Run `make setup` in the copy you grade with "
        "(it installs that copy into its own .venv), or grade from the copy the kernels use."
    )


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailableError` (what is wrong, how to fix it, the opt-out) if needed."""
    mismatch = course_utils_problem()
    if mismatch:
        raise SandboxUnavailableError(not_graded(mismatch))
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailableError(
            not_graded(
                f"autograding runs every notebook in a sandbox, but {problem} To grade without "
                "the sandbox (learner code can then read your solutions and change grades), "
                f"set {SANDBOX_ENV}=off."
            )
        )


def _system_mounts() -> list[str]:
    """``/usr`` and its companions, read-only, as they are on this machine."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def python_roots() -> list[str]:
    """The folders of this Python environment (the venv and the interpreter it was made from)."""
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    roots |= {os.path.realpath(root) for root in roots}
    roots.add(str(Path(os.path.realpath(sys.executable)).parent.parent))
    return sorted(r for r in roots if not (r == "/usr" or r.startswith("/usr/")))


def course_utils_root() -> str:
    """The folder of the ``course_utils`` package the grading process uses."""
    import course_utils

    return str(Path(course_utils.__file__).resolve().parent)


def data_caches() -> dict[str, Path]:
    """The course's data caches on this machine, by the path the kernel finds them at in its home."""
    from course_utils.data import keras_cache_dir, sklearn_data_home

    caches = {
        ".keras/datasets/fashion-mnist": keras_cache_dir(),
        "scikit_learn_data": sklearn_data_home(),
    }
    return {inside: path for inside, path in caches.items() if path.is_dir()}


def _read_only(caches: list[str]) -> tuple[str, ...]:
    """What a grading kernel may read but not write: the system, Python, course_utils, the data."""
    return ("/usr", *_SYSTEM_DIRS, "/etc", "/sys", *python_roots(), course_utils_root(), *caches)


class GradingKernelManager(AsyncKernelManager):
    """Starts a grading kernel (:mod:`course_utils.grading.learner_kernel.kernel`) without a sandbox.

    It still gets its own scratch home, a copy of the learner's files as working
    folder, resource limits, the monitor and the report channel
    (:meth:`read_reports`). :class:`SandboxedKernelManager` adds the sandbox.
    """

    memory_limit = Integer(
        MEMORY_LIMIT, help="Bytes of address space a grading kernel may use."
    ).tag(config=True)
    file_size_limit = Integer(FILE_SIZE_LIMIT, help="Largest file a grading kernel may write.").tag(
        config=True
    )
    sandboxed = False

    def __init__(self, *args: Any, protected: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.protected = tuple(str(p) for p in protected)
        self.scratch = Path(tempfile.mkdtemp(prefix="course-grading-"))
        self.runtime = self.scratch / "runtime"
        self.runtime.mkdir()
        self.connection_file = str(self.runtime / "kernel.json")
        self.report_fd: int | None = None
        self._report_buffer = b""
        self.kernel_output: collections.deque[str] = collections.deque(maxlen=100)
        self.cgroup = KernelCgroup()

    # ---- what the kernel runs -------------------------------------------------------

    def work_dir(self, assignment: str) -> str:
        return str(self.scratch / "home" / assignment)

    def home(self) -> str:
        return str(self.scratch / "home")

    def layout(self) -> Layout:
        return Layout(
            free=(str(self.scratch), tempfile.gettempdir(), "/dev", "/proc"),
            read_only=_read_only([str(p) for p in data_caches().values()]),
            protected=self.protected,
        )

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The launcher in place of ``ipykernel_launcher``, with this Python."""
        assert self.kernel_spec is not None
        if self.kernel_spec.language.lower() != "python":
            raise RuntimeError(
                f"the course grades Python notebooks; this one asks for a "
                f"{self.kernel_spec.language} kernel ({self.kernel_name})"
            )
        assignment = self._source_dir().name
        return [
            sys.executable,
            "-I",
            "-B",
            "-m",
            KERNEL_MODULE,
            "--layout",
            self.layout().to_json(),
            "--copy-from",
            self._submission_inside(),
            "--work",
            self.work_dir(assignment),
            "--memory-limit",
            str(self.memory_limit),
            "--file-size-limit",
            str(self.file_size_limit),
            *(["--max-processes", str(KERNEL_PROCESSES)] if self.sandboxed else []),
            "--report-fd",
            "{report_fd}",
            "--",
            "-f",
            self._connection_file_inside(),
            *(extra_arguments or []),
        ]

    def _source_dir(self) -> Path:
        """The notebook's folder, where nbgrader would have started the kernel."""
        return Path(str((self._launch_args or {}).get("cwd") or os.getcwd()))

    def _stage_learner_files(self) -> None:
        """Copy the learner's files, no notebooks (they hold the hidden tests), no links followed."""

        staged = self.scratch / "submission"
        if staged.exists():
            shutil.rmtree(staged)
        copy_learner_files(self._source_dir(), staged)

    def _submission_inside(self) -> str:
        return str(self.scratch / "submission")

    def _connection_file_inside(self) -> str:
        return os.path.realpath(self.connection_file)

    def kernel_env(self) -> dict[str, str]:
        """The kernel's environment: nothing of the grader's (tokens, database URLs) but PATH."""
        home = self.home()
        env = {
            "HOME": home,
            "USER": LEARNER,
            "LOGNAME": LEARNER,
            "PATH": os.pathsep.join(
                [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
            ),
            "LANG": "C.UTF-8",
            "TMPDIR": tempfile.gettempdir() if not self.sandboxed else "/tmp",
            "MPLCONFIGDIR": f"{home}/.config/matplotlib",
            "IPYTHONDIR": f"{home}/.ipython",
        }
        if "NBGRADER_EXECUTION" in os.environ:
            env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
        return env

    def _prepare_home(self) -> None:
        """Off the sandbox: the data caches appear in the scratch home through links."""
        home = Path(self.home())
        for inside, path in data_caches().items():
            link = home / inside
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(path, target_is_directory=True)

    def wrap(self, command: list[str]) -> list[str]:
        return command

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self.report_fd = read_fd
        kernel_cmd = [arg.replace("{report_fd}", str(write_fd)) for arg in kernel_cmd]
        self._stage_learner_files()
        self._prepare_home()
        kw["env"] = (
            self.kernel_env() if not self.sandboxed else {"PATH": os.environ.get("PATH", "")}
        )
        kw["cwd"] = str(self.scratch)
        info_read, info_write = os.pipe()
        kernel_cmd = [arg.replace("{info_fd}", str(info_write)) for arg in kernel_cmd]
        kw["pass_fds"] = (write_fd, info_write)
        # The kernel's own stdout and stderr (not its cells' output, which goes to the
        # notebook): kept in memory, the last lines only, so no kernel can fill a disk.
        out_read, out_write = os.pipe()
        kw["stdout"] = kw["stderr"] = out_write
        threading.Thread(target=self._keep_output, args=(out_read,), daemon=True).start()
        command = [arg.replace("{info_fd}", str(info_write)) for arg in self.wrap(kernel_cmd)]
        if self.cgroup.create():
            command = self.cgroup.command(command)
        else:
            self.log.debug("Grading kernel without a control group: %s", self.cgroup.problem)
        try:
            await super()._async_launch_kernel(command, **kw)
        finally:
            os.close(write_fd)
            os.close(out_write)
            os.close(info_write)
        with os.fdopen(info_read, "rb") as info:
            self._launched(info)

    def _launched(self, info: Any) -> None:
        """Called once the kernel's process is started (``info``: bwrap's ``--info-fd``)."""

    def files_root(self) -> str:
        """The kernel's ``/`` as the grading process sees it (its own, without a sandbox)."""
        return "/"

    def _keep_output(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            for line in stream:
                self.kernel_output.append(line[:500].decode("utf-8", "replace").rstrip())

    # ---- talking to it -----------------------------------------------------------------

    async def interrupt_kernel(self) -> None:  # type: ignore[override]
        """Interrupt by message: ipykernel then signals itself, inside its sandbox."""
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    def read_reports(self, limit: int = 1_000_000) -> list[dict[str, str]]:
        """The lines the kernel's monitor wrote since the last call, parsed."""
        if self.report_fd is None:
            return []
        chunks = [self._report_buffer]
        size = len(self._report_buffer)
        while size < limit:
            try:
                data = os.read(self.report_fd, 65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
            size += len(data)
        complete, _, self._report_buffer = b"".join(chunks).rpartition(b"\n")
        reports = []
        for line in complete.splitlines():
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError
                reports.append({k: str(v) for k, v in entry.items()})
            except ValueError:
                reports.append(
                    {
                        "kind": "attempt",
                        "what": "report",
                        "detail": "wrote its own lines on the grading report channel",
                    }
                )
        if size >= limit:
            self._report_buffer = b""
        return reports

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            if self.report_fd is not None:
                os.close(self.report_fd)
                self.report_fd = None
            self.cgroup.remove()
            shutil.rmtree(self.scratch, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class SandboxedKernelManager(GradingKernelManager):
    """A grading kernel inside bubblewrap: see the module docstring for what it sees."""

    sandboxed = True
    tmpfs_size = Integer(TMPFS_SIZE, help="Bytes of the kernel's home and of its /tmp.").tag(
        config=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = "ipc"  # TCP cannot cross into the sandbox's empty network namespace
        # The kernel binds its sockets in its own small tmpfs; the connection file says
        # where, as the kernel sees it. The grader's clients get the path through
        # /proc/<pid>/root once the sandbox is up (see _launched).
        self.ip = f"{RUNTIME}/kernel-ipc"
        etc = self.scratch / "etc"
        etc.mkdir()
        (etc / "passwd").write_text(
            f"{LEARNER}:x:{LEARNER_UID}:{LEARNER_UID}:{LEARNER}:{HOME}:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        (etc / "group").write_text(f"{LEARNER}:x:{LEARNER_UID}:\nnogroup:x:65534:\n")

    def home(self) -> str:
        return HOME

    def work_dir(self, assignment: str) -> str:
        return f"{HOME}/{assignment}"

    def _submission_inside(self) -> str:
        return SUBMISSION

    def _connection_file_inside(self) -> str:
        return CONNECTION_FILE

    def _launched(self, info: Any) -> None:
        """Point this manager's sockets at the sandbox's runtime folder, seen from outside."""
        data = b""
        while not data.rstrip().endswith(b"}"):
            chunk = info.read(4096)
            if not chunk:
                break
            data += chunk
        try:
            pid = int(json.loads(data)["child-pid"])
        except (ValueError, KeyError, TypeError) as error:
            raise RuntimeError(
                f"the grading sandbox did not start (bwrap said {data[:200]!r}); the kernel's "
                "last words: " + " | ".join(list(self.kernel_output)[-5:])
            ) from error
        self.ip = f"/proc/{pid}/root{RUNTIME}/kernel-ipc"
        self._root = f"/proc/{pid}/root"

    def files_root(self) -> str:
        return self._root

    def _prepare_home(self) -> None:
        pass  # the caches are mounted into the sandbox's home instead

    def layout(self) -> Layout:
        return Layout(
            free=(HOME, "/tmp", "/dev", "/proc", "/run/course"),
            read_only=_read_only([f"{HOME}/{inside}" for inside in data_caches()]),
            protected=self.protected,
        )

    def wrap(self, command: list[str]) -> list[str]:
        """``bwrap`` with the sandbox's mounts and environment around the launcher command."""
        args = [shutil.which("bwrap") or "bwrap", "--info-fd", "{info_fd}", "--clearenv"]
        args += [*_ISOLATION, *_system_mounts()]
        # The empty /tmp and home first: the course's own folders may live below /tmp.
        size = str(self.tmpfs_size)
        args += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        etc = self.scratch / "etc"
        args += ["--ro-bind", str(etc / "passwd"), "/etc/passwd"]
        args += ["--ro-bind", str(etc / "group"), "/etc/group"]
        bound: list[str] = []
        for root in [*python_roots(), course_utils_root()]:
            if not any(root == b or root.startswith(b.rstrip("/") + "/") for b in bound):
                args += ["--ro-bind", root, root]
                bound.append(root)
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm"]
        args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
        for inside, path in data_caches().items():
            args += ["--ro-bind", str(path), f"{HOME}/{inside}"]
        args += ["--ro-bind", str(self.scratch / "submission"), SUBMISSION]
        args += ["--ro-bind", self.connection_file, CONNECTION_FILE]
        args += ["--size", str(RUNTIME_SIZE), "--tmpfs", RUNTIME]
        # bwrap's own root is an unbounded tmpfs: read-only once everything is mounted, so
        # the sized tmpfs folders above are the only places the kernel can write.
        args += ["--remount-ro", "/"]
        for name, value in self.kernel_env().items():
            args += ["--setenv", name, value]
        args += ["--chdir", "/", "--"]
        return [*args, *command]
