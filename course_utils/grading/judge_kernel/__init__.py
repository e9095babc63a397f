"""Code that runs in the judge's kernel: a second sandboxed kernel where no learner code runs.

It runs the test cells and decides every autograded point (:mod:`judge`). Learner code
cannot reach it: it gets only data from the learner's kernel.
"""
