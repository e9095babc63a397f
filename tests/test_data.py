"""course_utils.data: offline caches, clear errors, splits and profile sizes.

Fashion-MNIST is replaced by a tiny copy written as real IDX ``.gz`` files (see
``tiny_fashion`` in conftest.py), read by the real ``keras.datasets`` loader.
Nothing here touches the network: downloads are made to fail.
"""

from __future__ import annotations

import gzip
import shutil
import urllib.error

import numpy as np
import pytest

from course_utils import data
from course_utils.data import (
    FASHION_MNIST_CLASS_NAMES,
    DataCorruptError,
    DataUnavailableError,
    Splits,
    ensure_fashion_mnist_cache,
    load_fashion_mnist,
    load_fashion_mnist_raw,
    split_validation,
)

FILE_NAMES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)


def assert_raw_equals(raw, tiny):
    (x_train, y_train), (x_test, y_test) = raw
    for got, want in [(x_train, tiny.x_train), (y_train, tiny.y_train)]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    for got, want in [(x_test, tiny.x_test), (y_test, tiny.y_test)]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- #
# Fashion-MNIST: where the files come from
# --------------------------------------------------------------------------- #


def test_keras_cache_dir_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data.keras_cache_dir() == tmp_path / "datasets" / "fashion-mnist"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.keras_cache_dir() == tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist"


def test_cache_seeded_from_system_dir(tiny_fashion, keras_home, system_dir, no_download):
    tiny_fashion.write(system_dir)
    assert not keras_home.exists()

    assert_raw_equals(load_fashion_mnist_raw(), tiny_fashion)

    for name in FILE_NAMES:  # the four files were copied into the Keras cache
        assert (keras_home / name).read_bytes() == (system_dir / name).read_bytes()
    assert no_download == []


def test_load_fashion_mnist_from_system_dir(tiny_fashion, keras_home, system_dir, no_download):
    tiny_fashion.write(system_dir)
    splits = load_fashion_mnist(n_train=5, n_valid=4, n_test=3)

    assert isinstance(splits, Splits)
    assert splits.X_train.shape == (5, 28, 28)
    assert splits.X_valid.shape == (4, 28, 28)
    assert splits.X_test.shape == (3, 28, 28)
    assert splits.y_train.shape == (5,) and splits.y_valid.shape == (4,)
    assert splits.y_test.shape == (3,)
    for array in (splits.X_train, splits.y_train, splits.X_valid, splits.X_test):
        assert array.dtype == np.uint8
    # the first n_valid training images are the validation set, the next ones training
    np.testing.assert_array_equal(splits.X_valid, tiny_fashion.x_train[:4])
    np.testing.assert_array_equal(splits.y_valid, tiny_fashion.y_train[:4])
    np.testing.assert_array_equal(splits.X_train, tiny_fashion.x_train[4:9])
    np.testing.assert_array_equal(splits.y_train, tiny_fashion.y_train[4:9])
    np.testing.assert_array_equal(splits.X_test, tiny_fashion.x_test[:3])
    np.testing.assert_array_equal(splits.y_test, tiny_fashion.y_test[:3])
    assert splits.names == FASHION_MNIST_CLASS_NAMES
    assert no_download == []


def test_system_dir_argument(tiny_fashion, tmp_path, system_dir):
    elsewhere = tiny_fashion.write(tmp_path / "elsewhere")
    cache = tmp_path / "cache"
    # the default system dir (empty here) cannot complete the cache...
    assert ensure_fashion_mnist_cache(cache) is None
    # ...the one passed in can
    assert ensure_fashion_mnist_cache(cache, system_dir=elsewhere) == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(FILE_NAMES)


def test_intact_cache_used_without_system_dir(tiny_fashion_cache, keras_home, no_download):
    before = {p.name: p.stat().st_mtime_ns for p in keras_home.iterdir()}
    assert_raw_equals(load_fashion_mnist_raw(), tiny_fashion_cache)
    assert no_download == []
    assert {p.name: p.stat().st_mtime_ns for p in keras_home.iterdir()} == before


