"""Fast, in-process tests of each grading piece, in nbgrader's own style: tiny notebooks,
``preprocess(nb, resources)``, no kernel. The slow suites (test_grading_robustness.py,
test_grading_sandbox.py) are the end-to-end proof with real nbgrader runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_utils import data
from course_utils.grading import cli
from course_utils.grading.contract import NOT_RUN_ERROR
from course_utils.grading.host import sandbox
from course_utils.grading.layout import Layout
from course_utils.grading.learner_kernel import monitor
from course_utils.grading.nbgrader_steps import pipeline, preprocessors
from course_utils.grading.nbgrader_steps.budget import TimeBudget
from course_utils.grading.nbgrader_steps.execute import GradingExecute
from course_utils.grading.nbgrader_steps.preprocessors import GradingEnvironmentError
from course_utils.grading.nbgrader_steps.submissions import (
    UnknownAssignmentError,
    check_submissions,
)
from course_utils.grading.nbgrader_steps.validate import Result, plain, report


def _test_cell(grade_id, source="pass", points=1, outputs=()):
    cell = new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade": True,
                "solution": False,
                "grade_id": grade_id,
                "points": points,
                "locked": True,
            }
        },
    )
    cell.outputs = list(outputs)
    return cell


def _answer_cell(grade_id, source="x = 1"):
    return new_code_cell(
        source, metadata={"nbgrader": {"grade": False, "solution": True, "grade_id": grade_id}}
    )


# --------------------------------------------------------------------------- #
# The pipeline is nbgrader's, with the course's substitutions
# --------------------------------------------------------------------------- #


def test_autograde_pipeline_keeps_every_nbgrader_default():
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    steps = pipeline.autograde_preprocessors()
    assert Execute not in steps
    assert [s for s in steps if s in defaults] == [s for s in defaults if s is not Execute]
    names = [s.__name__ for s in steps]
    assert (
        names.index("GradingExecute")
        < names.index("RequireCourseData")
        < names.index("SaveAutoGrades")
    )
    assert names.index("MoveStderrToStdout") < names.index("SaveAutoGrades")


def test_sanitizing_and_feedback_pipelines():
    sanitize = [s.__name__ for s in pipeline.sanitize_preprocessors()]
    assert "DropDuplicateIds" in sanitize and "DeduplicateIds" not in sanitize
    assert sanitize.index("DropDuplicateIds") < sanitize.index("OverwriteCells")
    feedback = [s.__name__ for s in pipeline.feedback_preprocessors()]
    assert feedback.index("RedactHiddenTests") < feedback.index("ClearHiddenTests")


def test_a_changed_nbgrader_default_stops_grading_with_a_clear_error():
    class Gone:
        pass

    with pytest.raises(pipeline.PipelineError, match="no longer contains Gone"):
        pipeline._substitute([int, str], {Gone: [float]}, "autograding pipeline")


def test_configure_sets_the_grading_settings():
    from traitlets.config import Config

    c = Config()
    pipeline.configure(c)
    assert c.Execute.timeout == pipeline.CELL_TIMEOUT
    assert c.GradingExecute.total_timeout == pipeline.NOTEBOOK_TIMEOUT
    assert c.OverwriteCells.add_missing_cells is True
    assert any("prepare_kernel()" in arg for arg in c.Execute.extra_arguments)


# --------------------------------------------------------------------------- #
# GradingExecute: the budget (a controlled clock), verdicts, reports
# --------------------------------------------------------------------------- #


@pytest.fixture
def executor():
    now = [0.0]
    ex = GradingExecute(timeout=20, total_timeout=60)
    ex.clock = lambda: now[0]
    ex.budget = TimeBudget(60, clock=ex.clock)
    ex.budget.start()
    ex._first_cell_at = 0.0  # as if the kernel (and the judge) were up: none is started here
    ex.nb = new_notebook(cells=[_test_cell("a_tests"), _answer_cell("b"), _test_cell("b_tests")])
    ex.resources = {}
    return ex, now


def test_each_cell_gets_its_timeout_cut_to_the_budget_left(executor):
    ex, now = executor
    assert ex.cell_timeout(None) == 20
    now[0] = 50
    assert ex.cell_timeout(None) == 10
    now[0] = 59.5
    assert ex.cell_timeout(None) == 1
    ex.budget.stop()  # outside a notebook run: the plain per-cell timeout
    assert ex.cell_timeout(None) == 20


def test_once_the_budget_is_spent_nothing_more_runs(executor):
    ex, now = executor
    now[0] = 61
    cell, _ = ex.preprocess_cell(ex.nb.cells[0], {}, 0)  # no kernel: it must not try to run
    assert [o.ename for o in cell.outputs] == [NOT_RUN_ERROR]
    assert "time budget (60 s)" in cell.outputs[0].evalue
    assert ex.incidents[0]["kind"] == "stopped"


def test_reports_are_incidents_and_never_change_a_verdict(executor):
    """What the learner's kernel reports (or forges) is recorded for the instructor only."""
    ex, _ = executor

    class FakeKernel:
        def read_reports(self):
            return [
                {"kind": "attempt", "what": "network", "detail": "tried to connect"},
                {"kind": "attempt", "what": "report", "detail": "wrote its own lines"},
            ]

    ex.km = FakeKernel()
    before = [dict(cell) for cell in ex.nb.cells]
    ex._collect(0)
    assert [(i["kind"], i["detail"]) for i in ex.incidents] == [
        ("attempt", "tried to connect"),
        ("attempt", "wrote its own lines"),
    ]
    assert [dict(cell) for cell in ex.nb.cells] == before  # no output added, no score changed


