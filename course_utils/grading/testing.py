"""For the tests and the benchmark only: a throw-away nbgrader course, graded with real commands.

:class:`Course` copies ``nbgrader_config.py`` and some assignments of ``solutions/``
into a folder, generates the learner release there, and then plays the
instructor: collect submissions, autograde, generate feedback, export grades.
No grading code imports this module (``tests/test_grading_units.py`` checks it).

Example:
    >>> graded_cell_points(REPOSITORY / "tests" / "fixtures" / "00_fixture" / "00_fixture.ipynb")
    {'double_tests': 1.0, 'mean_tests': 2.0, 'standardize_tests': 2.0}
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from course_utils.grading.nbgrader_steps.cells import is_test_cell, points
from course_utils.grading.nbgrader_steps.runner import nbgrader_env, run_nbgrader
from course_utils.grading.nbgrader_steps.submissions import reference_submission

# The repository this package was installed from (an editable install), if any.
REPOSITORY = Path(__file__).resolve().parents[2]


def graded_cell_points(source: Path) -> dict[str, float]:
    """grade_id -> points of every autograded test cell of a source notebook."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    return {c.metadata.nbgrader.grade_id: points(c) for c in notebook.cells if is_test_cell(c)}


class Course:
    """A temporary nbgrader course made from a course's configuration and solutions.

    ``sources`` is the folder holding the assignments' source folders (default:
    ``solutions/`` of this repository); ``config`` the ``nbgrader_config.py`` to use.
    """

    def __init__(
        self,
        root: Path,
        assignments: Iterable[str],
        sources: Path | None = None,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.root = Path(root)
        self.assignments = list(assignments)
        self.env = env or nbgrader_env()
        sources = Path(sources or REPOSITORY / "solutions")
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(config or REPOSITORY / "nbgrader_config.py", self.root / "nbgrader_config.py")
        for assignment in self.assignments:
            shutil.copytree(
                sources / assignment,
                self.root / "solutions" / assignment,
                ignore=shutil.ignore_patterns("outputs", ".ipynb_checkpoints"),
            )
            self.check(self.run(["generate_assignment", assignment, "--force"]))

    def run(self, args: list[str], timeout: float = 3600) -> subprocess.CompletedProcess:
        """``nbgrader <args>`` in this course (a whole class may take long: an hour by default)."""
        return run_nbgrader(args, self.root, timeout=timeout, env=self.env)

    @staticmethod
    def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
        """The result, or an AssertionError with the command's output if it failed."""
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, result.args[2:]))} exited with {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def release(self, assignment: str):
        import nbformat

        return nbformat.read(
            self.root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4
        )

    def solved(self, assignment: str):
        """What a learner who gets everything right submits."""
        return reference_submission(self.root, assignment)

    def points(self, assignment: str) -> dict[str, float]:
        """grade_id -> points of every autograded test cell of an assignment."""
        return graded_cell_points(self.root / "solutions" / assignment / f"{assignment}.ipynb")

    def submit(
        self,
        student: str,
        assignment: str,
        notebook=None,
        *,
        raw: str | None = None,
        filename: str | None = None,
    ) -> Path:
        """Put a submission where ``nbgrader collect`` would: submitted/<student>/<assignment>/."""
        import nbformat

        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (filename or f"{assignment}.ipynb")
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
        else:
            nbformat.write(notebook if notebook is not None else self.release(assignment), path)
        return path

    def autograde(self, assignment: str, *extra: str) -> subprocess.CompletedProcess:
        return self.run(["autograde", assignment, *extra])

    def generate_feedback(self, assignment: str, *extra: str) -> subprocess.CompletedProcess:
        return self.run(["generate_feedback", assignment, *extra], timeout=1200)

    def export(self) -> list[dict[str, str]]:
        self.check(self.run(["export", "--to", "grades.csv"], timeout=1200))
        with (self.root / "grades.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))

    def cell_scores(self, student: str, assignment: str) -> dict[str, float]:
        """grade_id -> score of every graded cell of one submission, from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission_notebook(assignment, assignment, student)
            return {grade.name: float(grade.score) for grade in submission.grades}

    def test_scores(self, student: str, assignment: str) -> dict[str, float]:
        """grade_id -> score of the autograded test cells only (written answers left out).

        Written answers are graded by hand; until then they score 0 and are not
        what autograding decides.
        """
        tests = self.points(assignment)
        return {k: v for k, v in self.cell_scores(student, assignment).items() if k in tests}

    def total(self, student: str, assignment: str) -> float:
        return sum(self.cell_scores(student, assignment).values())

    def autograded_notebook(self, student: str, assignment: str):
        import nbformat

        return nbformat.read(
            self.root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
        )