def test_ensure_cache_reports_missing_files(tiny_fashion, keras_home, system_dir):
    assert ensure_fashion_mnist_cache() is None
    tiny_fashion.write(keras_home, names=FILE_NAMES[:3])
    assert ensure_fashion_mnist_cache() is None
    tiny_fashion.write(system_dir, names=FILE_NAMES[3:])
    assert ensure_fashion_mnist_cache() == keras_home
    assert (keras_home / FILE_NAMES[3]).exists()


def test_no_cache_no_system_files_no_network(tiny_fashion, keras_home, system_dir, no_download):
    with pytest.raises(DataUnavailableError) as excinfo:
        load_fashion_mnist_raw()

    error = excinfo.value
    assert type(error) is DataUnavailableError
    assert not isinstance(error, (urllib.error.URLError, OSError))
    assert no_download, "Keras should have tried (and failed) to download"
    message = str(error)
    assert message.startswith("Fashion-MNIST is not available")
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(keras_home) in message
    for name in FILE_NAMES:
        assert name in message
    assert "URL fetch failure" in message  # the reason, in one line
    assert "Traceback" not in message
    # raised "from None": no urllib traceback chained under it
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_download_failure_from_keras_loader_becomes_unavailable(
    tiny_fashion, keras_home, system_dir, monkeypatch, keras
):
    def offline():
        raise Exception("URL fetch failure on https://example.invalid: None -- no network")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataUnavailableError, match="Fashion-MNIST is not available"):
        load_fashion_mnist(n_train=2, n_valid=2, n_test=2)


def test_other_errors_with_complete_cache_are_not_hidden(tiny_fashion_cache, monkeypatch, keras):
    def broken():
        raise RuntimeError("something else went wrong")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", broken)
    with pytest.raises(RuntimeError, match="something else went wrong") as excinfo:
        load_fashion_mnist_raw()
    assert not isinstance(excinfo.value, DataUnavailableError)


# --------------------------------------------------------------------------- #
# Fashion-MNIST: damaged files
# --------------------------------------------------------------------------- #


def _assert_corrupt_message(message: str, path) -> None:
    assert str(path) in message
    assert "Delete it" in message


def test_truncated_gz_in_cache(tiny_fashion_cache, keras_home, no_download):
    path = keras_home / "train-images-idx3-ubyte.gz"
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])

    with pytest.raises(DataCorruptError, match="cannot be decompressed") as excinfo:
        load_fashion_mnist_raw()
    _assert_corrupt_message(str(excinfo.value), path)
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_gz_with_altered_content(tiny_fashion_cache, keras_home):
    path = keras_home / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] = (content[-1] + 1) % 256  # one label changed, same size
    path.write_bytes(gzip.compress(bytes(content)))

    with pytest.raises(DataCorruptError, match="does not match the known sha256") as excinfo:
        load_fashion_mnist_raw()
    _assert_corrupt_message(str(excinfo.value), path)


def test_gz_with_wrong_size(tiny_fashion_cache, keras_home):
    path = keras_home / "t10k-images-idx3-ubyte.gz"
    content = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(content[:-784]))  # one image short

    expected = len(content)
    with pytest.raises(
        DataCorruptError,
        match=f"holds {expected - 784:,} bytes of data, expected {expected:,}",
    ) as excinfo:
        load_fashion_mnist_raw()
    _assert_corrupt_message(str(excinfo.value), path)


def test_non_gzip_file(tiny_fashion_cache, keras_home):
    path = keras_home / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html><body>Captive portal: please log in</body></html>")

    with pytest.raises(DataCorruptError, match="cannot be decompressed") as excinfo:
        load_fashion_mnist(n_train=2, n_valid=2, n_test=2)
    _assert_corrupt_message(str(excinfo.value), path)


def test_damaged_system_file_is_reported_not_copied(tiny_fashion, keras_home, system_dir):
    tiny_fashion.write(system_dir)
    path = system_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])

    with pytest.raises(DataCorruptError) as excinfo:
        ensure_fashion_mnist_cache()
    assert str(path) in str(excinfo.value)
    assert not (keras_home / "train-images-idx3-ubyte.gz").exists()


