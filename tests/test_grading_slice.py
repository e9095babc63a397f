"""The grading slice: only the cells the answers and tests need run at grading time.

In process (fast): what the static analysis reads from a cell, which cells a notebook's
slice keeps and why, when an error sends a notebook back to a full run. Through nbgrader
(slow, on a fixture assignment with teaching cells added): a skipped cell leaves no trace,
a learner's own cell always runs, a needed cell wrongly skipped by a tag sends the notebook
back to a full run that keeps full marks, the release shows no slice tag, and grades with
and without the slice are the same. The course's own notebooks are compared with and
without the slice in ``test_round_trip.py``.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from course_utils.grading.cli import main
from course_utils.grading.contract import METADATA_KEY
from course_utils.grading.nbgrader_steps.grading_slice import (
    KEEP_TAG,
    SKIP_TAG,
    cell_names,
    describe,
    explained_by_skipped,
    first_explained_error,
    plan,
    skipped_names,
    slice_of,
)
from course_utils.grading.nbgrader_steps.preprocessors import ClearGradingTags
from helpers import ASSIGNMENTS, FIXTURES, REPO, SOLUTIONS, Course, grade_id, replace_answer


def code(source, grade_id=None, kind=None, tags=None):
    metadata = {}
    if kind == "answer":
        metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": grade_id}
    elif kind == "test":
        metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": grade_id}
        metadata["nbgrader"]["points"] = 1
    if tags:
        metadata["tags"] = tags
    return nbformat.v4.new_code_cell(source, metadata=metadata)


def kept(cells, **kw):
    return [step.index for step in plan(cells, **kw) if step.keep]


# ---- what a cell reads and binds -------------------------------------------------


def test_a_name_bound_before_it_is_read_in_the_same_cell_is_not_a_read():
    names = cell_names("model = build()\nmodel.fit(X)\nhistory = model.history")
    assert names.reads == {"build", "X"}
    assert names.binds == {"model", "history"}


def test_a_name_read_then_rebound_is_a_read():
    assert "x" in cell_names("x = x + 1").reads
    assert "total" in cell_names("total += 1").reads


def test_functions_read_their_globals_when_called_not_their_locals():
    names = cell_names("def f(a):\n    b = a + offset\n    return helper(b)\n")
    assert names.deferred == {"offset", "helper"} and not names.reads
    assert names.binds == {"f"}
    lam = cell_names("g = lambda v: v * scale")
    assert lam.deferred == {"scale"}


def test_comprehension_variables_are_not_reads():
    names = cell_names("squares = [i * i for i in values]")
    assert names.reads == {"values"}


def test_binds_inside_loops_and_branches_are_only_maybe():
    names = cell_names("if flag:\n    a = 1\nfor k in keys:\n    b = k\n")
    assert names.binds == set()
    assert {"a", "b", "k"} <= names.maybe_binds


def test_changes_in_place_but_not_read_only_methods():
    names = cell_names("model.fit(X)\nd['k'] = 1\nlog.x = 2\nX.reshape(-1)\nnp.random.seed(0)")
    assert {"model", "d", "log"} <= names.changes
    assert "X" not in names.changes


@pytest.mark.parametrize(
    "source",
    [
        "%time model.fit(X)",
        "!ls",
        "globals()['x'] = 1",
        "exec('x = 1')",
        "value = eval('1 + 1')",
        "import importlib\nimportlib.reload(m)",
        "setattr(module, 'x', 1)",
        "def broken(:",
    ],
)
def test_code_whose_effects_cannot_be_read_is_opaque(source):
    assert cell_names(source).opaque


def test_a_test_cell_is_never_opaque():
    source = 'import importlib\nchecks = importlib.reload(importlib.import_module("c"))\nf(1)'
    assert not cell_names(source, test=True).opaque
    assert "f" in cell_names(source, test=True).reads


# ---- which cells run -------------------------------------------------------------


def notebook_cells():
    return [
        code("import numpy as np"),  # 0 setup
        code("data = np.arange(10)\nunused = 1"),  # 1 needed: data
        code("model = make()\nplot(model)"),  # 2 not needed
        code("model.fit(data)"),  # 3 not needed (model is not needed)
        code("def mean(x):\n    return x.mean() + offset", "mean", "answer"),  # 4
        code("offset = 0"),  # 5 after the answer, but bound before the test calls it
        code("assert mean(data) == 4.5", "mean_tests", "test"),  # 6
    ]


def test_the_slice_keeps_setup_answers_tests_and_what_they_read():
    cells = notebook_cells()
    assert kept(cells) == [0, 1, 4, 5, 6]
    steps = plan(cells)
    assert "data" in steps[1].why and "read by cell 6" in steps[1].why
    assert "offset" in steps[5].why and "function" in steps[5].why  # read when mean is called
    assert "nothing kept reads" in steps[2].why


def test_a_change_in_place_of_a_needed_name_is_kept():
    cells = notebook_cells()
    cells[6] = code("assert mean(data) == 4.5\nmodel.summary()", "mean_tests", "test")
    assert kept(cells) == [0, 1, 2, 3, 4, 5, 6]  # model is made in 2 and trained in 3


def test_the_learners_own_cells_always_run_with_what_they_read():
    cells = notebook_cells()
    teaching = [c.source for i, c in enumerate(cells) if i in (0, 1, 2, 3, 5)]
    cells.insert(4, code("print(model)"))  # a cell the learner added
    assert kept(cells, teaching=teaching) == [0, 1, 2, 3, 4, 5, 6, 7]
    cells[3].source = "model.fit(data)  # changed by the learner"
    steps = plan(cells, teaching=teaching)
    assert steps[3].keep and "learner" in steps[3].why


def test_an_opaque_cell_keeps_every_cell_before_it():
    cells = notebook_cells()
    cells.insert(4, code("%matplotlib inline"))
    assert kept(cells) == list(range(len(cells)))


def test_tags_force_a_cell_in_or_out():
    cells = notebook_cells()
    cells[2].metadata["tags"] = [KEEP_TAG]
    cells[1].metadata["tags"] = [SKIP_TAG]
    steps = plan(cells)
    assert steps[2].keep and KEEP_TAG in steps[2].why
    assert not steps[1].keep and SKIP_TAG in steps[1].why
    # in a submission, tags come from the instructor's copy of the cell, never the learner's
    plain = notebook_cells()
    teaching = [c.source for i, c in enumerate(plain) if i in (0, 1, 2, 3, 5)]
    assert plan(plain, teaching=teaching, tags={plain[2].source: [KEEP_TAG]})[2].keep
    plain[1].metadata["tags"] = [SKIP_TAG]  # added by the learner: ignored, data is still read
    plain[3].metadata["tags"] = [KEEP_TAG]
    steps = plan(plain, teaching=teaching)
    assert steps[1].keep and not steps[3].keep


def test_every_course_notebook_skips_cells_and_keeps_every_graded_one():
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        steps = slice_of(nb, nb)
        graded = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader")]
        graded_code = [i for i in graded if nb.cells[i].cell_type == "code"]
        by_index = {step.index: step for step in steps}
        assert all(by_index[i].keep for i in graded_code), assignment
        assert sum(not step.keep for step in steps) >= 5, (assignment, describe(steps))


# ---- falling back to a full run ----------------------------------------------------


def error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_an_error_naming_what_a_skipped_cell_makes_sends_the_notebook_back():
    cells = notebook_cells()
    names = skipped_names(cells, [2, 3])
    assert {"model", "plot"} & names == {"model"}
    assert explained_by_skipped([error("NameError", "name 'model' is not defined")], names)
    assert explained_by_skipped([error("AttributeError", "no attribute 'model'")], names)
    # other errors, or errors about other names, are the learner's own
    assert not explained_by_skipped([error("NameError", "name 'undefined' is not defined")], names)
    assert not explained_by_skipped([error("AssertionError", "model: expected 2")], names)
    assert not explained_by_skipped([{"output_type": "stream", "text": "model"}], names)


def test_keys_a_skipped_cell_sets_count_as_its_names():
    cells = [code("results = {}"), code("results['adam'] = 0.9\nrun.best = 1")]
    names = skipped_names(cells, [1])
    assert {"adam", "best", "results", "run"} <= names
    assert explained_by_skipped([error("KeyError", "'adam'")], names)


def test_a_name_error_goes_back_to_a_full_run_only_if_skipping_could_explain_it():
    """A NameError names one name. An answer that never finished (stopped by its timeout)
    leaves its function undefined: no skipped cell binds it, so there is no second, full run
    (which would spend the notebook's time budget again), even if the traceback mentions a
    skipped cell's name. A name a skipped cell binds, or that a function sets as a global
    (bound where it is called, maybe in a skipped cell), still sends the notebook back."""
    cells = [
        code("import numpy as np\ndef configure():\n    global factor\n    factor = 2"),
        code("model = build()\nscale = 2\nconfigure()"),  # teaching, skipped
        code("def answer(x):\n    return x * 2", grade_id="answer", kind="answer"),
        code("assert answer(1) == 2", grade_id="answer_tests", kind="test"),
    ]

    def failing(missing):
        message = f"your code raised NameError: name '{missing}' is not defined"
        cells[3].outputs = [error("NameError", message)]
        cells[3].outputs[0]["traceback"] = ["assert answer(1) == 2  # model, scale"]
        return first_explained_error(cells, {1})

    assert failing("answer") is None  # its own answer cell binds it, no skipped cell does
    assert failing("typo") is None  # the learner's own mistake
    assert "name 'scale'" in failing("scale")  # the skipped cell binds it
    assert "name 'factor'" in failing("factor")  # a function's global, set in a skipped cell
    # other errors: any name of a skipped cell in the message or traceback
    cells[3].outputs = [error("AttributeError", "'NoneType' object has no attribute 'fit'")]
    cells[3].outputs[0]["traceback"] = ["model.fit(x)"]
    assert "AttributeError" in first_explained_error(cells, {1})


def test_a_star_import_makes_a_cell_opaque():
    """``from module import *`` binds names no one can list: the cells before it all run."""
    assert cell_names("from math import *").opaque
    assert not cell_names("from math import sqrt").opaque


# ---- Validate: the slice on the learner's side ----------------------------------------


def validated(cells, tmp_path, **config):
    """Run ``cells`` as the Validate button does; the notebook with its outputs."""
    from course_utils.grading.nbgrader_steps.validate import ValidateExecute

    nb = nbformat.v4.new_notebook(cells=cells)
    step = ValidateExecute(timeout=60, kernel_name="python3", **config)
    return step.preprocess(nb, {"metadata": {"path": str(tmp_path)}})[0]


def ran(nb):
    return [i for i, cell in enumerate(nb.cells) if cell.execution_count is not None]


def test_validate_runs_only_the_slice(tmp_path):
    cells = notebook_cells()
    cells[0].source = "import numpy as np\nmake = plot = print"
    cells[6].source += "\nprint('mean ok')"
    nb = validated(cells, tmp_path)
    assert ran(nb) == [0, 1, 4, 5, 6]
    assert nb.cells[2].outputs == [] and nb.cells[6].outputs[0]["text"] == "mean ok\n"
    assert ran(validated(cells, tmp_path, grading_slice=False)) == list(range(7))


def test_validate_runs_every_cell_again_when_a_skipped_cell_could_explain_an_error(tmp_path):
    cells = notebook_cells()
    cells[1].metadata["tags"] = [SKIP_TAG]  # a needed cell wrongly skipped: NameError 'data'
    nb = validated(cells, tmp_path)
    assert 1 in ran(nb) and not [o for o in nb.cells[6].outputs if o["output_type"] == "error"]
    # a learner's own mistake is not sent back: its error stays, and skipped cells stay skipped
    cells = notebook_cells()
    cells[4].source = "def mean(x):\n    return undefined_name"
    nb = validated(cells, tmp_path)
    assert 2 not in ran(nb)
    assert nb.cells[6].outputs[0]["ename"] == "NameError"


# ---- the release and the command --------------------------------------------------


def test_the_release_drops_the_slice_tags():
    cell = code("x = 1", tags=[KEEP_TAG, "other"])
    bare = code("y = 2", tags=[SKIP_TAG])
    step = ClearGradingTags()
    assert step.preprocess_cell(cell, {}, 0)[0].metadata.tags == ["other"]
    assert "tags" not in step.preprocess_cell(bare, {}, 1)[0].metadata


def test_the_slice_command_prints_every_code_cell(capsys):
    assert main(["slice", "05_normalization_callbacks", "--root", str(REPO)]) == 0
    out = capsys.readouterr().out
    nb = nbformat.read(
        SOLUTIONS / "05_normalization_callbacks" / "05_normalization_callbacks.ipynb", 4
    )
    assert out.count("  run   ") + out.count("  skip  ") == sum(
        c.cell_type == "code" for c in nb.cells
    )
    assert "test cell make_run_dir_tests" in out and "code cells run" in out
    assert main(["slice", "99_missing", "--root", str(REPO)]) == 1


# ---- through nbgrader -----------------------------------------------------------------

A = "00_fixture"
DEMO = 'demo = sum(i * i for i in range(1000))\nprint("demo", demo)'
FACTOR = "factor = 2  # the answer to exercise 1 reads it"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The fixture assignment with three teaching cells: a demo no one reads, an offset the
    reference answer of exercise 2 reads, and a factor exercise 1 reads but tagged
    ``grading:skip`` by mistake (so the slice fails and the notebook is graded in full)."""
    sources = tmp_path_factory.mktemp("sources")
    shutil.copytree(FIXTURES / A, sources / A)
    path = sources / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "setup") + 1
    nb.cells[at:at] = [
        code(DEMO),
        code("offset = 0.0"),
        code(FACTOR, tags=[SKIP_TAG]),
    ]
    for cell in nb.cells:
        if grade_id(cell) == "double":
            cell.source = cell.source.replace("return 2 * x", "return factor * x")
        if grade_id(cell) == "mean":
            cell.source = cell.source.replace("np.mean(values))", "np.mean(values)) + offset")
    nbformat.write(nb, path)
    course = Course(tmp_path_factory.mktemp("course"), [A], sources=sources)
    solved = course.solved(A)
    course.submit("reads_factor", A, solved)  # the tag was wrong: graded again in full
    plain = replace_answer(solved, "double", lambda s: s.replace("factor * x", "2 * x"))
    course.submit("plain", A, plain)
    added = nbformat.from_dict(plain)
    added.cells.insert(at + 1, nbformat.v4.new_code_cell("print(demo)"))
    course.submit("adds_a_cell", A, added)
    course.submit("untouched", A, course.release(A))
    course.check(course.autograde(A))
    sliced = {s: course.test_scores(s, A) for s in LEARNERS}
    notebooks = {s: course.autograded_notebook(s, A) for s in LEARNERS}
    course.check(course.autograde(A, "--force", "--GradingExecute.grading_slice=False"))
    full = {s: course.test_scores(s, A) for s in LEARNERS}
    return course, sliced, full, notebooks


