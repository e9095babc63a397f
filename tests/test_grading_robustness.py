"""Grading that holds up against real learners: tampering, faults and bad submissions.

Every learner below submits notebook 01 (the smallest of the course) built from the
real release, with one thing done wrong or one trick tried. The class is autograded
with the repository's nbgrader configuration, in the sandbox, as an instructor would.
The breadth of attacks on the grading machine itself is in test_grading_sandbox.py
(a fixture assignment, faster); here are the ones a learner of this course tries
on this notebook, and everything that is not an attack.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from course_utils.grading.nbgrader_steps.submissions import incidents
from helpers import (
    SMALLEST,
    WRONG_ID,
    WRONG_TESTS,
    Course,
    grade_id,
    nbgrader_env,
    points_of,
    prepend,
    replace_answer,
    solved_notebook,
    with_wrong_answer,
)

pytestmark = pytest.mark.slow

A = SMALLEST
POINTS = points_of(A)
FULL = sum(POINTS.values())
ORDER = list(POINTS)  # test cells in notebook order


def _cell_index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def _all_but(*failed):
    return {k: (0.0 if k in failed else v) for k, v in POINTS.items()}


def _as_markdown(nb, gid):
    cell = nb.cells[_cell_index(nb, gid)]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return nb


CHEAT = (
    "import course_utils.checks as _c\n"
    "for _n in dir(_c):\n"
    "    if _n.startswith('check_'):\n"
    "        setattr(_c, _n, lambda *a, **k: None)\n"
    "check_equal = lambda *a, **k: None\n"
    "len = lambda x: 5\n"
    "isinstance = lambda *a: True\n"
)


def scenario_notebooks(solved=None):
    """learner -> (notebook, expected cell scores, text the grading report must hold or None)."""
    solved = solved if solved is not None else solved_notebook(A)
    out = {"honest": (solved, dict(POINTS), None)}

    # edits a visible test cell to `pass`; deletes it (wrong and right answer)
    nb = with_wrong_answer(solved)
    nb.cells[_cell_index(nb, WRONG_TESTS)].source = "pass"
    out["edits_test"] = (nb, _all_but(WRONG_TESTS), None)
    nb = with_wrong_answer(solved)
    del nb.cells[_cell_index(nb, WRONG_TESTS)]
    out["deletes_test_wrong"] = (nb, _all_but(WRONG_TESTS), None)
    nb = nbformat.from_dict(solved)
    del nb.cells[_cell_index(nb, WRONG_TESTS)]
    out["deletes_test_right"] = (nb, dict(POINTS), None)

    # duplicates a test cell (the copy says `pass`); changes a test cell's type
    nb = with_wrong_answer(solved)
    i = _cell_index(nb, WRONG_TESTS)
    copy = nbformat.from_dict(nb.cells[i])
    copy.id = f"{copy.id}-copy"  # JupyterLab gives a pasted cell a new id; the grade_id stays
    copy.source = "pass"
    nb.cells.insert(i + 1, copy)
    out["duplicates_test"] = (nb, _all_but(WRONG_TESTS), None)
    out["changes_cell_type"] = (
        _as_markdown(with_wrong_answer(solved), WRONG_TESTS),
        _all_but(WRONG_TESTS),
        None,
    )
    out["changes_cell_type_right"] = (
        _as_markdown(nbformat.from_dict(solved), "one_hot_by_hand_tests"),
        dict(POINTS),
        None,
    )

    # shadows builtins and helpers in its own namespace: harmless, the tests use the real ones
    shadow = "check_equal = lambda *a, **k: None\nlen = lambda x: 5\nisinstance = lambda *a: True\n"
    out["shadows_names"] = (
        prepend(with_wrong_answer(solved), WRONG_ID, shadow),
        _all_but(WRONG_TESTS),
        None,
    )
    # monkeypatches course_utils.checks: the judge runs its own, so only the wrong answer costs
    out["monkeypatches_checks"] = (
        prepend(with_wrong_answer(solved), WRONG_ID, CHEAT),
        _all_but(WRONG_TESTS),
        None,
    )
    # a wrong make_dataset (drops the last, smaller batch), `len` shadowed to hide it
    nb = replace_answer(
        solved,
        "make_dataset",
        lambda src: src.replace(".batch(batch_size)", ".batch(batch_size, drop_remainder=True)"),
    )
    nb = prepend(
        nb,
        "make_dataset",
        "len = lambda x: 5 if type(x) is list and x and x[0][0].shape[0] == 32 else 10\n",
    )
    out["shadows_len"] = (nb, _all_but("make_dataset_tests"), None)

    # hides its errors by replacing IPython's showtraceback: the tests' errors are the judge's
    hide = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.showtraceback = lambda *a, **k: None\n"
    )
    out["hides_tracebacks"] = (
        prepend(with_wrong_answer(solved), WRONG_ID, hide),
        _all_but(WRONG_TESTS),
        None,
    )
    # looks for the instructor's notebook and the gradebook: nothing there to find
    steal = (
        "import glob, os, sqlite3\n"
        "for _p in glob.glob(os.path.join(os.getcwd(), '..', '..', '..', 'solutions', '*', '*.ipynb')):\n"
        "    exec(open(_p).read())\n"
        "try:\n"
        "    sqlite3.connect(os.path.join(os.getcwd(), '..', '..', '..', 'gradebook.db'))"
        ".execute('UPDATE grade SET auto_score = 0')\n"
        "except sqlite3.Error:\n"
        "    pass\n"
    )
    out["steals"] = (
        prepend(with_wrong_answer(solved), WRONG_ID, steal),
        _all_but(WRONG_TESTS),
        "outside the grading sandbox",
    )

    # prints a million lines, then answers correctly; allocates far too much memory
    spam = "for _i in range(1_000_000):\n    print('spam', _i)\n"
    out["prints_a_lot"] = (prepend(solved, "one_hot_by_hand", spam), dict(POINTS), None)
    hog = "_hog = bytearray(64 * 1024**3)  # 64 GiB\n"
    out["allocates_too_much"] = (prepend(solved, WRONG_ID, hog), _all_but(WRONG_TESTS), None)

    # a NameError in an early answer: the other exercises keep their points
    nb = replace_answer(solved, "one_hot_by_hand", "one_hot_by_hand = undefined_helper")
    out["name_error"] = (nb, _all_but("one_hot_by_hand_tests"), None)

    # a correct answer that writes to stderr (as library warnings do)
    noisy = "import sys as _sys\nprint('W tensorflow/core: some log line', file=_sys.stderr)\n"
    nb = replace_answer(
        solved,
        WRONG_ID,
        lambda src: re.sub(
            r"^( +)return int\(math\.ceil",
            r"\1_sys.stderr.write('noise\\n')\n\1return int(math.ceil",
            src,
            flags=re.M,
        ),
    )
    out["writes_stderr"] = (prepend(nb, WRONG_ID, noisy), dict(POINTS), None)

    # ends its own kernel in the third answer: what ran before keeps its points
    out["kills_kernel"] = (
        prepend(solved, WRONG_ID, "import os\nos._exit(0)\n"),
        _all_but(*ORDER[ORDER.index(WRONG_TESTS) :]),
        "the kernel died",
    )
    return out


SCENARIOS = scenario_notebooks()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("class"), [A])
    for learner, (nb, _, _) in scenario_notebooks(course.solved(A)).items():
        course.submit(learner, A, nb)
    # malformed submissions
    course.submit("bad_json", A, raw='{"cells": [ this is not json')
    (course.root / "submitted" / "missing" / A).mkdir(parents=True)
    (course.root / "submitted" / "missing" / A / "notes.txt").write_text("forgot the notebook")
    course.submit("renamed", A, course.solved(A), filename=f"{A}-Copy1.ipynb")
    course.submit("extra", A, course.solved(A))
    course.submit("extra", A, course.release(A), filename="scratch.ipynb")
    before = _hashes(course.root / "submitted")
    result = course.autograde(A)
    return course, result, before


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("learner", sorted(SCENARIOS))
def test_scores(graded, learner):
    course, result, _ = graded
    _, expected, reported = SCENARIOS[learner]
    assert course.test_scores(learner, A) == expected
    # written answers wait for the instructor: autograding never gives them points
    written = {k: v for k, v in course.cell_scores(learner, A).items() if k not in POINTS}
    assert all(v == 0 for v in written.values()), written
    found = [i.detail for i in incidents(course.root, A) if i.student == learner]
    if reported is None:
        assert not [f for f in found if "tampered" in f or "did not" in f], found
    else:
        assert any(reported in f for f in found), found


def test_extra_notebook_is_ignored(graded):
    assert graded[0].test_scores("extra", A) == POINTS


def test_huge_output_is_truncated(graded):
    course = graded[0]
    path = course.root / "autograded" / "prints_a_lot" / A / f"{A}.ipynb"
    assert path.stat().st_size < 2_000_000, "the million printed lines were kept"


def test_malformed_submissions_do_not_stop_the_class(graded):
    course, result, before = graded
    log = result.stdout + result.stderr
    # nbgrader names the learner whose notebook it could not read, and carries on
    assert "bad_json" in log
    assert course.test_scores("honest", A) == POINTS
    # nothing is lost: every submitted file is still there, unchanged
    assert _hashes(course.root / "submitted") == before


def test_preflight_check_names_learner_and_problem(graded):
    course = graded[0]
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.grading", "check", A],
        cwd=course.root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    out = result.stdout
    assert "bad_json: 01_data_preprocessing.ipynb is not valid notebook JSON" in out
    assert "missing: 01_data_preprocessing.ipynb is missing" in out
    assert (
        f"renamed: {A}.ipynb is missing; found {A}-Copy1.ipynb instead: rename it to {A}.ipynb"
        in out
    )
    assert "extra: scratch.ipynb is not part of 01_data_preprocessing and is not graded" in out
    assert "honest" not in out
    assert "Grading sandbox: ready" in out


def test_same_submission_same_grade(graded):
    course = graded[0]
    learners = ("honest", "edits_test", "hides_tracebacks")
    first = [course.test_scores(learner, A) for learner in learners]
    for learner in learners:
        course.check(course.autograde(A, "--student", learner, "--force"))
    assert [course.test_scores(learner, A) for learner in learners] == first


def test_feedback_hides_hidden_tests(graded):
    course = graded[0]
    for learner in ("honest", "edits_test", "monkeypatches_checks"):
        course.check(course.generate_feedback(A, "--student", learner, "--force"))
        html = (course.root / "feedback" / learner / A / f"{A}.html").read_text()
        assert "Visible tests passed" in html or "checks." in html  # the visible tests are shown
        for secret in (
            "BEGIN HIDDEN TESTS",
            "iterations_per_epoch(55_000, 32)",
            "hidden_labels",
            "importlib.reload",
        ):
            assert secret not in html, f"{learner}'s feedback reveals hidden test text {secret!r}"


def test_a_notebook_that_sleeps_is_stopped_by_its_budget(tmp_path):
    """Each sleep would last its cell's whole timeout; the notebook budget ends it much sooner."""
    course = Course(tmp_path / "course", [A])
    sleepy = course.solved(A)
    for cell_id in ("one_hot_by_hand", "standardize", "iterations", "make_dataset"):
        sleepy = prepend(sleepy, cell_id, "import time as _t\n_t.sleep(10**6)\n")
    course.submit("sleeps_everywhere", A, sleepy)
    course.submit("after_it", A, course.solved(A))
    started = time.monotonic()
    # the budget leaves room for a whole correct notebook on a slow, busy machine (about 40 s)
    course.check(course.autograde(A, "--Execute.timeout=300", "--GradingExecute.total_timeout=100"))
    elapsed = time.monotonic() - started
    # without the budget: 4 cells x 300 s; with it: about 100 s, plus the second learner
    assert elapsed < 400, f"grading took {elapsed:.0f} s: the notebook budget did not stop it"
    assert sum(course.test_scores("sleeps_everywhere", A).values()) == 0
    assert course.test_scores("after_it", A) == POINTS
    stopped = [i.detail for i in incidents(course.root, A) if i.student == "sleeps_everywhere"]
    assert any("time budget" in detail for detail in stopped), stopped


