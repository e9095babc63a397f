"""Grading that holds up against real learners: tampering, faults and bad submissions.

Every learner below submits notebook 01 (the smallest) built from the real release,
with one thing done wrong or one trick tried. The class is autograded with the
repository's nbgrader configuration, as an instructor would.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from grading import SMALLEST, Course, grade_id, graded_cell_points, nbgrader_env, replace_answer

pytestmark = pytest.mark.slow

A = SMALLEST
POINTS = graded_cell_points(A)
FULL = sum(POINTS.values())

# The exercise most scenarios get wrong, and the wrong answer (195 instead of 196).
WRONG_ID, WRONG_TESTS = "iterations", "iterations_tests"
RIGHT = "math.ceil(n_samples / batch_size)"
WRONG = "n_samples // batch_size"


def _wrong(nb):
    return replace_answer(nb, WRONG_ID, lambda src: src.replace(RIGHT, WRONG))


def _prepend(nb, cell_id, code):
    return replace_answer(nb, cell_id, lambda src: code + "\n" + src)


def _cell_index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def _all_but(wrong_test):
    return {k: (0.0 if k == wrong_test else v) for k, v in POINTS.items()}


def scenario_notebooks(course):
    """learner -> (notebook, expected cell scores)."""
    solved = course.solved(A)
    out = {}

    out["honest"] = (solved, dict(POINTS))

    # 1. edits a visible test cell to `pass`
    nb = _wrong(solved)
    nb.cells[_cell_index(nb, WRONG_TESTS)].source = "pass"
    out["edits_test"] = (nb, _all_but(WRONG_TESTS))

    # 2. deletes a test cell: put back and graded, for a wrong and for a right answer
    nb = _wrong(solved)
    del nb.cells[_cell_index(nb, WRONG_TESTS)]
    out["deletes_test_wrong"] = (nb, _all_but(WRONG_TESTS))
    nb = nbformat.from_dict(solved)
    del nb.cells[_cell_index(nb, WRONG_TESTS)]
    out["deletes_test_right"] = (nb, dict(POINTS))

    # 3. duplicates a test cell (the copy says `pass`), changes a test cell's type
    nb = _wrong(solved)
    i = _cell_index(nb, WRONG_TESTS)
    copy = nbformat.from_dict(nb.cells[i])
    copy.id = f"{copy.id}-copy"  # JupyterLab gives a pasted cell a new id; the grade_id stays
    copy.source = "pass"
    nb.cells.insert(i + 1, copy)
    out["duplicates_test"] = (nb, _all_but(WRONG_TESTS))
    nb = _wrong(solved)
    cell = nb.cells[_cell_index(nb, WRONG_TESTS)]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    out["changes_cell_type"] = (nb, _all_but(WRONG_TESTS))
    nb = nbformat.from_dict(solved)
    cell = nb.cells[_cell_index(nb, "one_hot_by_hand_tests")]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    out["changes_cell_type_right"] = (nb, dict(POINTS))

    # 4. monkeypatches course_utils.checks, redefines helpers, shadows builtins and numpy
    cheat = (
        "import course_utils.checks as _c\n"
        "for _n in dir(_c):\n"
        "    if _n.startswith('check_'):\n"
        "        setattr(_c, _n, lambda *a, **k: None)\n"
        "check_equal = lambda *a, **k: None\n"
        "len = lambda x: 5\n"
        "isinstance = lambda *a: True\n"
    )
    out["monkeypatches_checks"] = (_prepend(_wrong(solved), WRONG_ID, cheat), _all_but(WRONG_TESTS))
    # a wrong make_dataset (drops the last, smaller batch): `len` shadowed to hide it
    nb = replace_answer(
        solved,
        "make_dataset",
        lambda src: src.replace(".batch(batch_size)", ".batch(batch_size, drop_remainder=True)"),
    )
    nb = _prepend(
        nb,
        "make_dataset",
        cheat.replace(
            "len = lambda x: 5",
            "len = lambda x: 5 if type(x) is list and x and x[0][0].shape[0] == 32 else 10",
        ),
    )
    out["shadows_builtins"] = (nb, _all_but("make_dataset_tests"))

    # 5. hides its errors by replacing IPython's showtraceback
    hide = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.showtraceback = lambda *a, **k: None\n"
    )
    out["hides_tracebacks"] = (_prepend(_wrong(solved), WRONG_ID, hide), _all_but(WRONG_TESTS))

    # 7. prints a million lines, then answers correctly; allocates far too much memory
    spam = "for _i in range(1_000_000):\n    print('spam', _i)\n"
    out["prints_a_lot"] = (_prepend(solved, "one_hot_by_hand", spam), dict(POINTS))
    hog = "_hog = bytearray(64 * 1024**3)  # 64 GiB\n"
    out["allocates_too_much"] = (_prepend(solved, WRONG_ID, hog), _all_but(WRONG_TESTS))

    # 8. a NameError in an early answer: the other exercises keep their points
    nb = replace_answer(solved, "one_hot_by_hand", "one_hot_by_hand = undefined_helper")
    out["name_error"] = (nb, _all_but("one_hot_by_hand_tests"))

    # 10. a correct answer that writes to stderr (as library warnings do)
    noisy = (
        "import sys as _sys, warnings as _w\n"
        "print('W tensorflow/core: some log line', file=_sys.stderr)\n"
    )
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
    out["writes_stderr"] = (_prepend(nb, WRONG_ID, noisy), dict(POINTS))
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("class"), [A])
    expected = {}
    for learner, (nb, scores) in scenario_notebooks(course).items():
        course.submit(learner, A, nb)
        expected[learner] = scores
    # 9. malformed submissions
    course.submit("bad_json", A, raw='{"cells": [ this is not json')
    (course.root / "submitted" / "missing" / A).mkdir(parents=True)
    (course.root / "submitted" / "missing" / A / "notes.txt").write_text("forgot the notebook")
    course.submit("renamed", A, course.solved(A), filename=f"{A}-Copy1.ipynb")
    course.submit("extra", A, course.solved(A))
    course.submit("extra", A, course.release(A), filename="scratch.ipynb")
    expected["extra"] = dict(POINTS)
    before = _hashes(course.root / "submitted")
    started = time.monotonic()
    result = course.autograde(A)
    elapsed = time.monotonic() - started
    return course, expected, result, before, elapsed


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


SCENARIOS = [
    "honest",
    "edits_test",
    "deletes_test_wrong",
    "deletes_test_right",
    "duplicates_test",
    "changes_cell_type",
    "changes_cell_type_right",
    "monkeypatches_checks",
    "shadows_builtins",
    "hides_tracebacks",
    "prints_a_lot",
    "allocates_too_much",
    "name_error",
    "writes_stderr",
    "extra",
]


@pytest.mark.parametrize("learner", SCENARIOS)
def test_scores(graded, learner):
    course, expected, _, _, _ = graded
    assert course.cell_scores(learner, A) == expected[learner]


def test_huge_output_is_truncated(graded):
    course = graded[0]
    path = course.root / "autograded" / "prints_a_lot" / A / f"{A}.ipynb"
    assert path.stat().st_size < 2_000_000, "the million printed lines were kept"


def test_malformed_submissions_do_not_stop_the_class(graded):
    course, _, result, before, _ = graded
    log = result.stdout + result.stderr
    # nbgrader names the learner whose notebook it could not read, and carries on
    assert "bad_json" in log
    assert course.cell_scores("honest", A) == POINTS
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


def test_same_submission_same_grade(graded):
    course = graded[0]
    first = course.cell_scores("honest", A), course.cell_scores("edits_test", A)
    course.check(course.autograde(A, "--student", "honest", "--force"))
    course.check(course.autograde(A, "--student", "edits_test", "--force"))
    assert (course.cell_scores("honest", A), course.cell_scores("edits_test", A)) == first


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


def test_runaway_cells_time_out_and_grading_goes_on(tmp_path):
    """6. an endless loop times out alone; sleeping everywhere is cut short by the budget."""
    course = Course(tmp_path / "course", [A])
    solved = course.solved(A)
    course.submit("loops", A, _prepend(solved, "one_hot_by_hand", "while True:\n    pass\n"))
    sleepy = solved
    for cell_id in ("one_hot_by_hand", "standardize", "iterations", "make_dataset"):
        sleepy = _prepend(sleepy, cell_id, "import time as _t\n_t.sleep(10**6)\n")
    course.submit("sleeps_everywhere", A, sleepy)
    course.submit("after_them", A, solved)
    started = time.monotonic()
    course.check(course.autograde(A, "--Execute.timeout=20", "--BudgetedExecute.total_timeout=60"))
    elapsed = time.monotonic() - started
    assert course.cell_scores("loops", A) == _all_but("one_hot_by_hand_tests")
    assert course.cell_scores("after_them", A) == POINTS
    # four 20 s sleeps would take 80 s; the 60 s budget cuts the notebook short
    assert sum(course.cell_scores("sleeps_everywhere", A).values()) < FULL
    assert elapsed < 3 * 60 + 60, f"grading three learners took {elapsed:.0f} s"


def test_corrupt_data_cache_is_a_clear_error_not_a_zero(tmp_path):
    """12. the grading machine's data cache is damaged: no grade, a message that says why."""
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
    env = nbgrader_env()
    env["KERAS_HOME"] = str(keras_home)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", A, "--log-level=WARN"],
        cwd=course.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
    for path, nb in ((right, course.solved(A)), (wrong, _wrong(course.solved(A)))):
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

    ok, bad = validate(right), validate(wrong)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "iterations_per_epoch(50_000, 256): expected 196, got 195" in bad.stdout
    assert "1 test cell(s) failed" in bad.stdout
    # autograding the same wrong answer fails the same (and only that) test cell
    assert course.cell_scores("edits_test", A) == _all_but(WRONG_TESTS)


