"""The full nbgrader round trip: generate, submit, autograde, manual grading, feedback, export.

- learner A submits the reference solutions of every notebook: full marks on every
  autograded cell, and the written answers wait for the instructor;
- learner B submits the untouched release of every notebook: 0 on every graded cell
  (written answers included), no crash, and only the test cells fail (a learner stuck
  on one exercise can still run the rest of the notebook);
- learner C gets one exercise wrong: loses exactly that exercise's points;
- learner D submits the reference solutions of the smallest notebook, and the
  instructor grades one written answer by hand, as the Formgrader does: the export and
  the feedback show that grade and its comment;
- learner E makes mistakes learners make in exercises whose tests reach the learner's
  kernel in other ways than calls (a folder it should have made, a model its code
  trains, a callback in a fit): each mistake costs exactly its exercise.

A and B go through every notebook (the course's one full round trip); C and D use the
smallest notebook.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_utils.grading.nbgrader_steps.cells import grade_id as cell_grade_id
from course_utils.grading.nbgrader_steps.cells import is_answer_cell, points
from course_utils.grading.nbgrader_steps.submissions import incidents
from helpers import (
    ASSIGNMENTS,
    SMALLEST,
    SOLUTIONS,
    WRONG_TESTS,
    Course,
    grade_id,
    points_of,
    replace_answer,
    with_wrong_answer,
)

pytestmark = pytest.mark.slow

# What the instructor gives learner D's first written answer of the smallest notebook.
MANUAL_SCORE = 0.5
MANUAL_COMMENT = "Right idea; say which statistics leak."


# assignment -> answer cell -> (the mistake, what the feedback then says)
MISTAKES = {
    "05_normalization_callbacks": {
        "make_callbacks": (  # says restore_best_weights=True, never restores: the test reads
            # which weights the model ends with from the model, not from the callback
            lambda source: (
                "class NeverRestores(keras.callbacks.EarlyStopping):\n"
                "    def on_train_end(self, logs=None):\n"
                "        pass\n\n\n"
                + source.replace("keras.callbacks.EarlyStopping(", "NeverRestores(")
            ),
            "not those of the best epoch",
        ),
        "make_run_dir": (
            lambda source: source.replace(
                "    candidate.mkdir()\n", ""
            ),  # the folder is never made
            "exists and is a folder: expected True, got False",
        ),
        "learning_rate_recorder": (
            lambda source: source.replace(  # the list is not emptied when a new fit begins
                "def on_train_begin(self, logs=None):\n        self.learning_rates = []",
                "def on_train_begin(self, logs=None):\n        pass",
            ),
            "after reusing the recorder for a 2-epoch fit (a fresh list in on_train_begin): "
            "expected 2, got 6",
        ),
    },
    "11_gradient_tape": {
        "fit_custom": (
            lambda source: source.replace("model(images, training=True)", "model(images)"),
            "(call the model with training=True in the training step)",
        ),
        "train_mlp": (
            lambda source: source.replace("        mean_loss.reset_state()\n", ""),
            "(reset the Mean metric at the start of every epoch)",
        ),
    },
}


def with_mistakes(notebook, assignment: str):
    for answer, (mistake, _) in MISTAKES[assignment].items():
        notebook = replace_answer(notebook, answer, mistake)
    return notebook


def written_points_of(assignment: str) -> dict[str, float]:
    """grade_id -> points of every manually graded written answer (markdown) of a notebook."""
    notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return {
        cell_grade_id(cell): points(cell)
        for cell in notebook.cells
        if cell.cell_type == "markdown" and is_answer_cell(cell) and points(cell) > 0
    }


def gradebook(course: Course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course.root / 'gradebook.db'}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        course.submit("learner_a", assignment, course.solved(assignment))
    for assignment in ASSIGNMENTS:
        course.submit("learner_b", assignment)  # the untouched release
    course.submit("learner_c", SMALLEST, with_wrong_answer(course.solved(SMALLEST)))
    course.submit("learner_d", SMALLEST, course.solved(SMALLEST))
    for assignment in MISTAKES:
        course.submit("learner_e", assignment, with_mistakes(course.solved(assignment), assignment))
    for assignment in ASSIGNMENTS:
        course.check(course.autograde(assignment))
    return course


@pytest.fixture(scope="module")
def manually_graded(course):
    """The instructor grades learner D's first written answer, through the gradebook API.

    This is what the Formgrader's *Manual Grading* page does when a score and a comment
    are typed in: it sets the grade's ``manual_score`` and the comment's ``manual_comment``.
    """
    question = next(iter(written_points_of(SMALLEST)))
    with gradebook(course) as gb:
        grade = gb.find_grade(question, SMALLEST, SMALLEST, "learner_d")
        assert grade.needs_manual_grade and grade.manual_score is None
        grade.manual_score = MANUAL_SCORE
        grade.needs_manual_grade = False  # as the Formgrader's grade API sets it
        comment = gb.find_comment(question, SMALLEST, SMALLEST, "learner_d")
        comment.manual_comment = MANUAL_COMMENT
        gb.db.commit()
    return question


def test_release_is_what_learners_get(course):
    for assignment in ASSIGNMENTS:
        text = (course.root / "notebooks" / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, assignment
        release = course.release(assignment)
        answers = [c for c in release.cells if cell_grade_id(c) in written_points_of(assignment)]
        assert answers and all(c.source == "YOUR ANSWER HERE" for c in answers), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solutions_get_full_marks(course, assignment):
    points = points_of(assignment)
    assert len(points) >= 3, f"{assignment}: expected at least 3 graded exercises"
    scores = course.cell_scores("learner_a", assignment)
    lost = {k: (scores.get(k), v) for k, v in points.items() if scores.get(k) != v}
    assert not lost, f"{assignment}: reference solutions lost points (got, max): {lost}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_written_answers_wait_for_the_instructor(course, assignment):
    """Autograding leaves the written answers ungraded: the Formgrader lists them to grade."""
    written = written_points_of(assignment)
    with gradebook(course) as gb:
        submission = gb.find_submission_notebook(assignment, assignment, "learner_a")
        grades = {g.name: g for g in submission.grades if g.name in written}
        assert set(grades) == set(written)
        waiting = {name: (g.auto_score, g.needs_manual_grade) for name, g in grades.items()}
        assert all(auto is None and needs for auto, needs in waiting.values()), waiting
        assert submission.needs_manual_grade


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero_and_runs_to_the_end(course, assignment):
    scores = course.cell_scores("learner_b", assignment)
    assert set(scores) == set(points_of(assignment)) | set(written_points_of(assignment))
    assert all(score == 0 for score in scores.values()), scores
    with gradebook(course) as gb:  # unanswered questions are 0 without a human looking at them
        submission = gb.find_submission_notebook(assignment, assignment, "learner_b")
        assert not submission.needs_manual_grade
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
    assert {k: scores[k] for k in points if k != WRONG_TESTS} == {
        k: v for k, v in points.items() if k != WRONG_TESTS
    }
    # the learner sees why in the autograded notebook
    autograded = course.autograded_notebook("learner_c", SMALLEST)
    cell = next(
        c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRONG_TESTS
    )
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and "expected 196, got 195" in errors[0].evalue


@pytest.mark.parametrize("assignment", sorted(MISTAKES))
def test_each_mistake_costs_exactly_its_exercise(course, assignment):
    points = points_of(assignment)
    scores = course.test_scores("learner_e", assignment)
    wrong = {f"{answer}_tests" for answer in MISTAKES[assignment]}
    assert scores == {k: 0.0 if k in wrong else v for k, v in points.items()}
    autograded = course.autograded_notebook("learner_e", assignment)
    for answer, (_, message) in MISTAKES[assignment].items():
        cell = next(c for c in autograded.cells if grade_id(c) == f"{answer}_tests")
        errors = [o.evalue for o in cell.outputs if o.output_type == "error"]
        assert errors and message in errors[0], (answer, errors)


def test_export_csv_has_the_numbers(course):
    rows = {(r["student_id"], r["assignment"]): r for r in course.export()}
    full = sum(points_of(SMALLEST).values())
    wrong = points_of(SMALLEST)[WRONG_TESTS]
    written = sum(written_points_of(SMALLEST).values())
    assert float(rows[("learner_a", SMALLEST)]["score"]) == full
    assert float(rows[("learner_a", SMALLEST)]["max_score"]) == full + written
    assert float(rows[("learner_b", SMALLEST)]["score"]) == 0
    assert float(rows[("learner_c", SMALLEST)]["score"]) == full - wrong
    for assignment in ASSIGNMENTS:
        row = rows[("learner_a", assignment)]
        autograded = sum(points_of(assignment).values())
        assert float(row["score"]) == autograded > 0, assignment
        assert float(row["max_score"]) == autograded + sum(written_points_of(assignment).values())


def test_feedback_is_generated_for_every_learner(course):
    course.check(course.generate_feedback(SMALLEST))
    full = sum(points_of(SMALLEST).values())
    wrong = points_of(SMALLEST)[WRONG_TESTS]
    for student, expected in [("learner_a", full), ("learner_b", 0.0), ("learner_c", full - wrong)]:
        html = (course.root / "feedback" / student / SMALLEST / f"{SMALLEST}.html").read_text()
        match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
        assert match, f"no score line in {student}'s feedback"
        assert float(match.group(1)) == expected


def test_a_manual_grade_reaches_the_export_and_the_feedback(course, manually_graded):
    question = manually_graded
    full = sum(points_of(SMALLEST).values())
    written = sum(written_points_of(SMALLEST).values())
    assert course.cell_scores("learner_d", SMALLEST)[question] == MANUAL_SCORE

    rows = {(r["student_id"], r["assignment"]): r for r in course.export()}
    row = rows[("learner_d", SMALLEST)]
    assert float(row["score"]) == full + MANUAL_SCORE
    assert float(row["max_score"]) == full + written

    course.check(course.generate_feedback(SMALLEST, "--student", "learner_d", "--force"))
    html = (course.root / "feedback" / "learner_d" / SMALLEST / f"{SMALLEST}.html").read_text()
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
    assert match, "no score line in learner_d's feedback"
    assert (float(match.group(1)), float(match.group(2))) == (full + MANUAL_SCORE, full + written)
    assert MANUAL_COMMENT in html, "the instructor's comment is missing from the feedback"


def test_honest_learners_raise_no_incident(course):
    """Reference answers and untouched notebooks, graded in the sandbox, trip no guard."""
    found = [str(i) for i in incidents(course.root) if i.student in ("learner_a", "learner_b")]
    assert not found, "honest submissions were flagged:\n" + "\n".join(found)
    notebook = course.autograded_notebook("learner_a", SMALLEST)
    assert notebook.metadata["course_grading"]["sandbox"] == "on"


# Last in this file: it grades the class again, in full (tests above read the sliced grades).
@pytest.fixture(scope="module")
def graded_in_full(course):
    """The submissions above graded with the slice (as by default) and again in full: every
    reference answer and hidden-test mistake, the wrong answer and one untouched release (the
    other untouched releases fail on their stubs either way, and learner_d is learner_a's
    answer again: regrading them in full would only cost CI time)."""
    graded = [("learner_a", a) for a in ASSIGNMENTS] + [("learner_b", SMALLEST)]
    graded += [("learner_c", SMALLEST)]
    graded += [("learner_e", a) for a in MISTAKES]
    sliced = {key: course.test_scores(*key) for key in graded}
    slices = {
        key: course.autograded_notebook(*key).metadata["course_grading"]["slice"] for key in graded
    }
    for assignment in ASSIGNMENTS:
        left_out = "learner_d" if assignment == SMALLEST else "learner_b,learner_d"
        course.check(
            course.autograde(
                assignment,
                "--force",
                "--GradingExecute.grading_slice=False",
                f"--CourseDirectory.student_id_exclude={left_out}",
            )
        )
    full = {key: course.test_scores(*key) for key in graded}
    return sliced, full, slices


def test_the_grading_slice_changes_no_grade(graded_in_full):
    """Reference answers, untouched releases, a wrong answer and the hidden-test mistakes get
    the same grade per cell with the slice as with every cell run; the slice skipped cells
    in every notebook and never needed a second, full run."""
    sliced, full, slices = graded_in_full
    different = {key: (sliced[key], full[key]) for key in full if sliced[key] != full[key]}
    assert not different, different
    assert all(s["cells_skipped"] > 0 and s["fallback"] is None for s in slices.values()), slices
