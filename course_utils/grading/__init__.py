"""Autograding that holds up against real submissions: the course's additions to nbgrader.

The folders say where code runs, and so which code learner code can touch:

- ``learner_kernel/`` runs *inside the sandbox, beside learner code*: learner code can
  read and change it, so nothing there is trusted and no grade depends on it.
  ``kernel`` prepares every sandboxed kernel before its first cell (limits, the
  monitor); ``monitor`` reports what learner code tries (files, network, programs);
  ``bridge`` answers the judge's requests with data.
- ``judge_kernel/`` runs in the judge's kernel, a second sandboxed kernel where no
  learner code runs: ``judge`` runs the test cells against proxies of learner objects
  and decides every autograded point.
- ``host/`` runs on the grading machine, outside every sandbox: ``sandbox`` starts
  kernels under bubblewrap, ``cgroups`` bounds their memory and processes, ``judging``
  starts the judge and relays its requests to the learner's kernel.
- ``nbgrader_steps/`` plugs into nbgrader (on the grading machine): ``pipeline``
  configures it; ``execute`` (``GradingExecute``) runs a submission on a time budget
  with every test cell in the judge (``budget`` and ``incident_log`` are its parts);
  ``grading_slice`` picks the cells a submission's answers and tests need (the rest is
  not run at grading time); ``preprocessors`` holds the smaller steps;
  ``sanitize`` makes learner HTML inert for feedback and the Formgrader;
  ``submissions`` finds, checks and fingerprints submissions; ``runner`` runs nbgrader's
  commands; ``validate`` is ``make validate``; ``cells`` reads cell metadata.
- ``class_scale/`` grades a whole class: ``grade_class`` (Dask workers and the ledger),
  ``engine`` (one submission on a worker), ``report`` (the instructor's report).

Shared by all: ``contract`` (limits, metadata keys, error names, messages) and ``wire``
(the data the kernels exchange: JSON, exact types, no pickle). ``cli`` is
``python -m course_utils.grading {check,class,incidents,sandbox,slice,validate}``;
``testing`` is the throw-away course the tests and the benchmark grade (never imported
by the grading code).

Importing this package is cheap (the grading kernel imports it): nbgrader is only
imported by the modules that need it.

Example:
    >>> from course_utils.grading.nbgrader_steps import pipeline
    >>> pipeline.CELL_TIMEOUT
    120
"""
