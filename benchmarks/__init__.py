"""The course's benchmark: what every notebook reaches in the full profile and what it costs.

    python -m benchmarks.run          # or: make bench

One module per job: ``targets`` (the course's targets), ``notebooks`` (running one
notebook and reading its figures), ``grading`` (timing autograde, sandboxed and
not), ``report`` (the results table and the README), ``run`` (the command line),
``ablation`` (the controlled ablation of notebooks 07-09, run on its own with
``python -m benchmarks.ablation``; the notebooks record its figures for ``make bench``).
"""
