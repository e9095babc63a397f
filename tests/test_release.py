"""The learner notebooks are exactly what nbgrader generates from solutions/, and
every notebook follows the course's conventions."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from course_utils.grading.nbgrader_steps.cells import grade_id, is_answer_cell, is_test_cell, points
from helpers import ASSIGNMENTS, NOTEBOOKS, REPO, SOLUTIONS, Course


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("release"), ASSIGNMENTS)


def test_every_solution_has_a_release_and_back():
    released = sorted(p.name for p in NOTEBOOKS.iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, (
        "notebooks/ and solutions/ hold different assignments: run make release"
    )
    assert len(ASSIGNMENTS) >= 1


@pytest.mark.slow  # regenerates every assignment with nbgrader
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_matches_nbgrader_output(regenerated, assignment):
    committed = (NOTEBOOKS / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    fresh = (regenerated.root / "notebooks" / assignment / f"{assignment}.ipynb").read_text(
        encoding="utf-8"
    )
    assert json.loads(committed) == json.loads(fresh), (
        f"notebooks/{assignment} is out of date with solutions/{assignment}: run `make release` and commit"
    )
    extra = {p.name for p in (NOTEBOOKS / assignment).iterdir()} - {
        p.name for p in (regenerated.root / "notebooks" / assignment).iterdir()
    }
    assert not extra, f"notebooks/{assignment} holds files nbgrader does not release: {extra}"


def _notebooks():
    return sorted(SOLUTIONS.glob("*/*.ipynb")) + sorted(NOTEBOOKS.glob("*/*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(REPO)))
def test_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {i} has outputs: commit notebooks without outputs"
            assert cell.execution_count is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grading_conventions(assignment):
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    ids, tests = [], []
    for cell in nb.cells:
        if not cell.metadata.get("nbgrader"):
            continue
        gid = grade_id(cell)
        ids.append(gid)
        assert re.fullmatch(r"[a-z0-9_]+", gid), gid
        if is_test_cell(cell):
            tests.append(gid)
            assert cell.metadata.nbgrader.get("locked"), f"{gid}: test cells must be locked"
            assert points(cell) > 0, f"{gid}: test cells need points"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{gid}: no hidden tests"
            visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)
            assert "checks." in visible, f"{gid}: no visible tests that teach"
            # the hidden tests start from a fresh copy of the checks, whatever the learner did
            assert re.search(
                r"checks = importlib\.reload\(importlib\.import_module\(\"course_utils\.checks\"\)\)",
                hidden,
            ), f"{gid}: hidden tests must reload course_utils.checks first"
        if is_answer_cell(cell):
            assert "BEGIN SOLUTION" in cell.source, f"{gid}: solution cell without markers"
    assert len(ids) == len(set(ids)), f"duplicate grade_ids in {assignment}"
    assert len(tests) >= 3, f"{assignment}: at least 3 graded exercises expected"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "course_utils.setup()" in first_code.source, (
        "the first code cell must call course_utils.setup()"
    )


# Teaching-cell names a hidden test may read from the learner's kernel: inputs handed to the
# learner's own code, never data or code the verdict is computed from.
HIDDEN_INPUTS = {
    "train_mlp_tests": {"X_train", "y_train"},  # the images train_mlp trained on
    "fit_custom_tests": {"X_train", "y_train"},  # the images fit_custom trains on
}


def _bound(source: str) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_tests_take_only_answers_from_the_learners_kernel(assignment):
    """What a hidden test computes its verdict from (reference data, a teaching function that
    trains or evaluates) is the grader's own: the learner's kernel could have changed its copy."""
    import builtins

    from course_utils.grading.judge_kernel.judge import names_read

    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    setup = next(c.source for c in nb.cells if grade_id(c) == "setup")
    code_answers = [c for c in nb.cells if is_answer_cell(c) and c.cell_type == "code"]
    answers = set().union(*(_bound(c.source) for c in code_answers))
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        gid = grade_id(cell)
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)
        from_learner = {
            name
            for name in names_read(hidden)
            if name not in _bound(setup) | _bound(visible) | answers and not hasattr(builtins, name)
        }
        unexpected = from_learner - HIDDEN_INPUTS.get(gid, set())
        assert not unexpected, f"{gid}: hidden tests read {sorted(unexpected)} from the learner"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_written_questions_end_every_notebook(assignment):
    """3-5 manually graded written answers (markdown), with a model answer, after the exercises."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    graded = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    written = [cell for cell in graded if cell.cell_type == "markdown"]
    assert 3 <= len(written) <= 5, (
        f"{assignment}: expected 3-5 written questions, got {len(written)}"
    )
    for cell in written:
        gid = grade_id(cell)
        assert is_answer_cell(cell) and points(cell) > 0, (
            f"{gid}: a manually graded answer with points"
        )
        model_answer = cell.source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION")[0]
        assert len(model_answer.split()) >= 20, f"{gid}: the model answer is missing or too short"
    assert graded[-len(written) :] == written, f"{assignment}: the written questions come last"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_written_question_has_a_rubric_that_adds_up(assignment):
    """Under each model answer (inside the solution, so learners never see it) a rubric splits
    the question's points into parts: ``**Rubric (1 point):** 0.5 for ...; 0.5 for ...``."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    written = [
        cell
        for cell in nb.cells
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")
    ]
    for cell in written:
        gid = grade_id(cell)
        solution = cell.source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION")[0]
        found = re.search(r"\*\*Rubric \((\d+(?:\.\d+)?) points?\):\*\*(.*)", solution, re.S)
        assert found, f"{gid}: no '**Rubric (N point):**' under the model answer"
        assert float(found.group(1)) == points(cell), f"{gid}: the rubric is for another total"
        parts = [
            float(p) for p in re.findall(r"(?:^|;|\band)\s*(\d(?:\.\d+)?)\s+for\b", found.group(2))
        ]
        assert len(parts) >= 2, f"{gid}: the rubric should split the point into parts: {parts}"
        assert abs(sum(parts) - points(cell)) < 1e-9, f"{gid}: rubric parts {parts} do not add up"


PLUMBING = re.compile(
    r"course's benchmark|record_figures|an earlier version of this notebook", re.I
)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_learner_notebooks_carry_no_benchmark_plumbing_or_history(assignment):
    """The benchmark records what it needs in cells of its own (benchmarks/notebooks.py):
    a learner reads about the topic, not about the course's tooling or its past versions."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    found = [
        f"cell {i}: {match.group(0)!r}"
        for i, cell in enumerate(nb.cells)
        for match in PLUMBING.finditer(cell.source)
    ]
    assert not found, found


READING_WORDS_PER_MINUTE, CODE_LINES_PER_MINUTE = 120, 12  # a newcomer reading and running


def reading_minutes(nb) -> int:
    """Minutes to read a notebook's text and run its code, to the nearest 5."""
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    lines = sum(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code")
    return 5 * round((words / READING_WORDS_PER_MINUTE + lines / CODE_LINES_PER_MINUTE) / 5)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_estimated_time_follows_from_the_notebooks_length(assignment):
    """The time a notebook announces is its length read at a newcomer's pace (within 10
    minutes): a section added without updating the estimate fails here."""
    nb = nbformat.read(NOTEBOOKS / assignment / f"{assignment}.ipynb", as_version=4)
    stated = re.search(r"\*\*Estimated time:\*\* (\d+) minutes to read and run", nb.cells[0].source)
    assert stated, f"{assignment}: the first cell gives no '**Estimated time:** N minutes to read'"
    expected = reading_minutes(nb)
    assert abs(int(stated.group(1)) - expected) <= 10, (
        f"{assignment}: states {stated.group(1)} minutes to read and run; its length gives "
        f"{expected} ({READING_WORDS_PER_MINUTE} words and {CODE_LINES_PER_MINUTE} code lines "
        "a minute)"
    )
