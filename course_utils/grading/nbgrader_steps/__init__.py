"""The nbgrader integration, on the grading machine.

:mod:`pipeline` configures nbgrader's steps; :mod:`execute` runs a submission (teaching
cells in the learner's kernel, tests in the judge); :mod:`preprocessors` checks the
submission and the grading environment; :mod:`sanitize` strips scripts from learner HTML;
:mod:`submissions` finds and fingerprints submissions; :mod:`runner` runs nbgrader's
commands; :mod:`validate` is the learner-side Validate; :mod:`cells` reads cell metadata.
"""
