"""What the tests share: the repository's paths, and editing a learner's notebook.

The throw-away nbgrader course the tests grade is :class:`course_utils.grading.testing.Course`
(the benchmark grades with it too).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import nbformat

from course_utils.grading.nbgrader_steps.cells import grade_id
from course_utils.grading.nbgrader_steps.runner import nbgrader_env, run_nbgrader
from course_utils.grading.nbgrader_steps.submissions import reference_submission
from course_utils.grading.testing import Course, graded_cell_points

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and p.name[:2].isdigit())
SMALLEST = "01_data_preprocessing"

# The wrong answer most tests use: notebook 01's iterations per epoch rounded down
# (195 instead of 196 for 50,000 samples in batches of 256).
WRONG_ID, WRONG_TESTS = "iterations", "iterations_tests"
_RIGHT, _WRONG = "math.ceil(n_samples / batch_size)", "n_samples // batch_size"

__all__ = [
    "ASSIGNMENTS",
    "FIXTURES",
    "NOTEBOOKS",
    "REPO",
    "SMALLEST",
    "SOLUTIONS",
    "WRONG_ID",
    "WRONG_TESTS",
    "Course",
    "grade_id",
    "graded_cell_points",
    "nbgrader_env",
    "points_of",
    "prepend",
    "replace_answer",
    "run_nbgrader",
    "solved_notebook",
    "with_wrong_answer",
]


def solved_notebook(assignment: str, root: Path = REPO):
    """What a learner who gets everything right submits (release + reference answers)."""
    return reference_submission(root, assignment)


def points_of(assignment: str) -> dict[str, float]:
    """grade_id -> points of every autograded test cell of one of the course's notebooks."""
    return graded_cell_points(SOLUTIONS / assignment / f"{assignment}.ipynb")


def replace_answer(notebook, cell_grade_id: str, new_source: str | Callable[[str], str]):
    """A copy of ``notebook`` with one answer cell's source replaced."""
    notebook = nbformat.from_dict(notebook)
    for cell in notebook.cells:
        if grade_id(cell) == cell_grade_id:
            before = cell.source
            cell.source = new_source(before) if callable(new_source) else new_source
            if cell.source == before:
                raise ValueError(f"replacing the answer in {cell_grade_id!r} changed nothing")
            return notebook
    raise KeyError(f"no cell with grade_id {cell_grade_id!r}")


def prepend(notebook, cell_grade_id: str, code: str):
    """A copy of ``notebook`` with ``code`` run at the top of one answer cell."""
    return replace_answer(notebook, cell_grade_id, lambda source: code + "\n" + source)


def with_wrong_answer(notebook):
    """Notebook 01 with ``iterations_per_epoch`` rounding down: its tests fail, 1 point lost."""
    return replace_answer(notebook, WRONG_ID, lambda source: source.replace(_RIGHT, _WRONG))


def grade_or_die(task):
    """What a Dask worker runs for one submission, in tests: the learner called "killer" ends
    the worker's process every time (as a hostile submission that crashes its worker would)."""
    if task.student == "killer":
        os._exit(1)
    from course_utils.grading.class_scale.engine import grade_one

    return grade_one(task)