def test_an_endless_loop_costs_only_its_exercise(tmp_path):
    course = Course(tmp_path / "course", [A])
    course.submit(
        "loops", A, prepend(course.solved(A), "one_hot_by_hand", "while True:\n    pass\n")
    )
    course.check(course.autograde(A, "--Execute.timeout=20"))
    assert course.test_scores("loops", A) == _all_but("one_hot_by_hand_tests")


def test_corrupt_data_cache_is_a_clear_error_not_a_zero(tmp_path):
    """The grading machine's data cache is damaged: no grade, a message that says why."""
    course = Course(tmp_path / "course", [A])
    course.submit("unlucky", A, course.solved(A))
    keras_home = tmp_path / "keras"
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    from course_utils.data import FASHION_MNIST_FILES, keras_cache_dir

    for name in FASHION_MNIST_FILES:
        shutil.copy(keras_cache_dir() / name, cache / name)
    damaged = cache / "train-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:1_000_000])
    course.env = nbgrader_env(KERAS_HOME=str(keras_home))
    result = course.autograde(A)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Not graded: learner 'unlucky'" in log
    assert "DataCorruptError" in log and "train-images-idx3-ubyte.gz" in log
    rows = {r["student_id"]: r for r in course.export()}
    assert (
        "unlucky" not in rows
        or rows["unlucky"]["score"] in ("", "0.0")
        and not (course.root / "autograded" / "unlucky" / A).exists()
    )


