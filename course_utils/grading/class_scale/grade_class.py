"""Grade a whole class in one command: every collected submission of every assignment.

    python -m course_utils.grading class [ASSIGNMENT ...] [--force] [--workers N]
        [--scheduler tcp://host:8786] [--db-url postgresql://...]      # or: make grade-class

1. Pre-flight: the sandbox works, the assignments are in the gradebook, malformed
   submissions are listed per learner.
2. What to grade: the submissions that are new or changed since they were last
   graded (a fingerprint of the learner's files and of the assignment's source),
   or all of them with ``--force``. The ledger is ``.grading/ledger.json``.
3. Autograde them, and write their feedback, on Dask workers
   (:mod:`course_utils.grading.class_scale.engine`), each notebook in its own sandbox, with a
   progress bar: notebooks done, failures, time left. A broken or hostile
   submission never stops the others; a worker that dies has its work done again
   by another.
4. ``grades.csv`` (``nbgrader export``) and the instructor's report
   (:mod:`course_utils.grading.class_scale.report`).

The gradebook is the course's (``c.CourseDirectory.db_url``, SQLite by default);
several machines grading at once need a server database: ``--db-url
postgresql://user@host/gradebook`` (and the same ``db_url`` in ``nbgrader_config.py``).

Example:
    >>> sqlite_with_timeout("sqlite:////srv/course/gradebook.db")
    'sqlite:////srv/course/gradebook.db?timeout=120'
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_utils.grading.class_scale.engine import (
    LOG,
    EngineError,
    Task,
    grade_one,
    library_messages_to,
    open_client,
    workers_can_see,
)
from course_utils.grading.host.sandbox import SANDBOX_ENV, require_sandbox, sandbox_mode
from course_utils.grading.nbgrader_steps.runner import bin_first_on_path, run_nbgrader
from course_utils.grading.nbgrader_steps.submissions import (
    Problem,
    check_submissions,
    known_assignments,
)

LEDGER = Path(".grading") / "ledger.json"


def sqlite_with_timeout(db_url: str, seconds: int = 120) -> str:
    """A SQLite URL that waits for a busy gradebook instead of failing with "database is locked"."""
    if db_url.startswith("sqlite:") and "timeout=" not in db_url:
        return db_url + ("&" if "?" in db_url else "?") + f"timeout={seconds}"
    return db_url


def course_db_url(root: Path) -> str:
    """The gradebook the course's ``nbgrader_config.py`` names (nbgrader's default: gradebook.db)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return CourseDirectory(config=config).db_url


def fingerprint(root: Path, assignment: str, student: str) -> str:
    """A hash of the learner's submitted files and of the assignment's source notebooks."""
    digest = hashlib.sha256()
    for folder in (root / "submitted" / student / assignment, root / "solutions" / assignment):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class Ledger:
    """What was graded when, from which files, and how it went: ``.grading/ledger.json``."""

    path: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Ledger:
        path = root / LEDGER
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        return cls(path, entries if isinstance(entries, dict) else {})

    def up_to_date(self, key: str, digest: str) -> bool:
        entry = self.entries.get(key, {})
        return entry.get("fingerprint") == digest and bool(entry.get("ok"))

    def record(self, result: dict[str, Any], digest: str) -> None:
        self.entries[result["key"]] = {
            "fingerprint": digest,
            "ok": result["ok"],
            "seconds": result.get("seconds"),
            "error": result.get("error"),
            "worker": result.get("worker"),
            "graded": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        scratch.replace(self.path)


class Progress:
    """One status line: notebooks done, failures, time left (rewritten in place on a terminal)."""

    def __init__(self, total: int, write: Callable[[str], None] | None = None):
        self.total, self.done, self.failed = total, 0, 0
        self.started = time.monotonic()
        self.tty = write is None and sys.stderr.isatty()
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self._last_shown = -1.0

    def line(self) -> str:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        eta = f"{left / 60:.0f} min left" if left is not None else "estimating time left"
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} notebooks, "
            f"{self.failed} not graded, {eta}"
        )

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        now = time.monotonic()
        if self.tty:
            print(
                "\r" + self.line(),
                end="" if self.done < self.total else "\n",
                file=sys.stderr,
                flush=True,
            )
        elif self.done == self.total or now - self._last_shown >= 10:
            self._last_shown = now
            self.write(self.line())


