"""Grading a whole class in one command: the same grades as nbgrader, on one machine or many.

A small class (right, wrong, untouched, broken and cheating learners) submits two
fixture assignments. The class command must give exactly the grades that plain
``nbgrader autograde`` gives, one assignment after another; with a real Dask
scheduler, two workers and PostgreSQL too; and when a worker is killed in the
middle, its submission is graded again elsewhere, once. Then the nbgrader
exchange, end to end: release, fetch and submit as two learners, collect, grade,
release and fetch the feedback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from course_utils.grading.class_scale.grade_class import LEDGER, grade_class
from course_utils.grading.host.sandbox import sandbox_problem
from course_utils.grading.nbgrader_steps.runner import nbgrader_env, run_nbgrader
from course_utils.grading.testing import Course
from helpers import FIXTURES, prepend, replace_answer

pytestmark = pytest.mark.slow

ASSIGNMENTS = ["00_fixture", "00_second"]
POSTGRES = os.environ.get("COURSE_TEST_POSTGRES_URL")  # .ci/run starts a server and sets it
# A cheat: hides its tracebacks (which changes nothing the judge decides) and looks for the
# instructor's files in root's home (an attempt the sandbox reports).
HIDE = (
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "InteractiveShell.showtraceback = lambda *a, **k: None\n"
    "import os\n"
    "try:\n"
    "    open('/root/solutions.ipynb').read()\n"
    "except OSError:\n"
    "    pass\n"
)

if sandbox_problem():
    pytest.skip(
        f"the grading sandbox cannot run here: {sandbox_problem()}", allow_module_level=True
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two assignments made from the fixture: 00_fixture and a copy named 00_second."""
    folder = tmp_path_factory.mktemp("sources")
    shutil.copytree(FIXTURES / "00_fixture", folder / "00_fixture")
    (folder / "00_second").mkdir()
    shutil.copy(
        FIXTURES / "00_fixture" / "00_fixture.ipynb", folder / "00_second" / "00_second.ipynb"
    )
    return folder


def _wrong(notebook):
    return replace_answer(notebook, "double", "def double(x):\n    return x")


def _submit_class(course: Course, extra_sleep: float = 0) -> None:
    for assignment in course.assignments:
        solved, release = course.solved(assignment), course.release(assignment)
        if extra_sleep:
            solved = prepend(solved, "double", f"import time\ntime.sleep({extra_sleep})\n")
        course.submit("right", assignment, solved)
        course.submit("wrong", assignment, _wrong(solved))
        course.submit("untouched", assignment, release)
        course.submit("broken", assignment, raw='{"cells": [ not json')
        course.submit("cheat", assignment, prepend(_wrong(solved), "double", HIDE))


def _scores(course: Course, db_url: str | None = None) -> dict[tuple[str, str], dict[str, float]]:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(db_url or f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        for assignment in course.assignments:
            for student in ("right", "wrong", "untouched", "broken", "cheat"):
                try:
                    notebook = gradebook.find_submission_notebook(assignment, assignment, student)
                except MissingEntry:
                    continue
                grades = {g.name: float(g.score) for g in notebook.grades}
                if (course.root / "autograded" / student / assignment).exists():
                    scores[(assignment, student)] = grades
    return scores


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, sources):
    """The reference: plain nbgrader autograde, one assignment after another."""
    course = Course(tmp_path_factory.mktemp("sequential"), ASSIGNMENTS, sources=sources)
    _submit_class(course)
    for assignment in ASSIGNMENTS:
        course.autograde(assignment)  # exits 1: the broken notebook cannot be graded
    return _scores(course)


def test_the_reference_grades_are_what_they_should_be(sequential, sources):
    full = {"double_tests": 1.0, "mean_tests": 2.0, "standardize_tests": 2.0}
    for assignment in ASSIGNMENTS:
        assert sequential[(assignment, "right")] == full
        assert sequential[(assignment, "wrong")] == {**full, "double_tests": 0.0}
        assert sum(sequential[(assignment, "untouched")].values()) == 0
        # the judge decides: the cheat scores exactly what its wrong answer scores
        assert sequential[(assignment, "cheat")] == sequential[(assignment, "wrong")]
        assert (assignment, "broken") not in sequential


