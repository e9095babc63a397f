"""The learner notebooks are exactly what nbgrader generates from solutions/, and
every notebook follows the course's conventions."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from grading import ASSIGNMENTS, NOTEBOOKS, REPO, SOLUTIONS, Course


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("release"), ASSIGNMENTS)


def test_every_solution_has_a_release_and_back():
    released = sorted(p.name for p in NOTEBOOKS.iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, (
        "notebooks/ and solutions/ hold different assignments: run make release"
    )
    assert len(ASSIGNMENTS) >= 1


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
    ids, tests, solutions = [], [], []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        ids.append(meta["grade_id"])
        assert re.fullmatch(r"[a-z0-9_]+", meta["grade_id"]), meta["grade_id"]
        if meta.get("grade") and cell.cell_type == "code":
            tests.append(meta)
            assert meta.get("locked"), f"{meta['grade_id']}: test cells must be locked"
            assert meta.get("points", 0) > 0, f"{meta['grade_id']}: test cells need points"
            assert "BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']}: no hidden tests"
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "checks." in visible, f"{meta['grade_id']}: no visible tests that teach"
        if meta.get("solution"):
            solutions.append(meta)
            assert "BEGIN SOLUTION" in cell.source, (
                f"{meta['grade_id']}: solution cell without markers"
            )
    assert len(ids) == len(set(ids)), f"duplicate grade_ids in {assignment}"
    assert len(tests) >= 3, f"{assignment}: at least 3 graded exercises expected"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "course_utils.setup()" in first_code.source, (
        "the first code cell must call course_utils.setup()"
    )
