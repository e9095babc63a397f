"""nbgrader_config.py loads cleanly and applies the course's grading configuration.

nbgrader falls back to its defaults, with only a log line, when the config file
raises: this test is what catches a broken import there.
"""

from __future__ import annotations

from traitlets.config.loader import PyFileConfigLoader

from course_utils.grading.nbgrader_steps import pipeline
from helpers import REPO


def _config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def test_layout():
    c = _config()
    assert c.CourseDirectory.source_directory == "solutions"
    assert c.CourseDirectory.release_directory == "notebooks"
    assert "outputs" in c.CourseDirectory.ignore


def test_the_course_grading_configuration_is_applied():
    c = _config()
    assert c.Autograde.autograde_preprocessors == pipeline.autograde_preprocessors()
    assert c.Autograde.sanitize_preprocessors == pipeline.sanitize_preprocessors()
    assert c.GenerateFeedback.preprocessors == pipeline.feedback_preprocessors()
    assert c.Execute.extra_arguments == pipeline.kernel_arguments()