def test_validate_agrees_with_autograding(graded, tmp_path):
    course = graded[0]
    right = tmp_path / "right" / f"{A}.ipynb"
    wrong = tmp_path / "wrong" / f"{A}.ipynb"
    untouched = tmp_path / "untouched" / f"{A}.ipynb"
    for path, nb in (
        (right, course.solved(A)),
        (wrong, with_wrong_answer(course.solved(A))),
        (untouched, course.release(A)),
    ):
        path.parent.mkdir()
        nbformat.write(nb, path)

    def validate(path):
        return subprocess.run(
            [sys.executable, "-m", "course_utils.grading", "validate", str(path)],
            cwd=course.root,
            env=nbgrader_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )

    ok, bad, todo = validate(right), validate(wrong), validate(untouched)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4 of 4 exercises pass their visible tests (9 of 9 points)" in ok.stdout
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert (
        "FAILED   iterations_tests (1 point): AssertionError: iterations_per_epoch(50_000, 256) "
        "(195 full batches and a smaller one: round up): expected 196, got 195" in bad.stdout
    )
    assert "<span" not in bad.stdout and "\x1b[" not in bad.stdout  # plain text, not HTML
    assert todo.returncode == 1
    assert "TO DO    one_hot_by_hand_tests (2 points): not attempted yet" in todo.stdout
    # autograding the same wrong answer fails the same (and only that) test cell
    assert course.test_scores("edits_test", A) == _all_but(WRONG_TESTS)
