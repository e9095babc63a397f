"""Helpers for tests that run real nbgrader commands in a throw-away course directory.

A :class:`Course` copies ``nbgrader_config.py`` and some of ``solutions/`` into a
temporary folder, generates the learner release there, and then plays the
instructor: collect submissions, autograde, generate feedback, export grades.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat

from course_utils.grading import reference_submission

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and p.name[:2].isdigit())
SMALLEST = "01_data_preprocessing"


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader needs: the virtual environment's bin folder first on PATH
    (nbgrader runs ``alembic`` from PATH when it opens the gradebook)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("COURSE_PROFILE", None)  # the course configuration chooses the grading profile
    return env


def run_nbgrader(args: list[str], cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in ``cwd``; the result keeps stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
        cwd=cwd,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solved_notebook(assignment: str, root: Path = REPO):
    """What a learner who gets everything right submits (release + reference answers)."""
    return reference_submission(root, assignment)


def graded_cell_points(assignment: str, root: Path = REPO) -> dict[str, float]:
    """grade_id -> points of every autograded test cell of an assignment."""
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    points = {}
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            points[meta["grade_id"]] = float(meta.get("points", 0))
    return points


class Course:
    """A temporary nbgrader course made from the repository's configuration and solutions."""

    def __init__(self, root: Path, assignments: Iterable[str]):
        self.root = Path(root)
        self.assignments = list(assignments)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "nbgrader_config.py", self.root / "nbgrader_config.py")
        for assignment in self.assignments:
            shutil.copytree(
                SOLUTIONS / assignment,
                self.root / "solutions" / assignment,
                ignore=shutil.ignore_patterns("outputs", ".ipynb_checkpoints"),
            )
            self.check(run_nbgrader(["generate_assignment", assignment, "--force"], self.root))

    @staticmethod
    def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(result.args[2:])} exited with {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def release(self, assignment: str):
        return nbformat.read(
            self.root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4
        )

    def solved(self, assignment: str):
        return solved_notebook(assignment, self.root)

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
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (filename or f"{assignment}.ipynb")
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
        else:
            nbformat.write(notebook if notebook is not None else self.release(assignment), path)
        return path

    def autograde(self, assignment: str, *extra: str) -> subprocess.CompletedProcess:
        # a whole class, one learner after another: allow an hour before calling it hung
        return run_nbgrader(["autograde", assignment, *extra], self.root, timeout=3600)

    def generate_feedback(self, assignment: str, *extra: str) -> subprocess.CompletedProcess:
        return run_nbgrader(["generate_feedback", assignment, *extra], self.root)

    def export(self) -> list[dict[str, str]]:
        self.check(run_nbgrader(["export", "--to", "grades.csv"], self.root))
        with (self.root / "grades.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))

    def cell_scores(self, student: str, assignment: str) -> dict[str, float]:
        """grade_id -> score of every graded cell of one submission, from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission_notebook(assignment, assignment, student)
            return {grade.name: float(grade.score) for grade in submission.grades}

    def total(self, student: str, assignment: str) -> float:
        return sum(self.cell_scores(student, assignment).values())

    def autograded_notebook(self, student: str, assignment: str):
        return nbformat.read(
            self.root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
        )


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