@dataclass
class ClassRun:
    """What one ``grade_class`` did."""

    graded: list[dict[str, Any]]
    skipped: list[str]
    problems: list[Problem]
    seconds: float
    report: Path | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.graded if not r["ok"]]


def _prepare_gradebook(root: Path, db_url: str, assignments: list[str], students: set[str]) -> None:
    """Every assignment and learner in the gradebook before the workers start (one writer)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        missing = []
        for assignment in assignments:
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                missing.append(assignment)
    for assignment in missing:  # as the README says: generate_assignment registers it
        _nbgrader(root, ["generate_assignment", assignment, "--force"], db_url)
    with Gradebook(db_url) as gradebook:
        for student in sorted(students):
            gradebook.update_or_create_student(student)


def _lost(task: Task, error: BaseException) -> dict[str, Any]:
    """The result of a submission whose worker died every time it was tried (Dask gave up)."""
    return {
        "key": task.key,
        "ok": False,
        "worker": "?",
        "seconds": 0.0,
        "error": (
            f"not graded: the worker grading it died every time it was tried "
            f"({type(error).__name__}: {str(error)[:300]}); the others were graded"
        ),
    }


NOT_GRADED_COLUMN = "not_graded"  # the reason, in grades.csv, for a submission not graded


def mark_not_graded(csv_path: Path, ledger: Ledger) -> int:
    """In nbgrader's ``grades.csv``, a submission that could not be graded gets an empty score
    (not a 0 an LMS would record) and its reason in the column :data:`NOT_GRADED_COLUMN`;
    returns how many were marked.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "g.csv").write_text("assignment,student_id,score,max_score\\na,ana,0.0,5.0\\n")
        >>> ledger = Ledger(folder / "l.json", {"a/ana": {"ok": False, "error": "broken JSON"}})
        >>> mark_not_graded(folder / "g.csv", ledger)
        1
        >>> print((folder / "g.csv").read_text().strip())
        assignment,student_id,score,max_score,not_graded
        a,ana,,5.0,broken JSON
    """
    import csv

    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0]) if rows else []
    if not rows or "assignment" not in fields or "student_id" not in fields:
        return 0
    marked = 0
    for row in rows:
        entry = ledger.entries.get(f"{row['assignment']}/{row['student_id']}")
        row[NOT_GRADED_COLUMN] = ""
        if entry is not None and not entry.get("ok"):
            row["score"] = ""
            row[NOT_GRADED_COLUMN] = str(entry.get("error") or "not graded")
            marked += 1
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*fields, NOT_GRADED_COLUMN])
        writer.writeheader()
        writer.writerows(rows)
    return marked


def _nbgrader(root: Path, args: list[str], db_url: str) -> None:
    result = run_nbgrader(args, root, timeout=1800, db_url=db_url)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def _settings(
    root: Path,
    assignments: list[str] | None,
    scheduler: str | None,
    db_url: str | None,
    say: Callable[[str], None],
) -> tuple[list[str], str, str]:
    """The assignments to grade, the sandbox mode and the gradebook URL, checked."""
    known = known_assignments(root)
    assignments = assignments or [a for a in known if any((root / "submitted").glob(f"*/{a}"))]
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise ValueError(f"no such assignment: {', '.join(unknown)} (known: {', '.join(known)})")
    mode = sandbox_mode()
    if mode == "on":
        require_sandbox()
    else:
        say(f"WARNING: {SANDBOX_ENV}=off: grading WITHOUT the sandbox.")
    db_url = sqlite_with_timeout(db_url or course_db_url(root))
    if scheduler and db_url.startswith("sqlite:"):
        say(
            "WARNING: several machines writing one SQLite gradebook over a network filesystem can "
            "corrupt it: give --db-url postgresql://... (and the same db_url in nbgrader_config.py)."
        )
    return assignments, mode, db_url


def _plan(
    root: Path, assignments: list[str], ledger: Ledger, force: bool
) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
    """Each submission's fingerprint, those to grade (new or changed) and those unchanged."""
    pairs = sorted(
        (folder.name, folder.parent.name)
        for a in assignments
        for folder in (root / "submitted").glob(f"*/{a}")
        if folder.is_dir()
    )
    digests = {f"{a}/{s}": fingerprint(root, a, s) for a, s in pairs}
    todo = [
        (a, s) for a, s in pairs if force or not ledger.up_to_date(f"{a}/{s}", digests[f"{a}/{s}"])
    ]
    skipped = sorted(set(digests) - {f"{a}/{s}" for a, s in todo})
    return digests, todo, skipped


