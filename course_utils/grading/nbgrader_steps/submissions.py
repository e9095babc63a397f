"""Submissions on disk: the pre-flight check before grading, reference submissions, incidents.

Example:
    >>> strip_solution_markers("x = 1\\n### BEGIN SOLUTION\\ny = 2\\n### END SOLUTION")
    'x = 1\\ny = 2'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from course_utils.grading.contract import METADATA_KEY
from course_utils.grading.nbgrader_steps.cells import grade_id, is_answer_cell

_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class UnknownAssignmentError(ValueError):
    """An assignment name that the course does not have (a typo, usually)."""


def strip_solution_markers(source: str) -> str:
    """Drop the ``### BEGIN/END SOLUTION`` lines, keeping the code between them."""
    return "\n".join(line for line in source.splitlines() if not _SOLUTION_MARKER.match(line))


def reference_submission(course_root: Path | str, assignment: str):
    """The learner release with every answer cell filled in from ``solutions/``.

    This is what a learner who gets everything right submits: the release's test
    cells (no hidden tests) and the reference answers. Returns an nbformat node.
    """
    import nbformat

    root = Path(course_root)
    release = nbformat.read(root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {
        grade_id(cell): strip_solution_markers(cell.source)
        for cell in source.cells
        if is_answer_cell(cell)
    }
    for cell in release.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return release


# --------------------------------------------------------------------------- #
# Pre-flight check of collected submissions
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Problem:
    """One problem with one learner's submission."""

    student: str
    message: str

    def __str__(self) -> str:
        return f"{self.student}: {self.message}"


def read_notebook_json(path: Path) -> tuple[dict | None, str | None]:
    """``(notebook dict, None)``, or ``(None, what is wrong with the file)``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return None, "is not a text file"
    except json.JSONDecodeError as exc:
        return (
            None,
            f"is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        )
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "is JSON but not a Jupyter notebook (no list of cells)"
    return data, None


def known_assignments(course_root: Path | str) -> list[str]:
    """The assignments the course releases: the folders of ``notebooks/``."""
    release = Path(course_root) / "notebooks"
    return sorted(p.name for p in release.iterdir() if p.is_dir()) if release.is_dir() else []


def check_submissions(course_root: Path | str, assignment: str) -> list[Problem]:
    """List what is wrong with each learner's submission of ``assignment``.

    Looks in ``submitted/<learner>/<assignment>/`` for the notebooks that
    ``notebooks/<assignment>/`` releases. Reports a missing notebook (naming a
    likely renamed copy), extra notebooks, and files that are not valid
    notebooks. Nothing is changed or deleted.

    Raises:
        UnknownAssignmentError: the course has no such assignment.

    Example:
        >>> check_submissions("/no/such/course", "01_data_preprocessing")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        course_utils.grading.nbgrader_steps.submissions.UnknownAssignmentError: there is no assignment '01_data...
    """
    root = Path(course_root)
    release = root / "notebooks" / assignment
    if not release.is_dir():
        known = known_assignments(root)
        hint = (
            f"known: {', '.join(known)}"
            if known
            else "none found: run nbgrader from the course folder"
        )
        raise UnknownAssignmentError(
            f"there is no assignment {assignment!r} in {root / 'notebooks'} ({hint})"
        )
    expected = sorted(p.name for p in release.glob("*.ipynb"))
    problems: list[Problem] = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        present = sorted(p.name for p in folder.glob("*.ipynb"))
        extra = [name for name in present if name not in expected]
        for name in expected:
            path = folder / name
            if not path.exists():
                hint = f"; found {', '.join(extra)} instead: rename it to {name}" if extra else ""
                problems.append(Problem(student, f"{name} is missing{hint}"))
                continue
            _, error = read_notebook_json(path)
            if error:
                problems.append(
                    Problem(student, f"{name} {error}: it cannot be graded; ask for a new copy")
                )
        if len(expected) != len(present):  # a renamed copy is already named in 'missing'
            for name in extra:
                problems.append(
                    Problem(student, f"{name} is not part of {assignment} and is not graded")
                )
    return problems


# --------------------------------------------------------------------------- #
# What was seen while grading
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Incident:
    """Something one learner's code did while it was graded (an attempt, a stop)."""

    student: str
    assignment: str
    notebook: str
    cell: str
    kind: str  # "attempt" (reported only) or "stopped" (the kernel died, hung or ran out of time)
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.upper()} {self.student}, {self.notebook}, {self.cell}: {self.detail}"


def incidents(course_root: Path | str, assignment: str | None = None) -> list[Incident]:
    """Every incident recorded in the autograded notebooks (of one assignment, or all)."""
    root = Path(course_root) / "autograded"
    pattern = f"*/{assignment}/*.ipynb" if assignment else "*/*/*.ipynb"
    found = []
    for path in sorted(root.glob(pattern)):
        data, error = read_notebook_json(path)
        if error or data is None:
            continue
        for entry in data.get("metadata", {}).get(METADATA_KEY, {}).get("incidents", []):
            found.append(
                Incident(
                    student=path.parents[1].name,
                    assignment=path.parent.name,
                    notebook=path.stem,
                    cell=str(entry.get("cell", "?")),
                    kind=str(entry.get("kind", "?")),
                    detail=str(entry.get("detail", "")),
                )
            )
    return found