def test_without_the_instructors_notebook_nothing_is_graded():
    """The judge needs the source notebook's setup cell: missing, it is the grader's problem."""
    ex = GradingExecute()
    nb = new_notebook(cells=[_test_cell("a_tests")])
    resources = {"nbgrader": {"assignment": "nowhere", "notebook": "nothing", "student": "ana"}}
    with pytest.raises(GradingEnvironmentError, match="Not graded: learner 'ana'.*source notebook"):
        ex.preprocess(nb, resources)


class _StandInJudge:
    """The judge's kernel, as far as starting and stopping it goes."""

    def __init__(self, events, fails=False):
        self.events, self.fails = events, fails

    async def launch(self, cwd):
        self.events.append("judge launching")
        await asyncio.sleep(0.05)
        if self.fails:
            raise RuntimeError("the judge's kernel did not start")
        self.events.append("judge up")

    async def stop(self):
        self.events.append("judge stopped")


class _StandInLearnerKernel:
    def __init__(self, events, fails=False):
        self.events, self.fails, self.has_kernel = events, fails, False

    async def start_kernel(self, **kwargs):
        self.events.append("learner launching")
        await asyncio.sleep(0)
        if self.fails:
            raise RuntimeError("the learner's kernel did not start")
        self.has_kernel = True
        self.events.append("learner up")

    async def shutdown_kernel(self, now=False):
        self.events.append("learner stopped")


@pytest.mark.parametrize("failing", ["learner", "judge"])
def test_the_judges_kernel_starts_beside_the_learners_and_a_failed_start_leaves_none(
    failing, monkeypatch, tmp_path
):
    """Both kernels start at once (the judge's needs nothing of the learner's); if either fails
    to start, the error is raised only once both starts are over, and nothing is left running."""
    from course_utils.grading.nbgrader_steps import execute

    events: list[str] = []
    monkeypatch.setattr(
        execute, "Judge", lambda *args: _StandInJudge(events, fails=failing == "judge")
    )
    ex = GradingExecute()
    ex.create_kernel_manager = lambda: _StandInLearnerKernel(events, fails=failing == "learner")
    nb = new_notebook(cells=[_answer_cell("a"), _test_cell("a_tests")])
    with pytest.raises(RuntimeError, match=f"the {failing}'s kernel did not start"):
        ex._run(nb, {"metadata": {"path": str(tmp_path)}}, None, set())
    assert events[:2] == ["learner launching", "judge launching"]  # side by side
    assert events[-1] == "judge stopped"  # after its launch ended: no process started late
    if failing == "judge":
        assert "learner up" in events and "learner stopped" in events
    else:
        assert "judge up" in events and "learner stopped" not in events