def test_class_command_gives_the_same_grades_and_grades_only_what_changed(
    tmp_path, sources, sequential, capfd
):
    course = Course(tmp_path / "course", ASSIGNMENTS, sources=sources)
    _submit_class(course)
    lines: list[str] = []
    run = grade_class(course.root, workers=2, say=lines.append, progress=lines.append)
    assert _scores(course) == sequential
    assert {r["key"] for r in run.failed} == {f"{a}/broken" for a in ASSIGNMENTS}
    assert any("notebooks, 2 not graded" in line for line in lines), lines  # the progress bar
    # the instructor's outputs
    rows = (course.root / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(ASSIGNMENTS) * 5
    import csv

    with (course.root / "grades.csv").open(newline="") as handle:
        table = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    for assignment in ASSIGNMENTS:  # a damaged file is not a zero an LMS would record
        assert table[(assignment, "broken")]["score"] == ""
        assert table[(assignment, "broken")]["not_graded"], table[(assignment, "broken")]
        assert table[(assignment, "untouched")]["score"] == "0.0"
        assert table[(assignment, "untouched")]["not_graded"] == ""
    assert (course.root / "feedback" / "right" / "00_fixture" / "00_fixture.html").is_file()
    # the screen shows the grading, not library warnings (SQLAlchemy's, Dask's): those go to a log
    out, err = capfd.readouterr()
    noise = [
        line for line in (out + err).splitlines() if "Warning" in line or "still alive" in line
    ]
    assert not noise, noise[:5]
    assert (course.root / ".grading" / "grading.log").is_file()
    page = run.report.read_text()
    for expected in ("scores.png", "pass_rates.png", "grading_time.png", "broken", "cheat"):
        assert expected in page, expected
    assert all(
        (run.report.parent / png).stat().st_size > 1000 for png in ("scores.png", "pass_rates.png")
    )
    # again: nothing changed, nothing is graded but the broken ones; then one learner resubmits
    again = grade_class(course.root, workers=1, say=lines.append, report=False)
    assert {r["key"] for r in again.graded} == {f"{a}/broken" for a in ASSIGNMENTS}
    course.submit("wrong", "00_fixture", course.solved("00_fixture"))
    third = grade_class(course.root, workers=1, say=lines.append, report=False)
    assert {r["key"] for r in third.graded} == {"00_fixture/wrong"} | {
        f"{a}/broken" for a in ASSIGNMENTS
    }
    assert course.total("wrong", "00_fixture") == 5
    forced = grade_class(
        course.root, ["00_second"], workers=1, force=True, say=lines.append, report=False
    )
    assert len(forced.graded) == 5


class DaskCluster:
    """A real ``dask scheduler`` and ``dask worker`` processes on this machine."""

    def __init__(self, folder: Path, workers: int):
        self.file = folder / "scheduler.json"
        dask = str(Path(sys.executable).parent / "dask")
        env = nbgrader_env()
        self.scheduler = subprocess.Popen(
            [
                dask,
                "scheduler",
                "--scheduler-file",
                str(self.file),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.file.exists():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    f"grader-{i}",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(workers)
        ]
        from distributed import Client

        self.client = Client(self.address, timeout="30s")
        self.client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        self.client.close()
        for process in [*self.workers, self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture
def postgres_url():
    if not POSTGRES:
        pytest.skip("COURSE_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)")
    import psycopg

    name = f"gradebook_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_dask_cluster_and_postgresql_give_the_same_grades(
    tmp_path, sources, sequential, postgres_url
):
    course = Course(tmp_path / "course", ASSIGNMENTS, sources=sources)
    _submit_class(course)
    cluster = DaskCluster(tmp_path, workers=2)
    try:
        run = grade_class(course.root, scheduler=cluster.address, db_url=postgres_url, say=print)
    finally:
        cluster.close()
    assert _scores(course, postgres_url) == sequential
    assert {r["key"] for r in run.failed} == {f"{a}/broken" for a in ASSIGNMENTS}
    assert len({r["worker"] for r in run.graded}) == 2, "both workers graded"


# Dask keys of the submissions that _submit_class(extra_sleep=...) makes slow
SLOW_TASKS = tuple(f"grade-{a}/{s}-" for a in ASSIGNMENTS for s in ("right", "wrong", "cheat"))


def test_a_killed_worker_loses_no_submission(tmp_path, sources, postgres_url):
    course = Course(tmp_path / "course", ASSIGNMENTS, sources=sources)
    _submit_class(course, extra_sleep=4)  # long enough to be caught in the middle
    cluster = DaskCluster(tmp_path, workers=2)
    outcome: dict = {}
    grading = threading.Thread(
        target=lambda: outcome.update(
            run=grade_class(
                course.root, scheduler=cluster.address, db_url=postgres_url, report=False, say=print
            )
        )
    )
    try:
        grading.start()
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            busy = cluster.client.processing()
            for address, keys in busy.items():
                # only a submission that sleeps is sure to be still running when the kill
                # lands: a broken one is refused in milliseconds, its result already in
                slow = [str(k) for k in keys if str(k).startswith(SLOW_TASKS)]
                if slow:
                    info = cluster.client.scheduler_info()["workers"][address]
                    victim = (address, slow[0], info["name"])
                    break
            time.sleep(0.2)
        assert victim, "no worker ever took a submission"
        address, key, name = victim
        index = int(str(name).rsplit("-", 1)[1])
        cluster.workers[index].send_signal(signal.SIGKILL)
        grading.join(timeout=900)
        assert not grading.is_alive(), "the class was not finished after a worker died"
    finally:
        cluster.close()
    run = outcome["run"]
    ledger = json.loads((course.root / LEDGER).read_text())
    assert set(ledger) == {
        f"{a}/{s}" for a in ASSIGNMENTS for s in ("right", "wrong", "untouched", "broken", "cheat")
    }
    lost = key.split("-", 1)[1].rsplit("-", 1)[0]  # grade-<assignment>/<student>-<n>
    assert ledger[lost]["worker"] != address, (
        "the killed worker's submission was not regraded elsewhere"
    )
    assert ledger[lost]["ok"], ledger[lost]
    assert len(run.graded) == len(ledger)
    from nbgrader.api import Gradebook

    with Gradebook(postgres_url) as gradebook:
        for assignment in ASSIGNMENTS:
            students = [s.student_id for s in gradebook.assignment_submissions(assignment)]
            assert sorted(students) == sorted(set(students)), "a submission was counted twice"
    full = 5.0
    scores = _scores(course, postgres_url)
    assert sum(scores[("00_fixture", "right")].values()) == full
    assert sum(scores[("00_second", "right")].values()) == full


def test_a_submission_that_kills_its_worker_every_time_is_not_graded(tmp_path, sources):
    """Dask gives up on a task whose workers all died (KilledWorker): that learner is "not
    graded", with the reason in grades.csv, and the rest of the class is graded."""
    import csv

    from helpers import grade_or_die

    course = Course(tmp_path / "course", ["00_fixture"], sources=sources)
    course.submit("right", "00_fixture", course.solved("00_fixture"))
    course.submit("killer", "00_fixture", course.solved("00_fixture"))
    lines: list[str] = []
    run = grade_class(course.root, workers=1, say=lines.append, report=False, grade=grade_or_die)
    assert [r["key"] for r in run.failed] == ["00_fixture/killer"]
    assert "died every time it was tried" in run.failed[0]["error"]
    assert any(line.startswith("NOT GRADED 00_fixture/killer") for line in lines), lines
    assert course.total("right", "00_fixture") == 5
    with (course.root / "grades.csv").open(newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["killer"]["score"] == "" and "died" in rows["killer"]["not_graded"]
    assert float(rows["right"]["score"]) == 5 and rows["right"]["not_graded"] == ""


def test_the_exchange_round_trip(tmp_path, sources):
    """release -> fetch and submit as two learners -> collect -> class -> feedback -> fetch_feedback."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    course = Course(tmp_path / "course", ["00_fixture"], sources=sources)
    config = course.root / "nbgrader_config.py"
    config.write_text(
        config.read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n"
        "c.CourseDirectory.course_id = 'dl-fundamentals'\n"
    )
    course.check(course.run(["release_assignment", "00_fixture", "--force"]))
    homes = {}
    for learner in ("ana", "ben"):
        home = homes[learner] = tmp_path / learner
        home.mkdir()
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
            "c.CourseDirectory.course_id = 'dl-fundamentals'\n"
        )
        env = nbgrader_env(USER=learner, LOGNAME=learner, HOME=str(home))
        Course.check(run_nbgrader(["fetch_assignment", "00_fixture"], home, env=env))
        path = home / "00_fixture" / "00_fixture.ipynb"
        notebook = (
            course.solved("00_fixture") if learner == "ana" else _wrong(course.solved("00_fixture"))
        )
        nbformat.write(notebook, path)
        # on a JupyterHub the learner's user name; here two learners share one OS user
        Course.check(run_nbgrader(["submit", "00_fixture", "--student", learner], home, env=env))
    course.check(course.run(["collect", "00_fixture"]))
    run = grade_class(course.root, say=print, report=False)
    assert not run.failed
    assert course.total("ana", "00_fixture") == 5 and course.total("ben", "00_fixture") == 4
    course.check(course.run(["release_feedback", "00_fixture"]))
    for learner, score in (("ana", "5.0"), ("ben", "4.0")):
        home = homes[learner]
        env = nbgrader_env(USER=learner, LOGNAME=learner, HOME=str(home))
        Course.check(
            run_nbgrader(["fetch_feedback", "00_fixture", "--student", learner], home, env=env)
        )
        pages = list((home / "00_fixture" / "feedback").rglob("00_fixture.html"))
        assert pages, f"{learner} received no feedback"
        shown = re.search(r"Score:\s*([\d.]+)", pages[0].read_text())
        assert shown and shown.group(1) == score
