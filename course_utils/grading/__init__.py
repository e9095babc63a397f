"""Autograding that holds up against real submissions: the course's additions to nbgrader.

One module per job:

- ``pipeline``: :func:`configure` applies the course's grading settings to nbgrader's
  config; the preprocessor lists are derived from nbgrader's own defaults.
- ``execute``: ``GradingExecute``, which runs each submission in the sandbox, on a
  time budget, with every test cell in the judge.
- ``judging``: the judge's kernel on the grading machine and the relay to the learner's.
- ``judge``: inside the judge's kernel: test cells run against proxies of learner objects.
- ``bridge``: inside the learner's kernel: answers the judge's requests with data.
- ``wire``: the data both sides exchange (JSON, exact types, no pickle).
- ``sanitize``: learner HTML made inert for feedback and the Formgrader.
- ``sandbox``: the bubblewrap sandbox and the kernel managers that start kernels in it.
- ``kernel``: what runs inside the sandbox before the first cell (limits, monitor).
- ``monitor``: inside the kernel, what learner code tries (files, network, programs)
  is reported to the instructor.
- ``preprocessors``: the smaller steps (duplicate cells, missing data, stderr, feedback).
- ``contract``: what the parts agree on: limits, metadata keys, error names, messages.
- ``submissions``: the pre-flight check, reference submissions, recorded incidents.
- ``runner``: running nbgrader's commands (one way, with a timeout, no secrets shown).
- ``engine``, ``grade_class``, ``report``: the class command (Dask workers, the ledger,
  the instructor's report); ``cgroups``: limits on a kernel's processes together.
- ``testing``: the throw-away course the tests and the benchmark grade (never imported
  by the grading code).
- ``validate``: ``make validate``, per exercise, in plain text.
- ``cli``: ``python -m course_utils.grading {check,incidents,sandbox,validate}``.

Importing this package is cheap (the grading kernel imports it): nbgrader is only
imported by the modules that need it.

Example:
    >>> from course_utils.grading import pipeline
    >>> pipeline.CELL_TIMEOUT
    120
"""
