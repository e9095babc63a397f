"""nbgrader configuration for the course; run nbgrader from the repository root.

Layout: each notebook is one nbgrader assignment named after its folder.

    solutions/<assignment>/<assignment>.ipynb   source: reference solutions + hidden tests
    notebooks/<assignment>/<assignment>.ipynb   release: what learners open (generated)
    submitted/<learner>/<assignment>/           collected submissions (not in git)
    autograded/, feedback/, gradebook.db        nbgrader's outputs (not in git)

Examples (from the repository root, with the course's virtual environment active):

    nbgrader generate_assignment 01_data_preprocessing --force   # or: make release
    nbgrader autograde 01_data_preprocessing                     # every submission
    nbgrader generate_feedback 01_data_preprocessing
    nbgrader export                                              # grades.csv
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from course_utils.grading import (
    BudgetedExecute,
    DropDuplicateIds,
    GuardTestCells,
    MoveStderrToStdout,
    RequireCourseData,
    RestoreTestCells,
)

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = "dl-fundamentals"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "outputs",
    "logs",
]

# Autograding and validation run the notebooks in the fast profile, with
# TensorFlow's log lines off: nbgrader gives 0 points to a graded cell that
# writes to stderr, and a correct answer must never lose points to log noise.
# The settings go to the kernel only (ipykernel's exec_lines run before the
# first cell), so they never leak into a learner's own JupyterLab session.
_KERNEL_SETUP = [
    "import os",
    "os.environ['COURSE_PROFILE'] = 'fast'",
    "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'",
    "os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'",
    "os.environ['PYTHONWARNINGS'] = 'ignore'",
    "import warnings; warnings.simplefilter('ignore')",
]
# Training cells take longer than nbgrader's 30 s default; a runaway answer
# (an endless loop, a huge sleep) is stopped after this many seconds and the
# rest of the notebook is still graded. BudgetedExecute also caps the whole
# notebook, so no submission can hold up the rest of the class for long.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.BudgetedExecute.total_timeout = 600

# A learner's kernel may not take more memory than this (bytes of address
# space): a runaway allocation raises MemoryError in that cell instead of
# taking the grading machine down.
_KERNEL_SETUP.append(
    "import resource; resource.setrlimit(resource.RLIMIT_AS, (8 * 1024**3, 8 * 1024**3))"
)
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.exec_lines=" + repr(_KERNEL_SETUP),
]

# Autograding pipeline: nbgrader's own steps (sanitizing restores edited, deleted
# or duplicated test cells from the instructor's copy) plus the course's guards;
# see course_utils/grading.py for what each adds.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DropDuplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    GuardTestCells,
    BudgetedExecute,
    RestoreTestCells,
    RequireCourseData,
    MoveStderrToStdout,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.LimitOutput.max_lines = 1000

# Feedback shows learners their answers, outputs and scores, never the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# The stub a learner sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
