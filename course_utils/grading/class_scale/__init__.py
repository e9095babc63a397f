"""Grading a whole class on the grading machine: Dask workers, the ledger, the report.

:mod:`grade_class` grades every submission on a Dask cluster and records each outcome;
:mod:`engine` grades one submission on a worker; :mod:`report` writes the class report.
"""
