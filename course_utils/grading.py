"""Autograding that holds up against real submissions: nbgrader plugins and a pre-flight check.

``nbgrader_config.py`` plugs the preprocessors below into ``nbgrader autograde``.
nbgrader already restores edited or deleted test cells and undoes cell-type
changes; these add what this course needs on top:

- :class:`GuardTestCells` runs every graded test cell with Python's own builtins
  and a fresh namespace view, so an earlier ``len = lambda x: 10`` (or any other
  shadowed builtin) cannot make a wrong answer pass. Tracebacks then show no
  hidden-test source. :class:`RestoreTestCells` puts the original source back.
- :class:`BudgetedExecute` bounds the *total* run time of a notebook, on top of
  nbgrader's per-cell timeout, so an answer that sleeps in every cell cannot hold
  up the rest of the class.
- :class:`RequireCourseData` stops grading a submission (no grade recorded, a
  clear error) when the *grading machine* cannot load the course data, instead
  of giving the learner a silent zero.
- :class:`DropDuplicateIds` replaces nbgrader's ``DeduplicateIds``: a learner who
  copies a graded cell gets the copy turned into an ordinary cell. nbgrader 0.9
  leaves an empty ``nbgrader`` entry on it, which makes ``add_missing_cells``
  crash with ``KeyError: 'grade_id'`` and the whole submission score 0.
- :class:`MoveStderrToStdout` keeps a correct answer from losing its points to a
  library warning: nbgrader scores any graded cell that wrote to stderr as 0,
  while this course's tests always fail by raising.

``check_submissions()`` (``python -m course_utils.grading check <assignment>``)
reports malformed submissions per learner before grading.

Example:
    >>> sorted(DATA_ERRORS)
    ['DataCorruptError', 'DataUnavailableError']
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import DeduplicateIds, Execute, NbGraderPreprocessor
from traitlets import Integer

DATA_ERRORS = frozenset({"DataUnavailableError", "DataCorruptError"})
_ORIGINAL_SOURCE = "course_guard_original_source"


def _grade_id(cell: Any) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test_cell(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def guarded_source(source: str, grade_id: str) -> str:
    """The code that runs a test cell's ``source`` with real builtins.

    Everything is reached through the ``builtins`` module, so no name the learner
    defined can change what the test does; learner functions still see their own
    globals. The test's source is compiled from a string, so tracebacks name the
    test cell but do not print its (possibly hidden) lines.

    Example:
        >>> ns = {"len": lambda x: 10}
        >>> exec(guarded_source("result = len([1, 2])", "t"), ns)   # doctest: +SKIP
    """
    return (
        "import builtins as _course_builtins\n"
        "_course_builtins.exec(\n"
        f"    _course_builtins.compile({source!r}, {f'<tests {grade_id}>'!r}, 'exec'),\n"
        "    {**_course_builtins.globals(),\n"
        "     **{_k: _v for _k, _v in _course_builtins.vars(_course_builtins).items()\n"
        "        if not _k.startswith('_')}},\n"
        ")\n"
    )


class DropDuplicateIds(DeduplicateIds):
    """Sanitizing: keep the last cell with a given grade id, make the others plain cells."""

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.get("metadata", {})
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return cell, resources
        if grade_id in self.grade_ids:
            self.log.warning(
                "Cell '%s' appears more than once in the submission: only its last copy is "
                "graded; the others run as ordinary cells.",
                grade_id,
            )
            del meta["nbgrader"]
        else:
            self.grade_ids.add(grade_id)
        return cell, resources


class GuardTestCells(NbGraderPreprocessor):
    """Before execution: wrap every autograded test cell in :func:`guarded_source`."""

    def preprocess_cell(self, cell, resources, index):
        if _is_test_cell(cell):
            cell.metadata[_ORIGINAL_SOURCE] = cell.source
            cell.source = guarded_source(cell.source, _grade_id(cell) or f"cell {index}")
        return cell, resources


class RestoreTestCells(NbGraderPreprocessor):
    """After execution: put back the test cells' own source (for feedback and review).

    The traceback frame of the wrapper is dropped too: it quotes the whole test
    source, hidden tests included, and feedback must not show those.
    """

    def preprocess_cell(self, cell, resources, index):
        if _ORIGINAL_SOURCE in cell.get("metadata", {}):
            cell.source = cell.metadata.pop(_ORIGINAL_SOURCE)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        entry
                        for entry in output.get("traceback", [])
                        if "_course_builtins" not in entry
                    ]
        return cell, resources


class BudgetedExecute(Execute):
    """nbgrader's ``Execute`` with a time budget for the whole notebook.

    Each cell gets ``timeout`` seconds (nbgrader's per-cell limit) but never more
    than what is left of ``total_timeout``; once the budget is spent the remaining
    cells get one second each, fail, and grading moves on to the next learner.
    """

    total_timeout = Integer(
        600, help="Seconds one notebook may run in total before its remaining cells are cut short."
    ).tag(config=True)

    _started: float | None = None

    def preprocess(self, nb, resources=None, km=None):
        self._started = time.monotonic()
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            self._started = None

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._started is None or not self.total_timeout or self.total_timeout < 0:
            return timeout
        left = max(1, int(self.total_timeout - (time.monotonic() - self._started)))
        return left if timeout is None else min(timeout, left)


class GradingEnvironmentError(RuntimeError):
    """The grading machine, not the learner, is at fault: no grade is recorded."""


class RequireCourseData(NbGraderPreprocessor):
    """After execution: refuse to grade if the course data could not be loaded.

    A missing or damaged data cache on the grading machine would otherwise make
    every test fail and record a zero the learner did not earn.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") in DATA_ERRORS:
                    student = resources.get("nbgrader", {}).get("student", "?")
                    raise GradingEnvironmentError(
                        f"Not graded: learner {student!r}, notebook "
                        f"{resources.get('nbgrader', {}).get('notebook', '?')!r}: the grading "
                        f"machine could not load the course data ({output.get('ename')}: "
                        f"{output.get('evalue')}). This is not the learner's fault and no grade "
                        "was recorded. Fix the data cache, then run nbgrader autograde again."
                    )
        return nb, resources


class MoveStderrToStdout(NbGraderPreprocessor):
    """After execution: in graded cells, turn stderr text into stdout text.

    The text stays visible (prefixed ``[stderr]``); only nbgrader's rule that
    stderr means failure is lifted. Failures in this course always raise.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "".join(
                        f"[stderr] {line}" for line in output["text"].splitlines(keepends=True)
                    )
        return cell, resources


# --------------------------------------------------------------------------- #
# Reference submissions
# --------------------------------------------------------------------------- #

_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def strip_solution_markers(source: str) -> str:
    """Drop the ``### BEGIN/END SOLUTION`` lines, keeping the code between them.

    Example:
        >>> strip_solution_markers("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
        'x = 1\ny = 2'
    """
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
        _grade_id(cell): strip_solution_markers(cell.source)
        for cell in source.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    for cell in release.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
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


def _read_notebook(path: Path) -> tuple[dict | None, str | None]:
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


def check_submissions(course_root: Path | str, assignment: str) -> list[Problem]:
    """List what is wrong with each learner's submission of ``assignment``.

    Looks in ``submitted/<learner>/<assignment>/`` for the notebooks that
    ``notebooks/<assignment>/`` releases. Reports a missing notebook (naming a
    likely renamed copy), extra notebooks, and files that are not valid
    notebooks. Nothing is changed or deleted.

    Example:
        >>> check_submissions("/no/such/course", "01_data_preprocessing")
        []
    """
    root = Path(course_root)
    release = root / "notebooks" / assignment
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
            _, error = _read_notebook(path)
            if error:
                problems.append(
                    Problem(student, f"{name} {error}: it cannot be graded; ask for a new copy")
                )
        for name in extra:
            if len(expected) == len(present):
                continue  # already named in the 'missing' hint above
            problems.append(
                Problem(student, f"{name} is not part of {assignment} and is not graded")
            )
    return problems


# --------------------------------------------------------------------------- #
# Validation from the command line, with an exit status
# --------------------------------------------------------------------------- #


def _last_line(text: str) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text or "").strip().splitlines()
    return plain[-1] if plain else "(no message)"


def validate_notebooks(paths: list[str]) -> int:
    """Run nbgrader's validator (the toolbar's Validate button) on notebooks; return failures.

    Uses ``nbgrader_config.py`` from the current folder, so it runs exactly like
    autograding does (fast profile) and reports the visible tests' verdict.
    """
    from nbgrader.apps.validateapp import ValidateApp
    from nbgrader.validator import Validator

    app = ValidateApp()
    app.initialize([])
    validator = Validator(parent=app)
    failures = 0
    for path in paths:
        results = validator.validate(path)
        if not isinstance(results, dict):
            print(f"FAILED {path}: could not be validated ({results})")
            failures += 1
            continue
        failed = results.get("failed", [])
        changed = results.get("changed", []) + results.get("type_changed", [])
        passed = len(results.get("passed", []))
        if changed:
            print(
                f"CHANGED {path}: {len(changed)} locked test cell(s) were edited; "
                "grading uses the original tests"
            )
        for cell in failed:
            print(f"FAILED {path}: {_last_line(cell.get('error', ''))}")
        verdict = "passed" if not failed else f"{len(failed)} test cell(s) failed"
        print(f"{path}: {verdict} ({passed} passed)")
        failures += len(failed)
    return failures


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.grading {check,validate} ...``: exit 1 on problems or failures."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="report malformed submissions before autograding")
    check.add_argument("assignment")
    check.add_argument("--root", default=".", help="the course folder (default: current folder)")
    validate = sub.add_parser("validate", help="run the visible tests of notebooks, like Validate")
    validate.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return 1 if validate_notebooks(args.notebooks) else 0
    problems = check_submissions(args.root, args.assignment)
    for problem in problems:
        print(f"PROBLEM {problem}")
    learners = len(list((Path(args.root) / "submitted").glob(f"*/{args.assignment}")))
    print(f"{learners} submission(s) of {args.assignment} checked, {len(problems)} problem(s).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
