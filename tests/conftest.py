"""Shared fixtures for the tests.

The ``course_utils`` unit tests use these to run offline and fast: a tiny
Fashion-MNIST written as real IDX ``.gz`` files, a throw-away Keras cache, no
network, and a clean ``COURSE_PROFILE``. TensorFlow is imported only by the
fixtures that need it (``tf``, ``keras``).

Nothing here changes ``os.environ`` at import time: notebook kernels started by
other tests inherit the environment, and ``MPLBACKEND`` in particular would
stop them from embedding figures.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from course_utils.config import PROFILE_ENV, QUIET_TENSORFLOW_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
# The course's shared data folder: COURSE_SHARED_DATA (.ci/run sets it), else ../shared/data.
SHARED_DATA = Path(os.environ.get("COURSE_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")

# Environment variables course_utils.config.quiet_tensorflow() sets with setdefault.
QUIET_ENV = tuple(QUIET_TENSORFLOW_ENV)


def preserve_env(mp: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``mp`` restore these variables (set or unset) on undo, whatever the code does."""
    for name in names:
        if name in os.environ:
            mp.setenv(name, os.environ[name])
        else:
            mp.delenv(name, raising=False)


# --------------------------------------------------------------------------- #
# Profile
# --------------------------------------------------------------------------- #


@pytest.fixture
def no_profile(monkeypatch):
    """``COURSE_PROFILE`` unset (the tests are usually run with COURSE_PROFILE=fast)."""
    monkeypatch.delenv(PROFILE_ENV, raising=False)


@pytest.fixture
def full_profile(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "full")
    return "full"


@pytest.fixture
def fast_profile(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "fast")
    return "fast"


# --------------------------------------------------------------------------- #
# TensorFlow / Keras, imported once and quietly
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="session")
def tf():
    from course_utils.config import import_tensorflow

    with pytest.MonkeyPatch.context() as mp:
        preserve_env(mp, *QUIET_ENV)
        return import_tensorflow()


@pytest.fixture(scope="session")
def keras(tf):
    import keras

    return keras


# --------------------------------------------------------------------------- #
# A tiny Fashion-MNIST as real IDX .gz files
# --------------------------------------------------------------------------- #


def idx_labels(labels: np.ndarray) -> bytes:
    """An IDX1 label file: magic 2049, count (big-endian int32), then uint8 labels."""
    return struct.pack(">ii", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def idx_images(images: np.ndarray) -> bytes:
    """An IDX3 image file: magic 2051, count, 28, 28 (big-endian int32), then uint8 pixels."""
    n, rows, cols = images.shape
    return struct.pack(">iiii", 2051, n, rows, cols) + images.astype(np.uint8).tobytes()


@dataclass
class TinyFashion:
    """A few random 28x28 images and labels, and the four files Keras reads."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    files: dict[str, bytes] = field(default_factory=dict)  # file name -> decompressed content

    def write(self, folder: Path, names: tuple[str, ...] | None = None) -> Path:
        """Write the (gzipped) files into ``folder``; all four unless ``names`` is given."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in names or tuple(self.files):
            (folder / name).write_bytes(gzip.compress(self.files[name]))
        return folder

    def known_files(self) -> dict[str, tuple[int, str]]:
        """What ``course_utils.data.FASHION_MNIST_FILES`` holds: size and sha256 of the content."""
        return {
            name: (len(content), hashlib.sha256(content).hexdigest())
            for name, content in self.files.items()
        }


@pytest.fixture
def tiny_fashion(monkeypatch):
    """12 training and 6 test images; course_utils is told these are the real files."""
    from course_utils import data

    rng = np.random.default_rng(1234)
    tiny = TinyFashion(
        x_train=rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, size=12, dtype=np.uint8),
        x_test=rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, size=6, dtype=np.uint8),
    )
    tiny.files = {
        "train-labels-idx1-ubyte.gz": idx_labels(tiny.y_train),
        "train-images-idx3-ubyte.gz": idx_images(tiny.x_train),
        "t10k-labels-idx1-ubyte.gz": idx_labels(tiny.y_test),
        "t10k-images-idx3-ubyte.gz": idx_images(tiny.x_test),
    }
    assert set(tiny.files) == set(data.FASHION_MNIST_FILES)
    monkeypatch.setattr(data, "FASHION_MNIST_FILES", tiny.known_files())
    return tiny


@pytest.fixture
def keras_home(tmp_path, monkeypatch, keras):
    """A fresh, existing ``KERAS_HOME``; returns its ``datasets/fashion-mnist`` folder.

    Keras reads ``KERAS_HOME`` once, when it is imported, so its private copy is
    pointed at the same folder as the environment variable course_utils reads.
    """
    from keras.src.backend import config as keras_config

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))
    return home / "datasets" / "fashion-mnist"


@pytest.fixture
def system_dir(tmp_path, monkeypatch):
    """An empty stand-in for Debian's /usr/share/datasets/fashion-mnist."""
    from course_utils import data

    folder = tmp_path / "system_fashion_mnist"
    folder.mkdir()
    monkeypatch.setattr(data, "SYSTEM_FASHION_MNIST_DIR", folder)
    return folder


@pytest.fixture
def no_download(monkeypatch):
    """No network for Keras: its download raises URLError. Returns the list of URLs tried."""
    from keras.src.utils import file_utils

    tried: list[str] = []

    def offline(url, *args, **kwargs):
        tried.append(url)
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    return tried


@pytest.fixture
def tiny_fashion_cache(tiny_fashion, keras_home, system_dir, no_download):
    """The tiny Fashion-MNIST already in the Keras cache; no system files, no network."""
    tiny_fashion.write(keras_home)
    return tiny_fashion


# --------------------------------------------------------------------------- #
# California housing
# --------------------------------------------------------------------------- #


@pytest.fixture
def sklearn_home(tmp_path, monkeypatch):
    """An empty ``SCIKIT_LEARN_DATA`` folder."""
    folder = tmp_path / "scikit_learn_data"
    folder.mkdir()
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(folder))
    return folder


@pytest.fixture
def cal_housing_pkz():
    """scikit-learn's cache file for California housing from ../shared/data."""
    path = SHARED_DATA / "cal_housing_py3.pkz"
    if not path.is_file():
        pytest.skip(f"California housing cache file not found at {path} (../shared/data)")
    return path


@pytest.fixture
def no_sklearn_download(monkeypatch):
    """No network for scikit-learn: its download raises URLError. Returns the URLs tried."""
    from sklearn.datasets import _california_housing

    tried: list[str] = []

    def offline(remote, *args, **kwargs):
        tried.append(getattr(remote, "url", str(remote)))
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(_california_housing, "_fetch_remote", offline)
    return tried
