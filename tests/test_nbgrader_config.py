"""nbgrader_config.py loads cleanly and says what the course relies on.

nbgrader falls back to its defaults, with only a log line, when the config file
raises: this test is what catches a broken import there.
"""

from __future__ import annotations

from traitlets.config.loader import PyFileConfigLoader

from grading import REPO


def _config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def test_layout():
    c = _config()
    assert c.CourseDirectory.source_directory == "solutions"
    assert c.CourseDirectory.release_directory == "notebooks"
    assert "outputs" in c.CourseDirectory.ignore


def test_grading_kernel_runs_fast_profile_quietly():
    args = " ".join(_config().Execute.extra_arguments)
    assert "COURSE_PROFILE'] = 'fast'" in args
    assert "TF_CPP_MIN_LOG_LEVEL'] = '3'" in args
    assert "RLIMIT_AS" in args


def test_autograde_pipeline_has_the_course_guards():
    c = _config()
    names = [p.__name__ for p in c.Autograde.autograde_preprocessors]
    assert (
        names.index("GuardTestCells")
        < names.index("BudgetedExecute")
        < names.index("RestoreTestCells")
    )
    assert names.index("RequireCourseData") < names.index("SaveAutoGrades")
    assert names.index("MoveStderrToStdout") < names.index("SaveAutoGrades")
    assert c.OverwriteCells.add_missing_cells is True
    assert c.Execute.timeout >= 60
    feedback = [p.__name__ for p in c.GenerateFeedback.preprocessors]
    assert "ClearHiddenTests" in feedback


def test_copied_graded_cells_are_dropped_cleanly():
    """nbgrader's DeduplicateIds leaves an empty `nbgrader` entry that crashes add_missing_cells."""
    names = [p.__name__ for p in _config().Autograde.sanitize_preprocessors]
    assert "DropDuplicateIds" in names and "DeduplicateIds" not in names
    assert names.index("DropDuplicateIds") < names.index("OverwriteCells")
