"""Sandboxed grading: learner code cannot read the answers, touch the grading machine or fake a pass.

A class of learners submits the fixture assignment (``tests/fixtures/00_fixture``,
no TensorFlow, so each kernel starts in a second or two) with *wrong* answers and
one attack each. Every attacker must score exactly what the same wrong answers
score without the attack (0), the attack must be reported, and a reference
learner graded right after each attacker (names sort in that order) must get
full marks, as must one graded before all of them.

The same attack run without the sandbox (``COURSE_GRADING_SANDBOX=off``) does
get full marks: that is what shows these tests can fail.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.grading.host.sandbox import sandbox_problem
from course_utils.grading.nbgrader_steps.runner import nbgrader_env
from course_utils.grading.nbgrader_steps.submissions import incidents
from course_utils.grading.testing import Course
from helpers import FIXTURES, prepend, replace_answer

pytestmark = pytest.mark.slow

A = "00_fixture"
WRONG_ANSWERS = {
    "double": "def double(x):\n    return x",
    "mean": "def mean(values):\n    return 0.0",
    "standardize": "def standardize(x):\n    return np.asarray(x, dtype=float)",
}

if sandbox_problem():
    pytest.skip(
        f"the grading sandbox cannot run here: {sandbox_problem()}", allow_module_level=True
    )


def _wrong(notebook):
    for cell_id, source in WRONG_ANSWERS.items():
        notebook = replace_answer(notebook, cell_id, source)
    return notebook


def _attacker_notebook(release, cell: str, code: str):
    """The wrong answers with the attack code on top of one answer cell, or as every answer;
    ``after:<cell>`` puts it below that cell's wrong answer (an answer that lies)."""
    if cell.startswith("after:"):
        name = cell.split(":", 1)[1]
        return replace_answer(_wrong(release), name, WRONG_ANSWERS[name] + "\n" + code)
    if cell == "every":
        for cell_id in WRONG_ANSWERS:
            release = replace_answer(release, cell_id, code)
        return release
    return prepend(_wrong(release), cell, code)