def test_guard_restores_builtins_for_test_code():
    """Unit check of the guard itself: shadowed names cannot reach the test's code."""
    from course_utils.grading import guarded_source

    namespace = {"len": lambda x: 99, "answer": [1, 2, 3]}
    test = "if len(answer) != 3:\n    raise AssertionError('wrong length')\nresult_seen = True"
    exec(guarded_source(test, "t"), namespace)  # noqa: S102
    with pytest.raises(AssertionError, match="wrong length"):
        exec(test, dict(namespace))  # without the guard the shadowed len is used
    assert "result_seen" not in namespace, "test code must not write into the learner's namespace"
    json.dumps(guarded_source(test, "t"))  # plain text, safe to store in a notebook


def test_restored_test_cell_keeps_no_trace_of_the_wrapper():
    """The wrapper's traceback frame quotes the hidden tests: it must not reach feedback."""
    from course_utils.grading import GuardTestCells, RestoreTestCells

    source = "check(answer)\n### BEGIN HIDDEN TESTS\nsecret_case()\n### END HIDDEN TESTS"
    cell = nbformat.v4.new_code_cell(
        source, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}}
    )
    cell, _ = GuardTestCells().preprocess_cell(cell, {}, 0)
    assert "secret_case" in cell.source and "_course_builtins" in cell.source
    frame = f"Cell In[3], line 2\n----> 2 _course_builtins.exec({source!r})"
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="AssertionError",
            evalue="answer: expected 1, got 2",
            traceback=["----", frame, "File <tests t>:1", "AssertionError: expected 1, got 2"],
        )
    ]
    cell, _ = RestoreTestCells().preprocess_cell(cell, {}, 0)
    assert cell.source == source
    assert "_course_builtins" not in cell.metadata
    traceback = cell.outputs[0]["traceback"]
    assert traceback == ["----", "File <tests t>:1", "AssertionError: expected 1, got 2"]
    assert not any("secret_case" in entry for entry in traceback)
