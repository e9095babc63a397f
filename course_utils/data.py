"""Data loading that works online and offline, sized by the profile.

Both loaders are built on the canonical loaders the notebooks teach:
``keras.datasets.fashion_mnist.load_data()`` and
``sklearn.datasets.fetch_california_housing()``. Before calling them they make
sure the local cache is complete and intact, so that:

- with a cache (or Debian's ``dataset-fashion-mnist`` package), nothing is downloaded;
- with no network and no cache, you get one :class:`DataUnavailableError` that
  says what is missing and how to fix it;
- a truncated or corrupt cache file gives a :class:`DataCorruptError` naming the
  file, never a gzip or NumPy traceback.

Example:
    >>> data = load_fashion_mnist()          # doctest: +SKIP
    >>> data.X_train.shape                   # doctest: +SKIP
    (55000, 28, 28)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils.config import by_profile

FASHION_MNIST_CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Size and sha256 of each file's *decompressed* content. Checking the content
# (not the .gz bytes) accepts every faithful copy: the original download and
# Debian's re-compressed files alike.
FASHION_MNIST_FILES: dict[str, tuple[int, str]] = {
    "train-labels-idx1-ubyte.gz": (
        60_008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "train-images-idx3-ubyte.gz": (
        47_040_016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        10_008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    "t10k-images-idx3-ubyte.gz": (
        7_840_016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
}

SYSTEM_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

CALIFORNIA_HOUSING_FILE = "cal_housing_py3.pkz"
CALIFORNIA_HOUSING_SHA256 = "9978c2d7871796010716280f0511accccad29f3902d052b254953249cea04dd3"


class DataUnavailableError(RuntimeError):
    """A data set is neither cached nor downloadable. The message says how to fix it."""


class DataCorruptError(RuntimeError):
    """A cached data file is truncated or altered. The message names the file."""


@dataclass(frozen=True)
class Splits:
    """Train, validation and test arrays, plus names for labels or features.

    Example:
        >>> s = Splits(*(np.zeros(2),) * 6)
        >>> X_train, y_train = s.train
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    names: tuple[str, ...] = ()

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_train, self.y_train

    @property
    def valid(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_valid, self.y_valid

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_test, self.y_test


# --------------------------------------------------------------------------- #
# Fashion-MNIST
# --------------------------------------------------------------------------- #


def keras_cache_dir() -> Path:
    """Where Keras caches Fashion-MNIST: ``$KERAS_HOME/datasets/fashion-mnist``.

    ``KERAS_HOME`` defaults to ``~/.keras``, as in Keras itself.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "fashion-mnist"


def verify_gzip_file(path: Path, size: int, sha256: str) -> None:
    """Check that a ``.gz`` file decompresses to content of a known size and hash.

    Raises:
        DataCorruptError: if it is truncated, not gzip, or has other content.
    """
    digest = hashlib.sha256()
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                total += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataCorruptError(
            _corrupt_message(path, f"it cannot be decompressed ({exc})")
        ) from None
    if total != size:
        raise DataCorruptError(
            _corrupt_message(path, f"it holds {total:,} bytes of data, expected {size:,}")
        )
    if digest.hexdigest() != sha256:
        raise DataCorruptError(
            _corrupt_message(path, "its content does not match the known sha256")
        )


def _corrupt_message(path: Path, why: str) -> str:
    return (
        f"The cached data file {path} is damaged: {why}. It was probably cut off during a "
        f"download. Delete it and run the cell again to download a fresh copy "
        f"(or, offline, copy it again from {SYSTEM_FASHION_MNIST_DIR} after "
        f"'apt-get install dataset-fashion-mnist')."
    )


def ensure_fashion_mnist_cache(
    cache_dir: Path | None = None, system_dir: Path | None = None
) -> Path | None:
    """Make the Keras cache complete and intact, seeding it from Debian's files.

    For each of the four files: a cached copy is verified; a missing one is
    copied from ``system_dir`` (Debian's ``dataset-fashion-mnist``) when there.
    Returns the cache folder if all four files are there, ``None`` if some are
    still missing (then Keras will try to download them).

    Raises:
        DataCorruptError: a cached or system file is damaged.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else keras_cache_dir()
    system_dir = Path(system_dir) if system_dir is not None else SYSTEM_FASHION_MNIST_DIR
    complete = True
    for name, (size, sha256) in FASHION_MNIST_FILES.items():
        cached = cache_dir / name
        if not cached.exists():
            source = system_dir / name
            if not source.exists():
                complete = False
                continue
            verify_gzip_file(source, size, sha256)
            cache_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, cached)
        verify_gzip_file(cached, size, sha256)
    return cache_dir if complete else None


def _fashion_unavailable_message(cache_dir: Path, exc: BaseException) -> str:
    return (
        "Fashion-MNIST is not available: it is not in the Keras cache "
        f"({cache_dir}) and downloading it failed ({type(exc).__name__}: {exc}).\n"
        "Fix it in one of these ways:\n"
        "  - connect to the internet and run the cell again (Keras downloads ~30 MB once);\n"
        "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist, then run the cell again;\n"
        "  - copy the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz into {cache_dir}."
    )


def load_fashion_mnist_raw() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``keras.datasets.fashion_mnist.load_data()``, with the offline cache seeded first.

    Returns ``(x_train, y_train), (x_test, y_test)``: 60,000 and 10,000 uint8 images.

    Raises:
        DataUnavailableError: no cache and no network.
        DataCorruptError: a cached file is damaged.
    """
    import keras

    cache_dir = keras_cache_dir()
    ensure_fashion_mnist_cache(cache_dir)
    try:
        return keras.datasets.fashion_mnist.load_data()
    except (DataUnavailableError, DataCorruptError):
        raise
    except Exception as exc:  # Keras raises plain Exception for network errors
        if ensure_fashion_mnist_cache(cache_dir) is not None:
            # The files are all there and intact, so this is not a download problem.
            raise
        raise DataUnavailableError(_fashion_unavailable_message(cache_dir, exc)) from None


def split_validation(
    X: np.ndarray, y: np.ndarray, n_valid: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out the first ``n_valid`` samples for validation, as the classic tutorial does.

    Returns ``X_train, y_train, X_valid, y_valid``.

    Example:
        >>> X_tr, y_tr, X_va, y_va = split_validation(np.arange(10), np.arange(10), 3)
        >>> X_va.tolist(), len(X_tr)
        ([0, 1, 2], 7)
    """
    if not 0 < n_valid < len(X):
        raise ValueError(f"n_valid must be between 1 and {len(X) - 1}, got {n_valid}")
    return X[n_valid:], y[n_valid:], X[:n_valid], y[:n_valid]


def _take(n: int | None, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    if n is None:
        return arrays
    if n > len(arrays[0]):
        raise ValueError(f"asked for {n:,} samples but only {len(arrays[0]):,} are available")
    return tuple(a[:n] for a in arrays)


def load_fashion_mnist(
    n_train: int | None = None, n_valid: int = 5_000, n_test: int | None = None
) -> Splits:
    """Fashion-MNIST as uint8 images (28x28) and integer labels, split three ways.

    The first ``n_valid`` training images are held out for validation (5,000, as
    in the classic tutorial). ``n_train`` and ``n_test`` default by profile:
    all of them (55,000 and 10,000) in ``full``, 6,000 and 2,000 in ``fast``; the
    ``fast`` profile also keeps only the first 1,000 validation images.

    Example:
        >>> data = load_fashion_mnist()                       # doctest: +SKIP
        >>> data.X_train.shape, data.names[data.y_train[0]]   # doctest: +SKIP
        ((55000, 28, 28), 'Coat')
    """
    (X_full, y_full), (X_test, y_test) = load_fashion_mnist_raw()
    X_train, y_train, X_valid, y_valid = split_validation(X_full, y_full, n_valid)
    if n_train is None:
        n_train = by_profile(full=None, fast=6_000)
    if n_test is None:
        n_test = by_profile(full=None, fast=2_000)
    X_train, y_train = _take(n_train, X_train, y_train)
    X_test, y_test = _take(n_test, X_test, y_test)
    X_valid, y_valid = _take(by_profile(full=None, fast=min(1_000, n_valid)), X_valid, y_valid)
    return Splits(X_train, y_train, X_valid, y_valid, X_test, y_test, FASHION_MNIST_CLASS_NAMES)


# --------------------------------------------------------------------------- #
# California housing
# --------------------------------------------------------------------------- #


def sklearn_data_home() -> Path:
    """scikit-learn's data folder (``$SCIKIT_LEARN_DATA``, default ``~/scikit_learn_data``).

    The same rule as ``sklearn.datasets.get_data_home()``, without importing scikit-learn.

    Example:
        >>> sklearn_data_home().is_absolute()
        True
    """
    return Path(os.environ.get("SCIKIT_LEARN_DATA") or "~/scikit_learn_data").expanduser()


def verify_file_sha256(path: Path, sha256: str) -> None:
    """Raise :class:`DataCorruptError` unless the file's sha256 is ``sha256``."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != sha256:
        raise DataCorruptError(
            f"The cached data file {path} is damaged (its sha256 is not the known one); it was "
            "probably cut off during a download. Delete it and run the cell again to download "
            "a fresh copy (offline: copy cal_housing_py3.pkz again into that folder)."
        )


def fetch_california_housing_checked():
    """``sklearn.datasets.fetch_california_housing()``, with the cache checked first.

    Raises:
        DataUnavailableError: no cache and no network.
        DataCorruptError: the cached file is damaged.
    """
    from sklearn.datasets import fetch_california_housing

    home = sklearn_data_home()
    cached = home / CALIFORNIA_HOUSING_FILE
    if cached.exists():
        verify_file_sha256(cached, CALIFORNIA_HOUSING_SHA256)
        return fetch_california_housing(data_home=str(home), download_if_missing=False)
    try:
        return fetch_california_housing(data_home=str(home))
    except Exception as exc:
        raise DataUnavailableError(
            "California housing is not available: it is not in scikit-learn's cache "
            f"({cached}) and downloading it failed ({type(exc).__name__}: {exc}).\n"
            "Fix it in one of these ways:\n"
            "  - connect to the internet and run the cell again (scikit-learn downloads ~0.5 MB once);\n"
            f"  - copy {CALIFORNIA_HOUSING_FILE} (scikit-learn's cache file) into {home}, "
            "or point the SCIKIT_LEARN_DATA environment variable at a folder that holds it."
        ) from None


def load_california_housing(n_train: int | None = None) -> Splits:
    """California housing split as in the classic tutorial (``random_state`` 7, then 11).

    Returns 11,610 / 3,870 / 5,160 rows of 8 float features; the target is the
    median house value in units of $100,000. ``n_train`` defaults by profile (all
    in ``full``, 4,000 in ``fast``); validation and test sets are always whole.

    Example:
        >>> data = load_california_housing()   # doctest: +SKIP
        >>> data.X_train.shape                 # doctest: +SKIP
        (11610, 8)
    """
    from sklearn.model_selection import train_test_split

    housing = fetch_california_housing_checked()
    X_train_full, X_test, y_train_full, y_test = train_test_split(
        housing.data, housing.target, random_state=7
    )
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_train_full, y_train_full, random_state=11
    )
    if n_train is None:
        n_train = by_profile(full=None, fast=4_000)
    X_train, y_train = _take(n_train, X_train, y_train)
    return Splits(X_train, y_train, X_valid, y_valid, X_test, y_test, tuple(housing.feature_names))
