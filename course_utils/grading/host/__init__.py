"""On the grading machine, outside every sandbox: starting sandboxed kernels and their limits.

:mod:`sandbox` starts kernels under bubblewrap, :mod:`cgroups` bounds their memory and
processes, :mod:`judging` starts the judge's kernel and relays its requests to the
learner's kernel (and answers questions about the learner's files itself).
"""
