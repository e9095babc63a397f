"""Course-wide settings: the profile, seeds and the first cell of every notebook.

The *profile* decides how much data and how many epochs a notebook uses:

- ``full`` (the default): real data sizes and epochs, the figures in the README.
- ``fast``: small subsets and one or two epochs, for CI and autograding.

It is read from one environment variable, ``COURSE_PROFILE``, and nowhere else.

Example:
    >>> import course_utils
    >>> course_utils.setup()            # first cell of every notebook   # doctest: +SKIP
    >>> epochs = course_utils.by_profile(full=20, fast=2)
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

PROFILE_ENV = "COURSE_PROFILE"
PROFILES = ("full", "fast")
DEFAULT_PROFILE = "full"
DEFAULT_SEED = 42
SEED_OFFSET_ENV = "COURSE_SEED_OFFSET"  # set by the benchmark only, to repeat runs with other seeds

# Environment variables that keep TensorFlow quiet (set before it is imported).
QUIET_TENSORFLOW_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
    "PYTHONWARNINGS": "ignore",
}

T = TypeVar("T")


def get_profile() -> str:
    """Return the active profile, ``"full"`` or ``"fast"``.

    Raises:
        ValueError: if ``COURSE_PROFILE`` holds anything else.

    Example:
        >>> get_profile() in PROFILES
        True
    """
    value = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE).strip().lower() or DEFAULT_PROFILE
    if value not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={value!r} is not a course profile. "
            f"Use one of {', '.join(PROFILES)} (for example: export {PROFILE_ENV}=fast), "
            f"or unset it to get the default, {DEFAULT_PROFILE!r}."
        )
    return value


def is_fast() -> bool:
    """True in the ``fast`` profile (CI, autograding)."""
    return get_profile() == "fast"


def by_profile(*, full: T, fast: T) -> T:
    """Pick a value by profile: the one place notebooks size data and epochs.

    Example:
        >>> by_profile(full=30, fast=2) == (2 if is_fast() else 30)
        True
    """
    return fast if is_fast() else full


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and Python log lines and library warnings.

    nbgrader gives 0 points to a graded cell that writes anything to stderr, and
    TensorFlow writes info lines there on import and on first use. Call this
    before TensorFlow is imported (``setup()`` does).
    """
    for name, value in QUIET_TENSORFLOW_ENV.items():
        os.environ.setdefault(name, value)
    for category in (DeprecationWarning, FutureWarning, UserWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; nothing to quiet without it
        pass


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send everything written to file descriptor 2 to /dev/null while the block runs.

    TensorFlow's C++ core prints a line about CUDA drivers on import even with
    ``TF_CPP_MIN_LOG_LEVEL=3``; this hides it. Python exceptions still propagate.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some embedded consoles)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow quietly (logs off, no CUDA chatter on CPU machines) and return it."""
    quiet_tensorflow()
    with stderr_silenced():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf


def seed_offset() -> int:
    """What ``set_seed`` adds to every seed: ``COURSE_SEED_OFFSET``, 0 when unset.

    ``make bench`` runs each notebook with offsets 0, 1, 2 to report the spread of
    its figures over seeds; grading kernels always run with 0.

    Example:
        >>> seed_offset()  # doctest: +SKIP
        0
    """
    raw = os.environ.get(SEED_OFFSET_ENV, "").strip()
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_ENV}={raw!r}: expected a whole number such as 1, or leave it unset"
        ) from None


def set_seed(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and TensorFlow in one call (``keras.utils.set_random_seed``).

    The same seed gives the same weights, the same shuffling and therefore the
    same grade for the same submission. The benchmark repeats a notebook with
    other seeds by setting ``COURSE_SEED_OFFSET`` (see :func:`seed_offset`);
    grading never does.

    Example:
        >>> set_seed(7)   # doctest: +SKIP
    """
    seed += seed_offset()
    random.seed(seed)
    try:
        import keras
    except ImportError:
        import numpy as np

        np.random.seed(seed)
        return
    keras.utils.set_random_seed(seed)


def _matplotlib_defaults() -> None:
    try:
        import matplotlib as mpl
    except ImportError:
        return
    mpl.rcParams.update(
        {
            "figure.figsize": (7, 4),
            "figure.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 11,
        }
    )


def setup(seed: int = DEFAULT_SEED, verbose: bool = True) -> str:
    """The first cell of every notebook: quiet logs, seeds, plot style, versions.

    Returns the active profile so a notebook can show it.

    Example:
        >>> import course_utils
        >>> course_utils.setup()   # doctest: +SKIP
        TensorFlow 2.21.0 | Keras 3.15.1 | Python 3.11 | profile: full
        'full'
    """
    profile = get_profile()
    tf = import_tensorflow()
    import keras

    set_seed(seed)
    _matplotlib_defaults()
    if verbose:
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        hint = f" (set {PROFILE_ENV}=fast for a quick run)" if profile == "full" else ""
        print(
            f"TensorFlow {tf.__version__} | Keras {keras.__version__} | Python {py} | "
            f"profile: {profile}{hint}"
        )
    return profile


def output_dir(*parts: str) -> Path:
    """A folder for files a notebook writes (checkpoints, logs), created if missing.

    It lives in ``outputs/`` beside the running notebook, built with ``pathlib`` so
    the same code works on Windows, macOS and Linux.

    Example:
        >>> output_dir("checkpoints").name
        'checkpoints'
    """
    path = Path.cwd().joinpath("outputs", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