def attacks(root: Path) -> dict[str, tuple[str, str, str | None]]:
    """name -> (answer cell the code goes into, attack code, what the report must say, if any).

    The code goes at the top of that answer cell, above the (wrong) answer; "every"
    puts it in place of every answer: a learner who copies answers from elsewhere.
    """
    solutions = root / "solutions" / A / f"{A}.ipynb"
    return {
        "reads_solutions": (
            "every",
            f"""
import glob, json, os
paths = [{str(solutions)!r}]
for start in (os.getcwd(), os.path.expanduser("~"), "/"):
    folder = start
    for _ in range(8):
        paths += glob.glob(os.path.join(folder, "solutions", "*", "*.ipynb"))
        paths += glob.glob(os.path.join(folder, "source", "*", "*.ipynb"))
        folder = os.path.dirname(folder)
for path in paths:
    try:
        cells = json.load(open(path))["cells"]
    except OSError:
        continue
    for cell in cells:
        if "BEGIN SOLUTION" in "".join(cell["source"]):
            exec("".join(cell["source"]), globals())
            STOLEN = True
""",
            "the instructor's course files",
        ),
        "writes_gradebook": (
            "double",
            f"""
import sqlite3
try:
    db = sqlite3.connect({str(root / "gradebook.db")!r})
    db.execute("UPDATE grade SET manual_score = 0")
    db.execute("UPDATE grade SET auto_score = 0")
    db.commit()
except sqlite3.Error as error:
    print("gradebook:", error)
""",
            "gradebook.db",
        ),
        "rewrites_course_utils": (
            "double",
            """
import course_utils.checks as _c
try:
    with open(_c.__file__, "a") as handle:
        handle.write("\\ndef check_equal(*args, **kwargs):\\n    pass\\n")
except OSError as error:
    print("could not rewrite:", error)
""",
            "read-only",
        ),
        "hides_tracebacks": (
            "double",
            """
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.showtraceback = lambda *args, **kwargs: None
InteractiveShell._showtraceback = lambda *args, **kwargs: None
""",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "input_transformer": (
            "double",
            "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "ast_transformer": (
            "double",
            """
import ast
class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[],
                             finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Swallow())
""",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "patches_do_execute": (
            "double",
            """
_kernel = get_ipython().kernel
async def _do_execute(code, silent, *args, **kwargs):
    try:
        exec(code, get_ipython().user_ns)
    except BaseException:
        pass
    return {"status": "ok", "execution_count": 0, "payload": [], "user_expressions": {}}
_kernel.do_execute = _do_execute
""",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "custom_exception_handler": (
            "double",
            "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "patches_checks": (
            "double",
            """
import sys, types
import numpy as np
import course_utils.checks as _c
for _name in dir(_c):
    if _name.startswith("check_"):
        setattr(_c, _name, lambda *args, **kwargs: None)
np.allclose = lambda *args, **kwargs: True
_fake = types.ModuleType("course_utils.checks")
_fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
sys.modules["course_utils.checks"] = _fake
""",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "patches_builtins": (
            "double",
            "import builtins\nbuiltins.abs = lambda x: 0\n",
            None,  # gains nothing, unseen: the judge asks the kernel for data, never a verdict
        ),
        "traces_execution": (
            "double",
            "import sys\nsys.settrace(lambda *args: None)\n",
            None,  # gains nothing, unseen: the tests do not run in the learner's interpreter
        ),
        "reads_other_learner": (
            "every",
            f"""
import glob, json
for path in glob.glob({str(root)!r} + "/*/*/{A}/*.ipynb"):
    try:
        for cell in json.load(open(path))["cells"]:
            if "def " in "".join(cell["source"]):
                exec("".join(cell["source"]), globals())
    except OSError:
        pass
""",
            "the instructor's course files",
        ),
        "opens_network": (
            "double",
            """
import socket, urllib.request
for attempt in (lambda: socket.create_connection(("1.1.1.1", 80), timeout=3),
                lambda: urllib.request.urlopen("http://example.com", timeout=3)):
    try:
        attempt()
    except OSError as error:
        print("network:", error)
""",
            "network connection",
        ),
        "prints_hidden_tests": (
            "mean",
            "print(get_ipython().user_ns.get('In'))\n",
            None,  # gains no points: test_feedback_never_shows_hidden_tests checks the leak
        ),
        "kills_its_kernel": ("mean", "import os\nos._exit(0)\n", None),
        "fork_bomb": (
            "double",
            """
import os, time
children = []
try:
    for _ in range(5000):
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        children.append(pid)
except OSError as error:
    print("forking stopped after", len(children), "children:", error.strerror)
""",
            "tried to start a program",
        ),
        # What only the judge stops: values that lie, frames that are read, answers forged.
        "lying_int": (
            "after:double",
            """
class Yes(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    __hash__ = int.__hash__
def double(x):
    return Yes(0)
""",
            None,
        ),
        "lying_float": (
            "after:mean",
            """
class Close(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __abs__(self): return 0.0
def mean(values):
    return Close(0.0)
""",
            None,
        ),
        "lying_ndarray": (
            "after:standardize",
            """
class Agreeable(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)
def standardize(x):
    return np.zeros(np.shape(x)).view(Agreeable)
""",
            None,
        ),
        "lying_tuple": (
            "after:mean",
            """
class Same(tuple):
    def __eq__(self, other): return True
def mean(values):
    return Same((0.0,))
""",
            None,
        ),
        "reads_calling_frames": (
            "after:double",
            """
import sys
def double(x):
    found = []
    frame = sys._getframe(1)
    while frame is not None:  # every caller's locals and constants: the expected values?
        found += [v for v in frame.f_locals.values() if type(v) is int]
        found += [c for c in frame.f_code.co_consts if type(c) is int]
        frame = frame.f_back
    return max(found, default=0) if found else x
""",
            None,
        ),
        "forges_the_bridge": (
            "double",
            """
import course_utils.grading.learner_kernel.bridge as bridge
# the loop the grading process runs here, replaced: garbage answers, prompts out of turn,
# calls of judge functions that do not exist, a loop that ends early
garbage = ['[' * 100000, '{"H": [1, ["builtins.int"], "4"]}', '{"A": ["|O", [1], "AA=="]}',
           'NaN', '{"Z": 1}', '{"D": [[1, 2, 3]]}', 'x' * 1000, 42]
count = [0]
def serve_requests(namespace=None, read=None):
    read = read or input
    prompt = bridge.BRIDGE_REQUEST_PROMPT
    while True:
        count[0] += 1
        forged = garbage[count[0] % len(garbage)]
        if forged == 42:
            return
        read(bridge.BRIDGE_REQUEST_PROMPT)  # out of turn
        read(bridge.BRIDGE_CALLBACK_PREFIX + '{"id": 99, "args": [], "kwargs": {}}')
        if read(bridge.BRIDGE_ANSWER_PREFIX + forged) == bridge.BRIDGE_DONE:
            return
bridge.serve_requests = serve_requests
bridge.serve = lambda *args, **kwargs: garbage[0]
""",
            None,
        ),
        "dumps_everything": (
            "after:mean",
            """
import base64, sys
stash = list(get_ipython().user_ns.get("In", []))
def mean(values):
    # whoever calls this (a test?): every frame's locals and constants, kept for later
    frame = sys._getframe(1)
    while frame is not None:
        stash.append(repr(frame.f_locals)[:20000])
        stash.append(repr(frame.f_code.co_consts)[:20000])
        frame = frame.f_back
    return 0.0
def _dump(*args):
    text = "\\n".join(stash + list(get_ipython().user_ns.get("In", [])))
    print("DUMP " + base64.b64encode(text.encode()).decode()[:3_000_000])
get_ipython().events.register("post_run_cell", _dump)
""",
            None,
        ),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    course = Course(root, [A], sources=FIXTURES)
    names = ["a00_reference"]
    course.submit("a00_reference", A, course.solved(A))
    for number, (name, (cell, code, _)) in enumerate(sorted(attacks(root).items()), start=1):
        attacker, reference = f"a{number:02d}_{name}", f"a{number:02d}z_reference"
        course.submit(attacker, A, _attacker_notebook(course.release(A), cell, code))
        course.submit(reference, A, course.solved(A))
        names += [attacker, reference]
    course.submit("wrong_only", A, _wrong(course.release(A)))
    checks_file = Path(__import__("course_utils.checks").checks.__file__)
    before = hashlib.sha256(checks_file.read_bytes()).hexdigest()
    result = course.autograde(A)
    after = hashlib.sha256(checks_file.read_bytes()).hexdigest()
    return course, result, names, (before, after)


def _attacker(name: str) -> str:
    number = sorted(attacks(Path("/x"))).index(name) + 1
    return f"a{number:02d}_{name}"


def test_every_reference_learner_gets_full_marks(graded):
    course, result, names, _ = graded
    full = sum(course.points(A).values())
    references = [n for n in names if n.endswith("reference")]
    assert len(references) == len(attacks(Path("/x"))) + 1
    scores = {n: course.total(n, A) for n in references}
    assert scores == dict.fromkeys(references, full), result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("name", sorted(attacks(Path("/x"))))
def test_attacker_gains_nothing_and_is_reported(graded, name):
    course, result, _, _ = graded
    learner = _attacker(name)
    assert course.total("wrong_only", A) == 0
    assert course.total(learner, A) == 0, f"{name}: {course.cell_scores(learner, A)}"
    expected = attacks(Path("/x"))[name][2]
    if expected is None:
        return
    found = [i for i in incidents(course.root, A) if i.student == learner]
    assert found, f"{name}: nothing was reported"
    assert any(expected in i.detail for i in found), [str(i) for i in found]
    assert learner in result.stderr  # the grading log names the learner


def test_course_utils_is_unchanged(graded):
    before, after = graded[3]
    assert before == after


def test_feedback_never_shows_hidden_tests(graded):
    course = graded[0]
    learner = _attacker("prints_hidden_tests")
    course.check(course.generate_feedback(A, "--student", learner, "--force"))
    html = (course.root / "feedback" / learner / A / f"{A}.html").read_text()
    for secret in HIDDEN:
        assert secret not in html, f"the feedback reveals {secret!r}"


HIDDEN = ("double(-7)", "hidden_values", "hidden_sample", "importlib.reload")


def _dumped(notebook) -> str:
    """Everything the dumps_everything attacker printed, decoded."""
    import base64

    text = ""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("DUMP "):
                    text += base64.b64decode(line[5:] + "=" * (-len(line[5:]) % 4)).decode(
                        errors="replace"
                    )
    return text


def test_nothing_reachable_in_the_learners_kernel_holds_hidden_tests(graded):
    """The learner's kernel never has a hidden test: an encoded dump of all it can reach shows none."""
    course = graded[0]
    dumped = _dumped(course.autograded_notebook(_attacker("dumps_everything"), A))
    assert "def mean" in dumped  # the dump works: it finds the learner's own code
    leaked = [secret for secret in HIDDEN if secret in dumped]
    assert not leaked, f"the learner's kernel held {leaked}"


def test_without_the_judge_the_attacks_work(tmp_path):
    """Plain nbgrader (test cells in the learner's kernel, ``GradingExecute.judge = False``, the
    benchmark's baseline): the dump finds the hidden tests and a value that lies scores. These
    checks can fail; the judge is what makes them pass."""
    course = Course(tmp_path / "course", [A], sources=FIXTURES)
    for name in ("dumps_everything", "lying_int"):
        cell, code, _ = attacks(course.root)[name]
        course.submit(name, A, _attacker_notebook(course.release(A), cell, code))
    course.check(course.autograde(A, "--GradingExecute.judge=False"))
    dumped = _dumped(course.autograded_notebook("dumps_everything", A))
    assert any(secret in dumped for secret in HIDDEN), "the in-kernel tests left no trace"
    assert course.cell_scores("lying_int", A)["double_tests"] > 0, course.cell_scores(
        "lying_int", A
    )


def test_a_learner_function_that_hangs_or_stops_its_kernel_costs_only_its_exercise(tmp_path):
    """The bridge answers a test cell's requests in one loop in the learner's kernel. A call
    of the learner's function that never returns is interrupted at the cell's timeout; one
    that ends the loop (``SystemExit``, ``KeyboardInterrupt``) or asks for ``input()`` gets
    no answer. Each costs only its exercise: the next test cell starts a fresh loop. One that
    ends the kernel's process is told so at once."""
    course = Course(tmp_path / "course", [A], sources=FIXTURES)
    mistakes = {
        "hangs": ("double", "def double(x):\n    while True:\n        pass"),
        "exits": ("double", "def double(x):\n    raise SystemExit(0)"),
        "interrupts": ("mean", "def mean(values):\n    raise KeyboardInterrupt"),
        "asks_input": ("standardize", "def standardize(x):\n    return float(input('x?'))"),
    }
    for learner, (cell, code) in mistakes.items():
        course.submit(learner, A, replace_answer(course.solved(A), cell, code))
    dies = "def double(x):\n    import os\n    os._exit(0)"  # the kernel's process ends
    course.submit("dies", A, replace_answer(course.solved(A), "double", dies))
    course.check(course.autograde(A, "--Execute.timeout=15"))
    full = course.points(A)
    for learner, (cell, _) in mistakes.items():
        expected = {**full, f"{cell}_tests": 0}
        assert course.cell_scores(learner, A) == expected, (learner, course.cell_scores(learner, A))
    outputs = str(course.autograded_notebook("hangs", A))
    assert "your code did not answer in time" in outputs, "the learner was not told why"
    # a kernel that dies while the judge waits is noticed (not waited for until the timeout),
    # and the rest of that notebook is not run
    assert course.cell_scores("dies", A) == dict.fromkeys(full, 0.0)
    outputs = str(course.autograded_notebook("dies", A))
    assert "your code ended the Python process that runs your notebook" in outputs, outputs[-2000:]


def test_a_judge_that_cannot_set_up_grades_nobody(tmp_path):
    """The judge's setup cell failing is the grader's problem: "Not graded", never a zero."""
    import nbformat

    sources = tmp_path / "sources"
    shutil.copytree(FIXTURES / A, sources / A)
    source = sources / A / f"{A}.ipynb"
    nb = nbformat.read(source, as_version=4)
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    # passes in the learner's kernel (it has the learner's files), fails in the judge's (none)
    setup.source += "\nimport os\nassert os.listdir(), 'no files here'"
    nbformat.write(nb, source)
    course = Course(tmp_path / "course", [A], sources=sources)
    folder = course.submit("learner", A, course.solved(A)).parent
    (folder / "notes.txt").write_text("the learner's own file")
    result = course.autograde(A)
    log = result.stdout + result.stderr
    assert "Not graded: learner 'learner'" in log and "setup cell failed" in log, log[-3000:]
    assert not (course.root / "autograded" / "learner" / A).exists()


def test_honest_learners_have_no_incidents(graded):
    course = graded[0]
    flagged = {i.student for i in incidents(course.root, A)}
    assert not {n for n in flagged if n.endswith("reference") or n == "wrong_only"}, flagged


def test_without_the_sandbox_the_attack_works(tmp_path):
    """The opt-out grades (with a warning on every run), and shows what the sandbox stops."""
    course = Course(
        tmp_path / "course", [A], sources=FIXTURES, env=nbgrader_env(COURSE_GRADING_SANDBOX="off")
    )
    cell, code, _ = attacks(course.root)["reads_solutions"]
    course.submit("thief", A, _attacker_notebook(course.release(A), cell, code))
    result = course.check(course.autograde(A))
    assert "WITHOUT the sandbox" in result.stderr
    assert course.total("thief", A) == sum(course.points(A).values())
    assert any(i.student == "thief" and i.kind == "attempt" for i in incidents(course.root, A))


def test_grading_refuses_to_start_without_bubblewrap(tmp_path):
    course = Course(tmp_path / "course", [A], sources=FIXTURES)
    course.submit("learner", A, course.solved(A))
    course.env = nbgrader_env(PATH=str(Path(sys.executable).parent))  # no bwrap on PATH
    result = course.autograde(A)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Not graded" in log and "bubblewrap" in log and "COURSE_GRADING_SANDBOX=off" in log
    assert not (course.root / "autograded" / "learner" / A).exists()


def test_formgrader_autograde_button_uses_the_sandbox(tmp_path):
    """The Formgrader's button calls NbGraderAPI.autograde with the same configuration."""
    course = Course(tmp_path / "course", [A], sources=FIXTURES)
    cell, code, _ = attacks(course.root)["reads_solutions"]
    course.submit("thief", A, _attacker_notebook(course.release(A), cell, code))
    script = (
        "from nbgrader.apps import NbGraderAPI\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        "config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "api = NbGraderAPI(CourseDirectory(config=config), config=config)\n"
        f"result = api.autograde({A!r}, 'thief')\n"
        "print('SUCCESS', result['success'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=course.root,
        env=course.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "SUCCESS True" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert course.total("thief", A) == 0
    assert any(i.student == "thief" for i in incidents(course.root, A))


def _run_in_a_sandboxed_kernel(
    code: str, folder: Path, protected: Path, timeout: int = 120, while_alive=None
):
    """Run ``code`` in one grading kernel started directly: what it printed (as JSON) and the
    names in the grader's runtime folder just before the kernel ends (or, with
    ``while_alive``, what that function returned when called with the kernel's manager)."""
    import asyncio
    import json as json_module

    from course_utils.grading.host.sandbox import SandboxedKernelManager

    async def inside() -> tuple[dict, list[str]]:
        km = SandboxedKernelManager(kernel_name="python3", protected=(str(protected),))
        await km.start_kernel(cwd=str(folder))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            out: list[str] = []
            await kc.execute_interactive(
                code,
                timeout=timeout,
                output_hook=lambda m: out.append(m["content"].get("text", "")),
            )
            on_disk = sorted(p.name for p in km.runtime.iterdir())
            if while_alive is not None:
                on_disk = while_alive(km)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return json_module.loads("".join(out)), on_disk

    return asyncio.run(inside())


def test_what_a_sandboxed_kernel_can_see_and_do(tmp_path, monkeypatch):
    """One grading kernel, started directly: the sandbox from the inside."""
    course = tmp_path / "course"
    folder = course / "autograded" / "ana" / A
    folder.mkdir(parents=True)
    (folder / "helper.txt").write_text("the learner's own file")
    (folder / f"{A}.ipynb").write_text("during grading this holds the hidden tests")
    (course / "gradebook.db").write_text("grades")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-token-123")
    probe = f"""
import json, os, socket, subprocess
import course_utils.checks
subprocess.Popen(["sleep", "4242"])
seen = {{"uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
        "course": os.path.exists({str(course)!r}), "root": sorted(os.listdir("/root")),
        "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
        "token": any("secret-token" in v for v in os.environ.values())}}
for name, path in (("course_utils", course_utils.checks.__file__), ("home", "scratch.txt")):
    try:
        open(path, "a").close()
        seen["write " + name] = "ok"
    except OSError as error:
        seen["write " + name] = error.strerror
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    seen["network"] = "connected"
except OSError as error:
    seen["network"] = error.strerror
print(json.dumps(seen))
"""

    seen, _ = _run_in_a_sandboxed_kernel(probe, folder, course)
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\x004242\x00":
                left.append(cmdline.parent.name)
        except OSError:  # the process ended meanwhile
            pass
    assert not left, "a process the kernel started outlived it"
    assert seen["uid"] == 1000
    assert seen["cwd"] == f"/home/learner/{A}"
    assert seen["files"] == ["helper.txt"], "the notebook (with hidden tests) must not be there"
    assert seen["course"] is False
    assert set(seen["root"]) <= {".pyenv"}, seen["root"]  # only the Python it needs
    assert seen["processes"] <= 6
    assert seen["token"] is False
    assert seen["write course_utils"] == "Read-only file system"
    assert seen["write home"] == "ok"
    assert seen["network"] != "connected"


def test_a_fork_bomb_is_capped(graded):
    """All of a kernel's processes together are limited (control group, or the sandbox's
    own process limit), so one learner cannot take the grading machine's processes."""
    course = graded[0]
    notebook = course.autograded_notebook(_attacker("fork_bomb"), A)
    printed = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    stopped = re.search(r"forking stopped after (\d+) children", printed)
    assert stopped, f"the 5,000 forks were not stopped: {printed[-500:]!r}"
    assert int(stopped.group(1)) < 2000


def test_every_writable_place_is_bounded(tmp_path):
    """A kernel writes until refused in every place it can reach: each refuses at its budget,
    and nothing reaches the grading machine's disk (the socket folder lives in the sandbox)."""
    from course_utils.grading.contract import RUNTIME_SIZE, SHM_SIZE, TMPFS_SIZE
    from course_utils.grading.host.sandbox import HOME, RUNTIME, python_roots

    folder = tmp_path / "autograded" / "ana" / A
    folder.mkdir(parents=True)
    chunk = 32 * 1024**2
    places = {
        "home": HOME,
        "work": f"{HOME}/{A}",
        "tmp": "/tmp",
        "shm": "/dev/shm",
        "runtime": RUNTIME,
        "run": "/run/course",
        "root": "/",
        "python": python_roots()[0],
        "keras cache": f"{HOME}/.keras/datasets/fashion-mnist",
    }
    fill = f"""
import json, os
chunk = b"x" * {chunk}
written = {{}}
for name, place in {places!r}.items():
    total, n = 0, 0
    while True:
        path = os.path.join(place, f"fill-{{n}}")
        try:
            with open(path, "wb") as handle:
                while total <= {TMPFS_SIZE + chunk}:  # one file up to the size limit, then another
                    handle.write(chunk)
                    handle.flush()
                    total += len(chunk)
        except OSError as error:
            if error.errno == 27 and total:  # EFBIG: this file is full, start another
                n += 1
                continue
            break
        else:
            break  # past every budget: the test fails on this place
    for m in range(n + 1):
        try:
            os.remove(os.path.join(place, f"fill-{{m}}"))
        except OSError:
            pass
    written[name] = total
print(json.dumps(written))
"""

    written, on_disk = _run_in_a_sandboxed_kernel(fill, folder, tmp_path, timeout=300)
    budgets = {
        "home": TMPFS_SIZE,
        "work": TMPFS_SIZE,
        "tmp": TMPFS_SIZE,
        "shm": SHM_SIZE,
        "runtime": RUNTIME_SIZE,
    }
    for name, total in written.items():
        assert total <= budgets.get(name, 0), f"{name}: wrote {total:,} bytes ({written})"
    assert written["home"] > TMPFS_SIZE // 2 and written["shm"] > SHM_SIZE // 2, written  # it tried
    assert on_disk == ["kernel.json"], on_disk  # the grader's own file, nothing of the kernel's


def test_the_judge_sees_the_learners_files_and_never_follows_their_links(tmp_path):
    """What a test asks about a learner's file is read from outside the sandbox, through
    ``/proc/<pid>/root``, one folder at a time: a link the learner made to a path of the
    grading machine leads nowhere, although the kernel itself could never open it."""
    from course_utils.grading.host.judging import learner_file

    course = tmp_path / "course"
    folder = course / "autograded" / "ana" / A
    folder.mkdir(parents=True)
    secret = course / "solutions.txt"
    secret.write_text("the hidden tests")
    code = f"""
import json, os
os.makedirs("/tmp/runs/run_1")
open("/tmp/runs/run_1/log.txt", "w").write("epoch 1")
os.symlink({str(course)!r}, "/tmp/escape")
os.symlink({str(secret)!r}, "/tmp/runs/secret")
print(json.dumps({{"sees the course": os.path.exists({str(secret)!r})}}))
"""

    def look(km):
        root = km.files_root()
        assert root.startswith("/proc/") and root.endswith("/root")
        # the attack is real: the operating system would follow these links on the grader's side
        followed = (Path(root) / "tmp" / "escape" / "solutions.txt").read_text()
        seen = {"followed": followed, "runs": learner_file(root, "list", "/tmp/runs")}
        seen["log"] = learner_file(root, "read", "/tmp/runs/run_1/log.txt")
        for name, (what, path) in {
            "through": ("read", "/tmp/escape/solutions.txt"),
            "link": ("read", "/tmp/runs/secret"),
            "listed": ("list", "/tmp/escape"),
        }.items():
            try:
                seen[name] = learner_file(root, what, path)
            except OSError as error:
                seen[name] = type(error).__name__
        return seen

    printed, seen = _run_in_a_sandboxed_kernel(code, folder, course, while_alive=look)
    assert printed == {"sees the course": False}
    assert seen["followed"] == "the hidden tests"
    assert seen["runs"] == ["run_1", "secret"] and seen["log"] == b"epoch 1"
    assert seen["through"] == "NotADirectoryError"
    assert seen["link"] == "OSError"  # ELOOP: the link itself is not opened
    assert seen["listed"] == "NotADirectoryError"
