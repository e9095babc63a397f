"""Where the class's notebooks are graded: Dask workers on this machine or on the instructor's cluster.

By default :func:`open_client` starts a ``LocalCluster`` with one single-threaded
worker process per core (nothing to set up). With a scheduler address it sends
the work to a Dask cluster the instructor already runs::

    dask scheduler                                 # on one machine
    dask worker tcp://scheduler-host:8786          # on each grading machine, as the instructor,
                                                   # with the course folder mounted at the same path

Every worker grades in its own process, one notebook at a time, each notebook in
its own sandbox; :func:`grade_one` is what a worker runs for one learner-notebook.

Example:
    >>> task = Task("/srv/course", "01_data_preprocessing", "ana", "sqlite:////srv/course/gradebook.db")
    >>> task.key
    '01_data_preprocessing/ana'
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_utils.grading.contract import NOT_GRADED
from course_utils.grading.nbgrader_steps.runner import bin_first_on_path
from course_utils.grading.nbgrader_steps.submissions import read_notebook_json

LOG = ".grading/grading.log"  # in the course folder: library warnings, not the instructor's screen
_LOGGERS = ("py.warnings", "distributed", "nbgrader", "traitlets", "alembic", "sqlalchemy")


@contextlib.contextmanager
def library_messages_to(path: Path) -> Iterator[None]:
    """Send library warnings and log lines (SQLAlchemy's, Dask's, nbgrader's) to the file
    ``path`` while the block runs, so the instructor's screen shows the grading, not them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s: %(message)s"))
    saved = {}
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.propagate)
        logger.handlers, logger.propagate = [handler], False
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once, into the log
            yield
    finally:
        logging.captureWarnings(False)
        for name, (handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate
        handler.close()


class EngineError(RuntimeError):
    """The grading cluster cannot do the work (unreachable, or cannot see the course)."""


@dataclass(frozen=True)
class Task:
    """One learner's submission of one assignment, to autograde (and give feedback on)."""

    root: str
    assignment: str
    student: str
    db_url: str
    sandbox: str = "on"
    feedback: bool = True

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student}"


def _api(root: str, db_url: str, sandbox: str):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    config.CourseDirectory.root = root
    config.CourseDirectory.db_url = db_url
    config.GradingExecute.sandbox = sandbox  # passed in, not through the environment
    return NbGraderAPI(CourseDirectory(config=config), config=config)


_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception)): (.+)")


def _last_error(result: dict[str, Any]) -> str:
    """The most telling line of a failed nbgrader run: the not-graded message, else the exception."""
    lines = (result.get("log") or "").splitlines() + (result.get("error") or "").splitlines()
    for line in reversed(lines):
        if NOT_GRADED in line:
            return line.strip()[:500]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line.strip()[:500]
    return "nbgrader could not grade it (see the grading log)"


def _unreadable(root: str, assignment: str, student: str) -> str | None:
    """Why the learner's notebooks cannot be graded at all, or None."""
    folder = Path(root, "submitted", student, assignment)
    for path in sorted(Path(root, "notebooks", assignment).glob("*.ipynb")):
        submitted = folder / path.name
        if not submitted.exists():
            continue  # nbgrader gives a missing notebook 0
        _, error = read_notebook_json(submitted)
        if error:
            return f"{path.name} {error}"
    return None


def _worker_name() -> str:
    """This Dask worker's address, or the host's name outside Dask."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return socket.gethostname()


def grade_one(task: Task) -> dict[str, Any]:
    """Autograde one submission (and write its feedback) on this worker; never raises.

    Returns ``{"key", "ok", "seconds", "worker", "error"}``. A submission that cannot
    be graded (broken notebook, no data on the grading machine) is ``ok=False`` with
    the reason; the others are unaffected.
    """
    started = time.monotonic()
    result: dict[str, Any] = {"key": task.key, "worker": _worker_name(), "error": None}
    if not Path(task.root, "nbgrader_config.py").is_file():
        result.update(
            ok=False,
            seconds=0.0,
            error=(
                f"the worker on {socket.gethostname()} cannot see the course folder {task.root}: "
                "mount it at the same path on every grading machine (a shared filesystem)"
            ),
        )
        return result
    unreadable = _unreadable(task.root, task.assignment, task.student)
    if unreadable:
        result.update(ok=False, seconds=0.0, error=f"not graded: {unreadable}")
        return result
    os.environ["PATH"] = bin_first_on_path(os.environ.get("PATH", ""))  # nbgrader runs alembic
    try:
        with library_messages_to(Path(task.root, LOG)):
            ok = _autograde(task, result)
    except Exception as exc:  # the grading machine's fault, reported per submission
        ok = False
        result["error"] = f"{type(exc).__name__}: {exc}"[:500]
    result.update(ok=ok, seconds=round(time.monotonic() - started, 2))
    return result


def _autograde(task: Task, result: dict[str, Any]) -> bool:
    """nbgrader's autograde (and feedback) of one submission, through its API."""
    api = _api(task.root, task.db_url, task.sandbox)
    graded = api.autograde(task.assignment, task.student, force=True, create=True)
    ok = bool(graded.get("success"))
    if ok and task.feedback:
        feedback = api.generate_feedback(task.assignment, task.student, force=True)
        if not feedback.get("success"):
            result["error"] = "graded, but the feedback failed: " + _last_error(feedback)
    elif not ok:
        result["error"] = _last_error(graded)
    return ok


def open_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: on the given scheduler, or on a new LocalCluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the course
        raise EngineError(
            f"Dask is not installed ({exc}): pip install 'dask[distributed]'"
        ) from exc
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except OSError as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}). Start one with "
                "`dask scheduler` and workers with `dask worker <address>`."
            ) from exc
    import dask

    # One submission at a time on each worker, the others wait at the scheduler: a worker
    # that dies (a submission that crashes it) takes no one else's submission with it.
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    return Client(cluster)


def workers_can_see(client, root: str) -> list[str]:
    """The workers that cannot see the course folder at ``root`` (a list of their addresses)."""
    seen = client.run(lambda: Path(root, "nbgrader_config.py").is_file())
    return sorted(address for address, ok in seen.items() if not ok)