def _grade_on_dask(
    tasks: list[Task],
    scheduler: str | None,
    workers: int | None,
    grade: Callable[[Task], dict[str, Any]],
    record: Callable[[dict[str, Any]], None],
    say: Callable[[str], None],
) -> None:
    """Each task graded by a Dask worker; each result recorded as it comes (a submission
    whose worker died every time it was tried is recorded as not graded)."""
    from distributed import as_completed

    root = tasks[0].root
    client = open_client(scheduler, workers)
    try:
        blind = workers_can_see(client, root)
        if blind:
            raise EngineError(
                f"these workers cannot see the course folder {root}: {', '.join(blind)}. "
                "Mount it at the same path on every grading machine."
            )
        n_workers = len(client.scheduler_info()["workers"])
        say(f"Grading on {n_workers} Dask worker(s){' at ' + scheduler if scheduler else ''}.")
        keys = [f"grade-{t.key}-{time.time_ns()}" for t in tasks]
        futures = client.map(grade, tasks, key=keys, pure=False)
        task_of = dict(zip(keys, tasks, strict=True))
        for future in as_completed(futures):
            try:
                record(future.result())
            except Exception as error:  # its worker died each time it was tried
                record(_lost(task_of[future.key], error))
    finally:
        client.close()
        cluster = getattr(client, "cluster", None)
        if cluster is not None:
            cluster.close()


def grade_class(
    root: Path | str = ".",
    assignments: list[str] | None = None,
    *,
    force: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    db_url: str | None = None,
    feedback: bool = True,
    report: bool = True,
    say: Callable[[str], None] = print,
    progress: Callable[[str], None] | None = None,
    grade: Callable[[Task], dict[str, Any]] = grade_one,
) -> ClassRun:
    """Grade every new or changed submission of ``assignments`` (all of them by default).

    ``grade`` is what a worker runs for one submission (tests pass a stand-in that fails)."""
    started = time.monotonic()
    os.environ["PATH"] = bin_first_on_path(os.environ.get("PATH", ""))  # nbgrader runs alembic
    root = Path(root).resolve()
    assignments, mode, db_url = _settings(root, assignments, scheduler, db_url, say)
    problems = [p for a in assignments for p in check_submissions(root, a)]
    for problem in problems:
        say(f"PROBLEM {problem}")
    ledger = Ledger.load(root)
    digests, todo, skipped = _plan(root, assignments, ledger, force)
    say(
        f"{len(digests)} submission(s) of {len(assignments)} assignment(s): {len(todo)} to grade, "
        f"{len(skipped)} unchanged since last graded."
    )

    graded: list[dict[str, Any]] = []
    if todo:
        bar = Progress(len(todo), progress)

        def record(result: dict[str, Any]) -> None:
            graded.append(result)
            ledger.record(result, digests[result["key"]])
            ledger.save()
            bar.update(result["ok"])

        say(f"Library messages (Dask, nbgrader, SQLAlchemy) go to {root / LOG}.")
        with library_messages_to(root / LOG):
            _prepare_gradebook(root, db_url, assignments, {s for _, s in todo})
            tasks = [Task(str(root), a, s, db_url, mode, feedback) for a, s in todo]
            _grade_on_dask(tasks, scheduler, workers, grade, record, say)
    for result in graded:
        if not result["ok"]:
            say(f"NOT GRADED {result['key']}: {result['error']}")
    if graded:
        _nbgrader(root, ["export", "--to", str(root / "grades.csv")], db_url)
        mark_not_graded(root / "grades.csv", ledger)
    run = ClassRun(graded, skipped, problems, round(time.monotonic() - started, 1))
    if report:
        from course_utils.grading.class_scale.report import gather, write_report

        results = {key: entry for key, entry in ledger.entries.items()}
        run.report = write_report(root, gather(root, db_url, assignments, results))
        say(f"Report: {run.report}")
    say(
        f"Graded {len(graded) - len(run.failed)} notebook(s), {len(run.failed)} not graded, "
        f"{len(skipped)} unchanged, in {run.seconds:.0f} s."
    )
    return run
