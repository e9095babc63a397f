"""The course's grading configuration for nbgrader, built in one place.

``nbgrader_config.py`` calls :func:`configure`. The preprocessor pipelines are
*derived from nbgrader's own defaults* with the course's substitutions, so a
step that a future nbgrader adds to its defaults is kept, and a step the
course replaces that nbgrader renames or drops stops grading with a clear error
instead of silently losing a guard.

Example:
    >>> names = [step.__name__ for step in autograde_preprocessors()]
    >>> names[:3]
    ['GradingExecute', 'RequireCourseData', 'MoveStderrToStdout']
    >>> "Execute" in names
    False
"""

from __future__ import annotations

import os
from typing import Any

from course_utils.grading.contract import (
    CELL_TIMEOUT,
    KERNEL_SETUP_LINE,
    NOTEBOOK_TIMEOUT,
    OUTPUT_LINES,
)


class PipelineError(RuntimeError):
    """nbgrader's default pipeline changed in a way the course's grading does not know."""


def _substitute(default: list[type], replacements: dict[type, list[type]], what: str) -> list[type]:
    """``default`` with each key of ``replacements`` replaced by its list, in place."""
    missing = [step.__name__ for step in replacements if step not in default]
    if missing:
        raise PipelineError(
            f"nbgrader's default {what} no longer contains {', '.join(missing)}: the course's "
            "grading guards (course_utils.grading.nbgrader_steps.pipeline) must be updated for this nbgrader "
            "version before grading."
        )
    pipeline: list[type] = []
    for step in default:
        pipeline.extend(replacements.get(step, [step]))
    return pipeline


def _default(cls: Any, trait: str) -> list[type]:
    return list(cls.class_traits()[trait].default())


def sanitize_preprocessors() -> list[type]:
    """nbgrader's sanitizing steps, with :class:`DropDuplicateIds` for ``DeduplicateIds``."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import DeduplicateIds

    from course_utils.grading.nbgrader_steps.preprocessors import DropDuplicateIds

    return _substitute(
        _default(Autograde, "sanitize_preprocessors"),
        {DeduplicateIds: [DropDuplicateIds]},
        "sanitizing pipeline",
    )


def autograde_preprocessors() -> list[type]:
    """nbgrader's autograding steps, with ``Execute`` replaced by the course's grading execution.

    ``Execute`` becomes :class:`GradingExecute` (sandbox, judge, budget), followed by
    :class:`RequireCourseData` and :class:`MoveStderrToStdout`, which must look at the
    outputs before ``SaveAutoGrades`` scores them.
    """
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from course_utils.grading.nbgrader_steps.execute import GradingExecute
    from course_utils.grading.nbgrader_steps.preprocessors import (
        MoveStderrToStdout,
        RequireCourseData,
    )
    from course_utils.grading.nbgrader_steps.sanitize import SanitizeOutputs

    return _substitute(
        _default(Autograde, "autograde_preprocessors"),
        {Execute: [GradingExecute, RequireCourseData, MoveStderrToStdout, SanitizeOutputs]},
        "autograding pipeline",
    )


def feedback_preprocessors() -> list[type]:
    """nbgrader's feedback steps plus hidden tests removed and learner HTML made inert."""
    from nbgrader.converters.generate_feedback import GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    from course_utils.grading.nbgrader_steps.preprocessors import RedactHiddenTests
    from course_utils.grading.nbgrader_steps.sanitize import SanitizeOutputs

    return _substitute(
        _default(GenerateFeedback, "preprocessors"),
        {GetGrades: [GetGrades, RedactHiddenTests, ClearHiddenTests, SanitizeOutputs]},
        "feedback pipeline",
    )


def release_preprocessors() -> list[type]:
    """nbgrader's steps that make the learner release, plus the grading-slice tags removed."""
    from nbgrader.converters.generate_assignment import GenerateAssignment
    from nbgrader.preprocessors import ClearSolutions

    from course_utils.grading.nbgrader_steps.preprocessors import ClearGradingTags

    return _substitute(
        _default(GenerateAssignment, "preprocessors"),
        {ClearSolutions: [ClearSolutions, ClearGradingTags]},
        "release pipeline",
    )


def kernel_arguments() -> list[str]:
    """Arguments for every kernel nbgrader starts (grading and *Validate*)."""
    return [
        "--HistoryManager.hist_file=:memory:",
        f"--IPKernelApp.exec_lines={[KERNEL_SETUP_LINE]!r}",
    ]


def configure(c: Any) -> None:
    """Apply the course's grading settings to an nbgrader config object (``get_config()``)."""
    c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
    c.GenerateAssignment.preprocessors = release_preprocessors()
    # Restore edited, deleted or retyped test cells from the instructor's copy.
    c.OverwriteCells.add_missing_cells = True
    # A runaway cell is interrupted after CELL_TIMEOUT seconds and the rest still
    # runs; a notebook gets NOTEBOOK_TIMEOUT seconds in all.
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.GradingExecute.total_timeout = NOTEBOOK_TIMEOUT
    c.Execute.extra_arguments = kernel_arguments()
    c.LimitOutput.max_lines = OUTPUT_LINES
    configure_html(c)
    # The class command passes the gradebook in the environment, never on a command line.
    from course_utils.grading.nbgrader_steps.runner import DB_URL_ENV

    if os.environ.get(DB_URL_ENV):
        c.CourseDirectory.db_url = os.environ[DB_URL_ENV]


def configure_html(c: Any) -> None:
    """Every HTML export (feedback, the Formgrader's submission view) renders learner
    content inert: outputs cleaned before rendering, markdown cleaned after it."""
    from course_utils.grading.nbgrader_steps.sanitize import SanitizeOutputs

    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.preprocessors = [SanitizeOutputs]
    c.HTMLExporter.filters = {
        "markdown2html": "course_utils.grading.nbgrader_steps.sanitize.markdown2html",
        "clean_html": "course_utils.grading.nbgrader_steps.sanitize.clean_html",  # keeps tables whole
    }