# --------------------------------------------------------------------------- #
# The smaller preprocessors
# --------------------------------------------------------------------------- #


def test_drop_duplicate_ids_keeps_the_last_copy_graded():
    first, copy = _test_cell("t", "pass"), _test_cell("t", "check(x)")
    nb = new_notebook(cells=[first, copy])
    nb, _ = preprocessors.DropDuplicateIds().preprocess(nb, {})
    assert "nbgrader" not in nb.cells[0].metadata  # an ordinary cell now, not an empty entry
    assert nb.cells[1].metadata.nbgrader.grade_id == "t"


def test_move_stderr_to_stdout_only_in_graded_cells():
    graded = _test_cell("t", outputs=[new_output("stream", name="stderr", text="warning\n")])
    plain_cell = new_code_cell("x")
    plain_cell.outputs = [new_output("stream", name="stderr", text="warning\n")]
    nb = new_notebook(cells=[graded, plain_cell])
    nb, _ = preprocessors.MoveStderrToStdout().preprocess(nb, {})
    assert nb.cells[0].outputs[0].name == "stdout"
    assert nb.cells[0].outputs[0].text == "[stderr] warning\n"
    assert nb.cells[1].outputs[0].name == "stderr"


def test_require_course_data_names_the_learner_and_grades_nothing():
    assert preprocessors.DATA_ERRORS == {
        data.DataUnavailableError.__name__,
        data.DataCorruptError.__name__,
    }
    error = new_output(
        "error", ename="DataCorruptError", evalue="train-images damaged", traceback=[]
    )
    nb = new_notebook(cells=[_test_cell("t", outputs=[error])])
    resources = {"nbgrader": {"student": "ana", "notebook": "01"}}
    with pytest.raises(preprocessors.GradingEnvironmentError, match="Not graded: learner 'ana'"):
        preprocessors.RequireCourseData().preprocess(nb, resources)
    fine = new_notebook(cells=[_test_cell("t")])
    assert preprocessors.RequireCourseData().preprocess(fine, resources)[0] is fine


def test_hidden_test_lines_are_removed_from_every_output():
    test = _test_cell(
        "t", "check(a)\n### BEGIN HIDDEN TESTS\ncheck(f(1234567), 98765)\n### END HIDDEN TESTS"
    )
    leak = new_code_cell("print(In)")
    leak.outputs = [
        new_output("stream", name="stdout", text="['x', 'check(f(1234567), 98765)']"),
        new_output("execute_result", data={"text/plain": "check(f(1234567), 98765)"}),
    ]
    nb, _ = preprocessors.RedactHiddenTests().preprocess(new_notebook(cells=[test, leak]), {})
    assert "1234567" not in json.dumps(nb.cells[1].outputs)
    assert preprocessors.REDACTED in nb.cells[1].outputs[0].text


# --------------------------------------------------------------------------- #
# Submissions and the command line
# --------------------------------------------------------------------------- #


