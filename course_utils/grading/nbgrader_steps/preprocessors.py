"""The course's nbgrader preprocessors (``preprocess(nb, resources)`` steps), one job each.

Sanitizing (before execution):

- :class:`DropDuplicateIds` replaces nbgrader's ``DeduplicateIds``: a copied graded
  cell becomes an ordinary cell instead of crashing ``OverwriteCells``.

Autograding (after :class:`course_utils.grading.nbgrader_steps.execute.GradingExecute`):

- :class:`RequireCourseData`: no grade when the *grading machine* could not load
  the course data (a clear error instead of a zero the learner did not earn).
- :class:`MoveStderrToStdout`: a correct answer never loses points to a library
  warning on stderr; this course's tests always fail by raising.

Feedback:

- :class:`RedactHiddenTests` removes hidden-test lines from every output, so a
  notebook that printed them (for example by reading its own history) does not
  carry them into the learner's feedback. nbgrader's ``ClearHiddenTests`` then
  removes them from the test cells themselves.

Release:

- :class:`ClearGradingTags`: the grading slice's tags stay in the instructor's notebook.
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor

from course_utils import data
from course_utils.grading.contract import not_graded

# The errors course_utils.data raises when it cannot provide a data set.
DATA_ERRORS = frozenset(cls.__name__ for cls in (data.DataUnavailableError, data.DataCorruptError))
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
REDACTED = "[hidden test line removed]"


class GradingEnvironmentError(RuntimeError):
    """The grading machine, not the learner, is at fault: no grade is recorded."""


class DropDuplicateIds(DeduplicateIds):
    """Sanitizing: keep the *last* cell with a given grade id; the others become plain cells.

    It is the last copy because nbgrader's ``DeduplicateIds.preprocess`` walks the
    cells in reverse order and keeps the first one it meets. nbgrader itself
    leaves an empty ``nbgrader`` entry on the other copies, which makes
    ``OverwriteCells(add_missing_cells=True)`` crash with ``KeyError: 'grade_id'``
    and the whole submission score 0; here the entry is removed.
    """

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


class RequireCourseData(NbGraderPreprocessor):
    """After execution: refuse to grade if the course data could not be loaded.

    A missing or damaged data cache on the grading machine would otherwise make
    every test fail and record a zero the learner did not earn.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") in DATA_ERRORS:
                    info = resources.get("nbgrader", {})
                    raise GradingEnvironmentError(
                        not_graded(
                            "the grading machine could not load the course data "
                            f"({output.get('ename')}: {output.get('evalue')}). This is not the "
                            "learner's fault and no grade was recorded. Fix the data cache, then "
                            "run nbgrader autograde again.",
                            info.get("student", "?"),
                            info.get("notebook", "?"),
                        )
                    )
        return nb, resources


class MoveStderrToStdout(NbGraderPreprocessor):
    """After execution: in graded cells, turn stderr text into stdout text.

    The text stays visible (prefixed ``[stderr]``); only nbgrader's rule that
    stderr means failure is lifted.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code" and cell.get("metadata", {}).get("nbgrader", {}).get(
            "grade"
        ):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "".join(
                        f"[stderr] {line}" for line in output["text"].splitlines(keepends=True)
                    )
        return cell, resources


def hidden_test_lines(nb: Any, min_length: int = 16) -> set[str]:
    """The lines between the hidden-test markers of all cells (long enough to be telling).

    Example:
        >>> cell = {"source": "a\\n### BEGIN HIDDEN TESTS\\ncheck(f(123456789), 42)\\n### END HIDDEN TESTS"}
        >>> hidden_test_lines({"cells": [cell]})
        {'check(f(123456789), 42)'}
    """
    lines: set[str] = set()
    for cell in nb["cells"]:
        inside = False
        for line in str(cell.get("source", "")).splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.add(line.strip())
    return lines


def _redact(text: str, secrets: set[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactHiddenTests(NbGraderPreprocessor):
    """Feedback: remove hidden-test lines from every output (run before ``ClearHiddenTests``)."""

    def preprocess(self, nb, resources):
        secrets = hidden_test_lines(nb)
        if not secrets:
            return nb, resources
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if "text" in output:
                    output["text"] = _redact(output["text"], secrets)
                if output.get("output_type") == "error":
                    output["evalue"] = _redact(output.get("evalue", ""), secrets)
                    output["traceback"] = [_redact(t, secrets) for t in output.get("traceback", [])]
                for mime, value in output.get("data", {}).items():
                    if mime.startswith("text") and isinstance(value, str):
                        output["data"][mime] = _redact(value, secrets)
        return nb, resources


class ClearGradingTags(NbGraderPreprocessor):
    """Release: drop the instructor's grading-slice tags (``grading:keep``, ``grading:skip``)
    from every cell; they stay in the source notebook, where grading reads them."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        tags = cell.get("metadata", {}).get("tags")
        if tags:
            kept = [tag for tag in tags if not str(tag).startswith("grading:")]
            if kept:
                cell.metadata.tags = kept
            else:
                del cell.metadata["tags"]
        return cell, resources
