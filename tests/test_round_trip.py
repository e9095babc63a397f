"""The full nbgrader round trip: generate, submit, autograde, feedback, export.

- learner A submits the reference solutions of every notebook: full marks everywhere;
- learner B submits the untouched release of every notebook: 0 on every autograded
  cell, no crash, and only the test cells fail (a learner stuck on one exercise can
  still run the rest of the notebook);
- learner C gets one exercise wrong: loses exactly that exercise's points.

A and B go through every notebook (the course's one full round trip); C uses the
smallest notebook.
"""

from __future__ import annotations

import re

import pytest

from course_utils.grading.submissions import incidents
from helpers import (
    ASSIGNMENTS,
    SMALLEST,
    WRONG_TESTS,
    Course,
    grade_id,
    points_of,
    with_wrong_answer,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        course.submit("learner_a", assignment, course.solved(assignment))
    for assignment in ASSIGNMENTS:
        course.submit("learner_b", assignment)  # the untouched release
    course.submit("learner_c", SMALLEST, with_wrong_answer(course.solved(SMALLEST)))
    for assignment in ASSIGNMENTS:
        course.check(course.autograde(assignment))
    return course


def test_release_is_what_learners_get(course):
    for assignment in ASSIGNMENTS:
        text = (course.root / "notebooks" / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solutions_get_full_marks(course, assignment):
    points = points_of(assignment)
    assert len(points) >= 3, f"{assignment}: expected at least 3 graded exercises"
    scores = course.cell_scores("learner_a", assignment)
    lost = {k: (scores.get(k), v) for k, v in points.items() if scores.get(k) != v}
    assert not lost, f"{assignment}: reference solutions lost points (got, max): {lost}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero_and_runs_to_the_end(course, assignment):
    scores = course.cell_scores("learner_b", assignment)
    assert set(scores) == set(points_of(assignment))
    assert all(score == 0 for score in scores.values()), scores
    notebook = course.autograded_notebook("learner_b", assignment)
    failed = {
        (grade_id(cell) or f"cell {index}", output.ename)
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    }
    tests = {(gid, "NotImplementedError") for gid in points_of(assignment)}
    assert failed == tests, (
        f"{assignment}: cells that failed other than the test cells: {failed - tests}"
    )


def test_one_wrong_answer_loses_exactly_its_points(course):
    points = points_of(SMALLEST)
    scores = course.cell_scores("learner_c", SMALLEST)
    assert scores[WRONG_TESTS] == 0
    assert {k: v for k, v in scores.items() if k != WRONG_TESTS} == {
        k: v for k, v in points.items() if k != WRONG_TESTS
    }
    # the learner sees why in the autograded notebook
    autograded = course.autograded_notebook("learner_c", SMALLEST)
    cell = next(
        c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRONG_TESTS
    )
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and "expected 196, got 195" in errors[0].evalue


def test_export_csv_has_the_numbers(course):
    rows = {(r["student_id"], r["assignment"]): r for r in course.export()}
    full = sum(points_of(SMALLEST).values())
    wrong = points_of(SMALLEST)[WRONG_TESTS]
    assert float(rows[("learner_a", SMALLEST)]["score"]) == full
    assert float(rows[("learner_a", SMALLEST)]["max_score"]) == full
    assert float(rows[("learner_b", SMALLEST)]["score"]) == 0
    assert float(rows[("learner_c", SMALLEST)]["score"]) == full - wrong
    for assignment in ASSIGNMENTS:
        row = rows[("learner_a", assignment)]
        assert float(row["score"]) == float(row["max_score"]) > 0, assignment


def test_feedback_is_generated_for_every_learner(course):
    course.check(course.generate_feedback(SMALLEST))
    full = sum(points_of(SMALLEST).values())
    wrong = points_of(SMALLEST)[WRONG_TESTS]
    for student, expected in [("learner_a", full), ("learner_b", 0.0), ("learner_c", full - wrong)]:
        html = (course.root / "feedback" / student / SMALLEST / f"{SMALLEST}.html").read_text()
        match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
        assert match, f"no score line in {student}'s feedback"
        assert float(match.group(1)) == expected


def test_honest_learners_raise_no_incident(course):
    """Reference answers and untouched notebooks, graded in the sandbox, trip no guard."""
    found = [str(i) for i in incidents(course.root) if i.student in ("learner_a", "learner_b")]
    assert not found, "honest submissions were flagged:\n" + "\n".join(found)
    notebook = course.autograded_notebook("learner_a", SMALLEST)
    assert notebook.metadata["course_grading"]["sandbox"] == "on"
