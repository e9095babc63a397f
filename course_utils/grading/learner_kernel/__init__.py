"""Code that runs inside the sandbox, in the learner's kernel, beside learner code.

Nothing here is trusted: learner code can read and change all of it. It only hands
data to the grading process (:mod:`bridge`), sets up the kernel before the first cell
(:mod:`kernel`, which starts the judge's kernel too) and reports what learner code
tried (:mod:`monitor`). No grade depends on anything said here.
"""
