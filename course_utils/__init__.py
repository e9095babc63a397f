"""Helpers for the course *Deep Learning Fundamentals with TensorFlow & Keras*.

One module per job:

- ``config``: the profile (``COURSE_PROFILE``), seeds, the notebooks' first cell.
- ``data``: Fashion-MNIST and California housing, online or offline.
- ``plotting``: images, learning curves, per-layer plots, confusion matrix.
- ``diagrams``: concept figures (a neuron, an MLP, backpropagation's graph, dropout,
  BatchNorm), their numbers computed.
- ``checks``: what exercise test cells call, with messages that say what is wrong.
- ``results``: ``record()`` a figure for the benchmark table.
- ``experiments``: experiments the notebooks compare (the ablation of 06-08) and their
  recorded results.

Importing the package is cheap: TensorFlow is imported by ``setup()``, not here.

Example:
    >>> import course_utils
    >>> course_utils.by_profile(full=10, fast=1) in (10, 1)
    True
"""

from importlib.metadata import PackageNotFoundError, version

from course_utils.config import by_profile, get_profile, is_fast, output_dir, set_seed, setup
from course_utils.results import record

__all__ = ["by_profile", "get_profile", "is_fast", "output_dir", "record", "set_seed", "setup"]
try:
    __version__ = version("course-utils")  # from pyproject.toml, through the installed metadata
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
