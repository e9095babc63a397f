"""``make validate``: run a notebook's visible tests as grading does, and say per exercise how it went.

It runs the notebook like nbgrader's *Validate* button (``nbgrader_config.py`` from
the current folder: fast profile, same timeouts), not in the sandbox: it is the
learner's own code on the learner's own machine. It runs only the grading slice
(:class:`ValidateExecute`), so a learner waits for the cells the tests need, not for
every demo. (The toolbar button runs every cell: nbgrader 0.9's ``Validator`` does not
let its steps be configured.) Output is plain text, coloured only on a terminal::

    notebooks/01_data_preprocessing/01_data_preprocessing.ipynb
      FAILED   one_hot_by_hand_tests (2 points): one_hot_by_hand([42, 3, 17, 3], [17, 5, 42]): expected dtype float32, got float64
      TO DO    standardize_tests (3 points): not attempted yet
      passed   iterations_tests (1 point)
      1 of 3 exercises pass their visible tests (1 of 6 points)

Example:
    >>> plain("\\x1b[31mAssertionError\\x1b[0m: <b>x</b> &lt; 1")
    'AssertionError: <b>x</b> < 1'
"""

from __future__ import annotations

import copy
import html
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import Execute
from traitlets import Bool

from course_utils.grading.nbgrader_steps.cells import grade_id, is_test_cell, points
from course_utils.grading.nbgrader_steps.grading_slice import first_explained_error, slice_of

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAGS = re.compile(r"</?span[^>]*>")
NOT_ATTEMPTED = "NotImplementedError"


def plain(text: str) -> str:
    """Text without terminal colour codes, ``<span>`` colour tags or HTML entities."""
    return html.unescape(_TAGS.sub("", _ANSI.sub("", text or "")))


@dataclass(frozen=True)
class Result:
    """The verdict of one exercise's visible tests."""

    grade_id: str
    points: float
    status: str  # "passed", "failed", "not attempted", "changed"
    message: str = ""


def _points(value: float) -> str:
    number = f"{value:g}"
    return f"{number} point" + ("" if value == 1 else "s")


def _message(cell: Any) -> tuple[str, str]:
    """(status, message) of an executed test cell."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            if output.get("ename") == NOT_ATTEMPTED:
                return "not attempted", "not attempted yet"
            lines = [plain(line) for line in output.get("traceback", [])]
            last = next((line.strip() for line in reversed(lines) if line.strip()), "")
            return "failed", last or f"{output.get('ename')}: {plain(output.get('evalue', ''))}"
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines = plain(output.get("text", "")).strip().splitlines()
            return "failed", lines[-1] if lines else "wrote to stderr"
    return "passed", ""


class ValidateExecute(Execute):
    """nbgrader's ``Execute`` for ``make validate``: only the grading slice runs, and the whole notebook runs again if an error could come from a
    cell the slice skipped, as in grading.

    Validation has the learner's notebook only, not the instructor's copy, so it cannot tell
    the learner's cells from the course's: every ordinary cell is treated as the course's and
    runs if a kept cell reads what it makes (a learner's helper that an answer calls runs; a
    learner's plot that nothing reads does not).
    """

    grading_slice = Bool(
        True,
        help="Run only the cells the answers and tests need, with the same fallback as "
        "grading. False runs every cell.",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        steps = slice_of(nb, None) if self.grading_slice else []
        self._skip = {step.index for step in steps if not step.keep}
        whole = copy.deepcopy(nb) if self._skip else None
        nb, resources = super().preprocess(nb, resources, km=km)
        why = first_explained_error(nb.cells, self._skip)
        if why and whole is not None:
            self.log.info("Validating again with every cell (%s)", why)
            self._skip = set()
            nb, resources = super().preprocess(whole, resources, km=km)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if index in getattr(self, "_skip", ()):  # not in the slice: nothing the tests need
            cell.outputs, cell.execution_count = [], None
            return cell, self.resources
        return super().preprocess_cell(cell, resources, index)


def validate_notebook(path: Path | str, app: Any = None) -> list[Result]:
    """Execute a notebook with nbgrader's validation settings; one :class:`Result` per exercise."""
    import nbformat
    from nbgrader import utils
    from nbgrader.apps.validateapp import ValidateApp
    from nbgrader.preprocessors import ClearOutput

    if app is None:
        app = ValidateApp()
        app.initialize([])
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if is_test_cell(cell) and "checksum" in meta:
            edited = utils.compute_checksum(cell) != meta["checksum"]
            if edited or meta.get("cell_type", cell.cell_type) != cell.cell_type:
                changed.add(meta.get("grade_id"))
    resources = {"metadata": {"path": str(path.parent.resolve())}}
    with utils.setenv(NBGRADER_VALIDATING="1", NBGRADER_EXECUTION="validate"):
        for step in (ClearOutput, ValidateExecute):
            nb, resources = step(parent=app).preprocess(nb, resources)
    results = []
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        status, message = _message(cell)
        if grade_id(cell) in changed:
            status, message = (
                "changed",
                "this test cell was edited: grading uses the original tests",
            )
        results.append(Result(grade_id(cell) or "?", points(cell), status, message))
    return results


_LABELS = {"passed": "passed", "failed": "FAILED", "not attempted": "TO DO", "changed": "CHANGED"}
_COLOURS = {"passed": "32", "failed": "31", "not attempted": "33", "changed": "35"}


def report(path: str, results: list[Result], colour: bool | None = None) -> str:
    """The text ``make validate`` prints for one notebook."""
    if colour is None:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    lines = [path]
    for result in results:
        label = f"{_LABELS[result.status]:<8}"
        if colour:
            label = f"\x1b[{_COLOURS[result.status]}m{label}\x1b[0m"
        detail = f": {result.message}" if result.message else ""
        lines.append(f"  {label} {result.grade_id} ({_points(result.points)}){detail}")
    passed = [r for r in results if r.status == "passed"]
    lines.append(
        f"  {len(passed)} of {len(results)} exercises pass their visible tests "
        f"({sum(r.points for r in passed):g} of {sum(r.points for r in results):g} points)"
    )
    return "\n".join(lines)


def validate_notebooks(paths: list[str]) -> int:
    """Validate and print each notebook; return the number of exercises that do not pass."""
    from nbgrader.apps.validateapp import ValidateApp

    app = ValidateApp()
    app.initialize([])
    not_passing = 0
    for path in paths:
        if not Path(path).is_file():
            print(f"{path}: no such notebook")
            not_passing += 1
            continue
        results = validate_notebook(path, app)
        print(report(path, results))
        not_passing += sum(r.status != "passed" for r in results)
    return not_passing