LEARNERS = ["reads_factor", "plain", "adds_a_cell", "untouched"]


def _demo_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source == DEMO)


@pytest.mark.slow
def test_a_cell_no_one_needs_does_not_run(graded):
    course, sliced, _, notebooks = graded
    assert sliced["plain"] == course.points(A)
    record = notebooks["plain"].metadata[METADATA_KEY]["slice"]
    assert record["fallback"] is None and record["cells_skipped"] == 2  # demo, factor
    demo = _demo_cell(notebooks["plain"])
    assert demo.outputs == [] and demo.execution_count is None


@pytest.mark.slow
def test_a_learners_own_cell_runs_with_the_cells_it_reads(graded):
    course, sliced, _, notebooks = graded
    assert sliced["adds_a_cell"] == course.points(A)
    assert any("demo" in o.get("text", "") for o in _demo_cell(notebooks["adds_a_cell"]).outputs)


@pytest.mark.slow
def test_an_error_a_skipped_cell_explains_is_graded_again_in_full(graded):
    course, sliced, _, notebooks = graded
    assert sliced["reads_factor"] == course.points(A)  # never a wrong zero
    record = notebooks["reads_factor"].metadata[METADATA_KEY]["slice"]
    assert "factor" in record["fallback"] and record["cells_skipped"] == 0
    assert _demo_cell(notebooks["reads_factor"]).outputs  # the full run's outputs are kept


@pytest.mark.slow
def test_grades_are_the_same_with_and_without_the_slice(graded):
    _, sliced, full, _ = graded
    assert sliced == full
    assert sum(full["untouched"].values()) == 0


@pytest.mark.slow
def test_the_release_shows_no_slice_tag(graded):
    course = graded[0]
    release = course.release(A)
    assert not [
        c for c in release.cells if any("grading:" in t for t in c.metadata.get("tags", []))
    ]
    assert any(c.source == FACTOR for c in release.cells)
