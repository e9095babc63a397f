"""nbgrader configuration for the course; run nbgrader from the repository root.

Layout: each notebook is one nbgrader assignment named after its folder.

    solutions/<assignment>/<assignment>.ipynb   source: reference solutions + hidden tests
    notebooks/<assignment>/<assignment>.ipynb   release: what learners open (generated)
    submitted/<learner>/<assignment>/           collected submissions (not in git)
    autograded/, feedback/, gradebook.db        nbgrader's outputs (not in git)

Grading (the sandbox, the judge, timeouts, the fast profile) is configured by
course_utils.grading.nbgrader_steps.pipeline.configure(): see course_utils/grading/.

Examples (from the repository root, with the course's virtual environment active):

    nbgrader generate_assignment 01_data_preprocessing --force   # or: make release
    nbgrader autograde 01_data_preprocessing                     # every submission
    nbgrader generate_feedback 01_data_preprocessing
    nbgrader export                                              # grades.csv
"""

from course_utils.grading.nbgrader_steps.pipeline import configure

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

configure(c)

# The stub a learner sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