def test_verify_gzip_file_accepts_recompressed_copy(tiny_fashion, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    size, sha = data.FASHION_MNIST_FILES[name]
    path = tmp_path / name
    path.write_bytes(gzip.compress(tiny_fashion.files[name], compresslevel=1))
    data.verify_gzip_file(path, size, sha)  # different .gz bytes, same content
    with pytest.raises(DataCorruptError):
        data.verify_gzip_file(path, size, "0" * 64)


# --------------------------------------------------------------------------- #
# Splits
# --------------------------------------------------------------------------- #


def test_split_validation_holds_out_first_samples():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    X_train, y_train, X_valid, y_valid = split_validation(X, y, 3)
    np.testing.assert_array_equal(X_valid, X[:3])
    np.testing.assert_array_equal(y_valid, [0, 10, 20])
    np.testing.assert_array_equal(X_train, X[3:])
    np.testing.assert_array_equal(y_train, y[3:])


@pytest.mark.parametrize("n_valid", [0, -1, 10, 11])
def test_split_validation_rejects_bad_sizes(n_valid):
    with pytest.raises(ValueError, match=rf"n_valid must be between 1 and 9, got {n_valid}"):
        split_validation(np.zeros(10), np.zeros(10), n_valid)


def test_splits_properties():
    arrays = [np.full(3, i) for i in range(6)]
    s = Splits(*arrays, names=("a", "b"))
    assert s.train == (arrays[0], arrays[1])
    assert s.valid == (arrays[2], arrays[3])
    assert s.test == (arrays[4], arrays[5])
    X_train, y_train = s.train
    assert X_train is arrays[0] and y_train is arrays[1]
    assert s.names == ("a", "b")
    assert Splits(*arrays).names == ()
    with pytest.raises(AttributeError):
        s.X_train = np.zeros(1)  # frozen


def test_class_names():
    assert len(FASHION_MNIST_CLASS_NAMES) == 10
    assert FASHION_MNIST_CLASS_NAMES[0] == "T-shirt/top"
    assert FASHION_MNIST_CLASS_NAMES[9] == "Ankle boot"


# --------------------------------------------------------------------------- #
# load_fashion_mnist: sizes by profile
# --------------------------------------------------------------------------- #


@pytest.fixture
def fake_raw(monkeypatch):
    """Full-size stand-in for the raw data; labels hold each sample's index."""
    x_train = np.zeros((60_000, 28, 28), dtype=np.uint8)
    x_test = np.zeros((10_000, 28, 28), dtype=np.uint8)
    y_train = np.arange(60_000)
    y_test = np.arange(10_000)
    monkeypatch.setattr(
        data, "load_fashion_mnist_raw", lambda: ((x_train, y_train), (x_test, y_test))
    )


def _sizes(s: Splits):
    return len(s.X_train), len(s.X_valid), len(s.X_test)


def test_full_profile_sizes(fake_raw, full_profile):
    s = load_fashion_mnist()
    assert _sizes(s) == (55_000, 5_000, 10_000)
    assert len(s.y_train) == 55_000 and len(s.y_valid) == 5_000 and len(s.y_test) == 10_000
    np.testing.assert_array_equal(s.y_valid, np.arange(5_000))
    np.testing.assert_array_equal(s.y_train, np.arange(5_000, 60_000))


def test_default_profile_is_full_size(fake_raw, no_profile):
    assert _sizes(load_fashion_mnist()) == (55_000, 5_000, 10_000)


def test_fast_profile_sizes(fake_raw, fast_profile):
    s = load_fashion_mnist()
    assert _sizes(s) == (6_000, 1_000, 2_000)
    assert (len(s.y_train), len(s.y_valid), len(s.y_test)) == (6_000, 1_000, 2_000)
    # still the first validation images and the training images after all 5,000 held out
    np.testing.assert_array_equal(s.y_valid, np.arange(1_000))
    np.testing.assert_array_equal(s.y_train, np.arange(5_000, 11_000))
    np.testing.assert_array_equal(s.y_test, np.arange(2_000))
    assert s.X_train.shape[1:] == (28, 28)


def test_fast_profile_small_n_valid(fake_raw, fast_profile):
    s = load_fashion_mnist(n_valid=500)
    assert _sizes(s) == (6_000, 500, 2_000)
    assert s.y_train[0] == 500


def test_explicit_sizes_override_profile(fake_raw, fast_profile, monkeypatch):
    assert _sizes(load_fashion_mnist(n_train=100, n_test=50)) == (100, 1_000, 50)
    monkeypatch.setenv("COURSE_PROFILE", "full")
    assert _sizes(load_fashion_mnist(n_train=100, n_valid=10_000, n_test=50)) == (100, 10_000, 50)
    assert _sizes(load_fashion_mnist(n_valid=10_000)) == (50_000, 10_000, 10_000)


def test_asking_for_too_many_samples(fake_raw, full_profile):
    with pytest.raises(ValueError, match="asked for 60,000 samples but only 55,000 are available"):
        load_fashion_mnist(n_train=60_000)


# --------------------------------------------------------------------------- #
# California housing
# --------------------------------------------------------------------------- #

CAL_FEATURES = (
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
)


@pytest.fixture
def housing_cache(sklearn_home, cal_housing_pkz, no_sklearn_download):
    shutil.copyfile(cal_housing_pkz, sklearn_home / "cal_housing_py3.pkz")
    return sklearn_home


def test_california_housing_full_profile(housing_cache, full_profile, no_sklearn_download):
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split

    s = data.load_california_housing()
    assert s.X_train.shape == (11_610, 8)
    assert s.X_valid.shape == (3_870, 8)
    assert s.X_test.shape == (5_160, 8)
    assert s.y_train.shape == (11_610,) and s.y_valid.shape == (3_870,)
    assert s.y_test.shape == (5_160,)
    assert s.names == CAL_FEATURES
    assert no_sklearn_download == []
    # the classic tutorial's split: random_state 7, then 11
    housing = fetch_california_housing(data_home=str(housing_cache), download_if_missing=False)
    X_rest, X_test, y_rest, y_test = train_test_split(housing.data, housing.target, random_state=7)
    X_train, X_valid, _, _ = train_test_split(X_rest, y_rest, random_state=11)
    np.testing.assert_array_equal(s.X_test, X_test)
    np.testing.assert_array_equal(s.y_test, y_test)
    np.testing.assert_array_equal(s.X_valid, X_valid)
    np.testing.assert_array_equal(s.X_train, X_train)


def test_california_housing_fast_profile(housing_cache, fast_profile):
    s = data.load_california_housing()
    assert s.X_train.shape == (4_000, 8)
    assert s.y_train.shape == (4_000,)
    assert s.X_valid.shape == (3_870, 8)  # validation and test sets stay whole
    assert s.X_test.shape == (5_160, 8)
    assert len(s.names) == 8
    assert data.load_california_housing(n_train=100).X_train.shape == (100, 8)


def test_california_housing_missing_and_offline(sklearn_home, no_sklearn_download):
    with pytest.raises(DataUnavailableError) as excinfo:
        data.load_california_housing()
    error = excinfo.value
    assert not isinstance(error, (urllib.error.URLError, OSError))
    assert no_sklearn_download, "scikit-learn should have tried (and failed) to download"
    message = str(error)
    assert message.startswith("California housing is not available")
    assert "cal_housing_py3.pkz" in message
    assert "SCIKIT_LEARN_DATA" in message
    assert str(sklearn_home) in message
    assert "URLError" in message
    assert error.__cause__ is None and error.__suppress_context__


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"\x00" * 64, id="garbage"),
        pytest.param(lambda b: b[:-1] + bytes([(b[-1] + 1) % 256]), id="one-byte-changed"),
    ],
)
def test_california_housing_corrupt_cache(sklearn_home, no_sklearn_download, damage):
    path = sklearn_home / "cal_housing_py3.pkz"
    fake_original = bytes(range(256)) * 64
    path.write_bytes(damage(fake_original))
    with pytest.raises(DataCorruptError) as excinfo:
        data.load_california_housing()
    message = str(excinfo.value)
    assert str(path) in message
    assert "Delete it" in message
    assert no_sklearn_download == []


def test_verify_file_sha256(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"course")
    data.verify_file_sha256(path, hashlib.sha256(b"course").hexdigest())
    with pytest.raises(DataCorruptError, match="sha256"):
        data.verify_file_sha256(path, hashlib.sha256(b"other").hexdigest())