def test_check_of_an_unknown_assignment_fails(tmp_path, capsys):
    (tmp_path / "notebooks" / "01_data_preprocessing").mkdir(parents=True)
    with pytest.raises(UnknownAssignmentError, match="known: 01_data_preprocessing"):
        check_submissions(tmp_path, "01_data_preprocesing")
    assert cli.main(["check", "01_data_preprocesing", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: there is no assignment '01_data_preprocesing'" in out
    assert "0 submission(s) checked" not in out


def test_incidents_command_lists_what_was_recorded(tmp_path, capsys):
    folder = tmp_path / "autograded" / "ana" / "01"
    folder.mkdir(parents=True)
    nb = new_notebook(cells=[])
    nb.metadata["course_grading"] = {
        "sandbox": "on",
        "incidents": [{"kind": "attempt", "cell": "t", "detail": "tried to read /root"}],
    }
    nbformat.write(nb, folder / "01.ipynb")
    assert cli.main(["incidents", "--root", str(tmp_path)]) == 1
    assert "ATTEMPT ana, 01, t: tried to read /root" in capsys.readouterr().out


def test_validate_report_is_plain_text_with_exercise_and_points():
    results = [
        Result("a_tests", 2, "failed", "AssertionError: x: expected 1, got 2"),
        Result("b_tests", 1, "not attempted", "not attempted yet"),
        Result("c_tests", 3, "passed"),
    ]
    text = report("nb.ipynb", results, colour=False)
    assert "  FAILED   a_tests (2 points): AssertionError: x: expected 1, got 2" in text
    assert "  TO DO    b_tests (1 point): not attempted yet" in text
    assert "1 of 3 exercises pass their visible tests (3 of 6 points)" in text
    assert "\x1b[" not in text
    assert "\x1b[31m" in report("nb.ipynb", results, colour=True)
    assert (
        plain('<span class="ansi-red-fg">AssertionError</span>: a &lt; b')
        == "AssertionError: a < b"
    )


# --------------------------------------------------------------------------- #
# Inside the kernel: the monitor
# --------------------------------------------------------------------------- #


def test_layout_says_what_reaching_a_path_means():
    layout = Layout(
        free=("/home/learner", "/tmp"),
        read_only=("/usr", "/srv/course/course_utils", "/home/learner/.keras/datasets"),
        protected=("/srv/course",),
    )
    assert layout.describe("/home/learner/01/outputs/x.keras", writing=True) is None
    assert layout.describe("/srv/course/course_utils/checks.py", writing=False) is None
    assert "tried to modify" in layout.describe("/srv/course/course_utils/checks.py", writing=True)
    assert "tried to modify" in layout.describe("/home/learner/.keras/datasets/f.gz", writing=True)
    assert "instructor's course files" in layout.describe("/srv/course/gradebook.db", writing=True)
    assert "outside the grading sandbox" in layout.describe("/etc/shadow", writing=False)
    assert Layout.from_json(layout.to_json()) == layout


def test_reporter_writes_json_lines_once_each():
    read, write = os.pipe()
    reporter = monitor.Reporter(write)
    for _ in range(3):
        reporter.send("attempt", "file", 'tried to read "x"')
    os.close(write)
    lines = os.read(read, 10_000).decode().splitlines()
    os.close(read)
    assert [json.loads(line) for line in lines] == [
        {"kind": "attempt", "what": "file", "detail": 'tried to read "x"'},
    ]


def test_resource_limits_cannot_be_raised_again():
    code = (
        "import resource\n"
        "from course_utils.grading.learner_kernel.kernel import limit_resources\n"
        "limit_resources(memory=2 * 1024**3, file_size=1024**2)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_FSIZE))\n"
        "try:\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))\n"
        "    print('raised')\n"
        "except (ValueError, OSError):\n"
        "    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    if os.geteuid() == 0:  # root may raise its own hard limits; the sandbox drops that right
        assert "(2147483648, 2147483648) (1048576, 1048576)" in result.stdout
    else:
        assert result.stdout.split("\n")[1] == "refused", result.stdout


# --------------------------------------------------------------------------- #
# The sandbox's settings
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("value, mode", [("", "on"), ("on", "on"), ("OFF", "off"), ("0", "off")])
def test_sandbox_mode(monkeypatch, value, mode):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, value)
    assert sandbox.sandbox_mode() == mode


def test_a_wrong_sandbox_setting_says_which_values_work(monkeypatch):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "maybe")
    with pytest.raises(ValueError, match="use 'on' .* or 'off'"):
        sandbox.sandbox_mode()


def test_missing_bubblewrap_is_one_clear_message(monkeypatch):
    sandbox._READY.discard("sandbox")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(sandbox.SandboxUnavailableError) as error:
        sandbox.require_sandbox()
    message = str(error.value)
    assert "bubblewrap" in message and "apt-get install bubblewrap" in message
    assert "COURSE_GRADING_SANDBOX=off" in message


def test_the_sandbox_hides_the_course_and_the_graders_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-token-123")
    # a course checked out below /tmp, as CI machines do
    roots = sandbox.python_roots()
    monkeypatch.setattr(sandbox, "python_roots", lambda: [*roots, "/tmp/ci/.venv"])
    course = tmp_path / "course"
    notebook_dir = course / "autograded" / "ana" / "01"
    notebook_dir.mkdir(parents=True)
    km = sandbox.SandboxedKernelManager(kernel_name="python3", protected=(str(course),))
    try:
        km._launch_args = {"cwd": str(notebook_dir)}
        command = km.wrap(km.format_kernel_cmd([]))
    finally:
        import shutil

        shutil.rmtree(km.scratch, ignore_errors=True)
    text = " ".join(command)
    assert command[0].endswith("bwrap") and "--clearenv" in command[:5]
    for isolation in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"):
        assert isolation in command
    assert "secret-token-123" not in text
    mounted = {command[i + 2] for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind")}
    assert not any(m == str(course) or m.startswith(str(course) + "/") for m in mounted), mounted
    writable = {command[i + 2] for i, arg in enumerate(command) if arg == "--bind"}
    assert writable == set()  # nothing of the grading machine's disk: only sized tmpfs folders
    sized = [command[i + 3] for i, arg in enumerate(command) if arg == "--size"]
    tmpfs_all = [command[i + 1] for i, arg in enumerate(command) if arg == "--tmpfs"]
    assert sorted(sized) == sorted(tmpfs_all), "every tmpfs has a size"
    assert command[command.index("--remount-ro") + 1] == "/"
    assert command.index("--remount-ro") > max(i for i, a in enumerate(command) if a == "--tmpfs")
    # an empty /tmp or home mounted after a bind below it would hide what was bound there
    # (the course, its virtual environment or the runtime folder may well live below /tmp)
    tmpfs = [(i, command[i + 1]) for i, arg in enumerate(command) if arg == "--tmpfs"]
    binds = [(i, command[i + 2]) for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind")]
    for at, folder in tmpfs:
        hidden = [dest for i, dest in binds if i < at and dest.startswith(folder.rstrip("/") + "/")]
        assert not hidden, f"--tmpfs {folder} comes after binds below it: {hidden}"


def test_grading_environment_is_the_fast_profile_and_quiet(monkeypatch):
    from course_utils.config import PROFILE_ENV, QUIET_TENSORFLOW_ENV, SEED_OFFSET_ENV, seed_offset
    from course_utils.grading.learner_kernel.kernel import grading_environment

    for name in (PROFILE_ENV, *QUIET_TENSORFLOW_ENV):
        monkeypatch.setenv(name, "something else")
    monkeypatch.setenv(SEED_OFFSET_ENV, "2")  # a benchmark's setting must not change a grade
    grading_environment()
    assert os.environ[PROFILE_ENV] == "fast"
    assert seed_offset() == 0
    assert {k: os.environ[k] for k in QUIET_TENSORFLOW_ENV} == QUIET_TENSORFLOW_ENV


def test_learner_files_are_copied_without_notebooks_special_or_huge_files(tmp_path):
    from course_utils.grading.layout import LEARNER_FILE_LIMIT, copy_learner_files

    source = tmp_path / "submitted"
    (source / "data").mkdir(parents=True)
    (source / "helper.py").write_text("x = 1")
    (source / "data" / "small.csv").write_text("a,b\n1,2\n")
    (source / "01.ipynb").write_text("{} hidden tests live here during grading")
    os.mkfifo(source / "pipe")  # opening it to copy would block the grader
    with (source / "huge.bin").open("wb") as handle:
        handle.truncate(LEARNER_FILE_LIMIT + 1)  # sparse: no real disk used
    (source / "link").symlink_to("/etc/hostname")
    work = tmp_path / "work"
    copy_learner_files(source, work)
    assert sorted(p.name for p in work.rglob("*")) == ["data", "helper.py", "link", "small.csv"]
    assert (work / "link").is_symlink()  # the link itself, not the file it names


def test_output_beyond_the_limits_is_cut_once(executor):
    ex, _ = executor
    ex.max_output_bytes, ex.max_notebook_output_bytes = 1_000, 1_500
    ex._reset()  # what preprocess() does before running a notebook
    ex.reset_execution_trackers()  # what nbclient does before running a notebook
    ex.clear_before_next_output = False  # and before each cell
    outs: list = []
    line = {
        "msg_type": "stream",
        "content": {"name": "stdout", "text": "x" * 400},
        "parent_header": {"msg_id": "m"},
        "header": {"msg_type": "stream"},
    }
    for _ in range(10):
        ex.output(outs, line, None, 0)
    texts = [o.get("text", "") for o in outs]
    assert len(texts) == 3 and "[output cut" in texts[-1]
    ex.output(outs, line, None, 2)  # another cell: the notebook's limit is spent too
    assert len(outs) == 3


def test_two_workers_starting_kernels_at_once_keep_their_control_groups():
    """A worker sweeps only the groups of grading processes that are gone, never another
    running worker's new (still empty) group. Needs root and control groups (CI has both)."""
    import uuid

    from course_utils.grading.host import cgroups

    parent = f"course-grading-test-{uuid.uuid4().hex[:8]}"
    mine = cgroups.KernelCgroup(parent=parent)
    if not mine.create():
        pytest.skip(f"no control groups on this machine: {mine.problem}")
    folders = list(mine.folders)
    try:
        ended = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout.strip()
        left_behind = [folder.parent / f"{ended}-leftover" for folder in folders]
        for folder in left_behind:
            folder.mkdir()
        other_worker = (
            "from course_utils.grading.host.cgroups import KernelCgroup\n"
            f"group = KernelCgroup(parent={parent!r})\n"
            "print(group.create())\n"
            "group.remove()\n"
        )
        started = subprocess.run(
            [sys.executable, "-c", other_worker], capture_output=True, text=True, timeout=60
        )
        assert started.stdout.strip() == "True", started.stderr
        assert all(folder.is_dir() for folder in folders), "another worker removed this one's group"
        assert not any(folder.exists() for folder in left_behind), "a dead worker's group stayed"
    finally:
        mine.remove()
        for folder in {folder.parent for folder in folders}:
            for inner in folder.iterdir():
                if inner.is_dir():
                    inner.rmdir()
            folder.rmdir()


def test_the_report_shows_written_answers_awaiting_grading_as_such(tmp_path):
    from course_utils.grading.class_scale.report import ClassData, write_report

    data = ClassData(
        totals={"01": {"ana": 50.0}},
        exercises={"01: question_leak": [], "01: one_hot_tests": [1.0, 0.0]},
        max_points={"01: question_leak": 1.0, "01: one_hot_tests": 1.0},
        awaiting={"01: question_leak": 2},
    )
    page = write_report(tmp_path, data, folder=tmp_path / "report").read_text()
    assert "<td>01: question_leak</td><td>-</td><td>0</td><td>2</td>" in page
    assert "<td>01: one_hot_tests</td><td>50%</td><td>2</td><td>0</td>" in page


def test_two_copies_of_the_course_in_one_environment_are_named(tmp_path):
    """A grading process run from another copy of the course than the one installed in the
    environment: the kernels would import the installed copy. The check names both."""
    import shutil

    installed = sandbox.course_utils_root()
    assert sandbox.course_utils_problem() is None  # this copy is the installed one
    other = tmp_path / "other-clone"
    shutil.copytree(installed, other / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import course_utils.grading.host.sandbox as s, course_utils.grading.cli as c\n"
        "print(s.course_utils_problem())\n"
        "print(c.main(['sandbox']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=other, capture_output=True, text=True, timeout=120
    )
    assert f"uses course_utils from {other / 'course_utils'}" in result.stdout, result.stderr
    assert f"would import {installed}" in result.stdout
    assert "NOT POSSIBLE" in result.stdout and result.stdout.strip().endswith("1")


def test_no_grading_code_imports_the_test_harness():
    """``course_utils.grading.testing`` (the throw-away course) is for tests and the benchmark."""
    import ast
    from pathlib import Path

    import course_utils.grading as package

    importers = []
    for path in sorted(Path(package.__file__).parent.rglob("*.py")):
        if path.name == "testing.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(name.startswith("course_utils.grading.testing") for name in names):
                importers.append(path.name)
    assert not importers, importers


def test_a_gradebook_password_never_reaches_a_command_line(monkeypatch, tmp_path):
    from course_utils.grading.nbgrader_steps import runner

    seen = {}

    def fake_run(command, **kwargs):
        seen.update(command=command, env=kwargs["env"], timeout=kwargs["timeout"])
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    url = "postgresql://grader:s3cret-password@db/gradebook"
    runner.run_nbgrader(["export"], tmp_path, timeout=60, db_url=url)
    assert not any("s3cret" in part for part in seen["command"]), seen["command"]
    assert seen["env"][runner.DB_URL_ENV] == url and seen["timeout"] == 60
    # and the course's configuration takes it from there
    from traitlets.config import Config

    from course_utils.grading.nbgrader_steps import pipeline

    monkeypatch.setenv(runner.DB_URL_ENV, url)
    c = Config()
    pipeline.configure(c)
    assert c.CourseDirectory.db_url == url


def test_every_shared_limit_name_and_message_has_one_home():
    """Limits, metadata keys, error names and the "Not graded" message are defined in
    ``contract`` only: no other grading module assigns those names or writes those strings."""
    import ast
    from pathlib import Path

    import course_utils.grading as package
    from course_utils.grading import contract

    shared = {name for name in vars(contract) if name.isupper()}
    literals = {contract.METADATA_KEY, contract.NOT_GRADED}
    found = []
    for path in sorted(Path(package.__file__).parent.rglob("*.py")):
        if path.name == "contract.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                found += [f"{path.name} defines {n}" for n in names & shared]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{path.name} writes {v!r}" for v in literals if v in node.value]
    assert not found, found


def test_the_folders_are_the_trust_boundary():
    """Code in ``learner_kernel/`` (which learner code can change) and ``judge_kernel/`` share
    only ``contract``, ``layout`` and ``wire`` with each other and with the grading machine's
    code; the grading machine's code never imports the kernels' code."""
    import ast
    from pathlib import Path

    import course_utils.grading as package

    shared = {"contract", "layout", "wire"}
    allowed = {
        "learner_kernel": shared | {"learner_kernel"},
        "judge_kernel": shared | {"judge_kernel"},
    }
    base = Path(package.__file__).parent
    crossings = []
    for path in sorted(base.rglob("*.py")):
        side = path.relative_to(base).parts[0] if path.parent != base else None
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[:2] != ["course_utils", "grading"] or len(parts) < 3:
                    continue
                target = parts[2]
                if side in allowed:
                    ok = target in allowed[side]
                else:
                    ok = target not in ("learner_kernel", "judge_kernel")
                if not ok:
                    crossings.append(f"{path.relative_to(base)} imports {module}")
    assert not crossings, crossings


# ---- the class report: what the autograded notebooks say ---------------------------


def test_the_class_report_shows_the_slices_size_and_every_full_rerun(tmp_path):
    from course_utils.grading.class_scale.report import ClassData, read_autograded, write_report
    from course_utils.grading.contract import METADATA_KEY

    def autograded(learner, assignment, slice_record):
        nb = new_notebook(cells=[new_code_cell("x = 1")])
        nb.metadata[METADATA_KEY] = {"slice": slice_record}
        path = tmp_path / "autograded" / learner / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)

    autograded("ann", "01_a", {"cells_run": 3, "cells_skipped": 7, "fallback": None})
    autograded("bob", "01_a", {"cells_run": 5, "cells_skipped": 5, "fallback": None})
    why = "mean_tests: NameError: name 'data' is not defined"
    autograded("cy", "01_a", {"cells_run": None, "cells_skipped": 0, "fallback": why})
    autograded("dee", "02_b", {})  # graded with the slice off: nothing to show
    autograded("eve", "03_not_asked", {"cells_run": 1, "cells_skipped": 1, "fallback": "x"})
    data = ClassData(seconds={"01_a": [10.0, 12.0, 20.0], "02_b": [5.0]})
    read_autograded(tmp_path, ["01_a", "02_b"], data)
    assert data.full_runs == [("01_a", "cy", why)]
    assert data.cells_run == {"01_a": [0.3, 0.5]}
    page = write_report(tmp_path, data, tmp_path / "report").read_text()
    assert "<td>01_a</td><td>12.0 s</td><td>3</td><td>40%</td><td>1</td>" in page
    assert "<td>02_b</td><td>5.0 s</td><td>1</td><td>-</td><td>0</td>" in page
    assert "<td>cy</td><td>mean_tests: NameError: name &#x27;data&#x27; is not defined</td>" in page
