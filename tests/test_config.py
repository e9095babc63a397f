"""course_utils.config: profile, seeds, output folders, the first cell, quiet stderr."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest
from conftest import QUIET_ENV, preserve_env

import course_utils
from course_utils import config
from course_utils.config import PROFILE_ENV

# --------------------------------------------------------------------------- #
# Profile
# --------------------------------------------------------------------------- #


def test_profile_defaults_to_full(no_profile):
    assert config.get_profile() == "full"
    assert config.is_fast() is False


def test_empty_profile_means_default(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "   ")
    assert config.get_profile() == "full"


def test_fast_profile(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "fast")
    assert config.get_profile() == "fast"
    assert config.is_fast() is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [("FAST", "fast"), (" fast\n", "fast"), ("Full", "full"), ("  FULL  ", "full")],
)
def test_profile_ignores_case_and_whitespace(monkeypatch, value, expected):
    monkeypatch.setenv(PROFILE_ENV, value)
    assert config.get_profile() == expected


@pytest.mark.parametrize("value", ["slow", "quick", "fastest", "1"])
def test_invalid_profile_names_variable_and_choices(monkeypatch, value):
    monkeypatch.setenv(PROFILE_ENV, value)
    with pytest.raises(ValueError) as excinfo:
        config.get_profile()
    message = str(excinfo.value)
    assert "COURSE_PROFILE" in message
    assert repr(value) in message
    assert "full" in message and "fast" in message
    # is_fast and by_profile do not silently fall back to a profile either
    with pytest.raises(ValueError, match="COURSE_PROFILE"):
        config.is_fast()
    with pytest.raises(ValueError, match="COURSE_PROFILE"):
        config.by_profile(full=1, fast=2)


def test_by_profile_picks_by_profile(monkeypatch):
    full, fast = object(), object()
    monkeypatch.setenv(PROFILE_ENV, "full")
    assert config.by_profile(full=full, fast=fast) is full
    monkeypatch.setenv(PROFILE_ENV, "fast")
    assert config.by_profile(full=full, fast=fast) is fast
    monkeypatch.delenv(PROFILE_ENV)
    assert config.by_profile(full=full, fast=fast) is full


def test_by_profile_is_keyword_only():
    with pytest.raises(TypeError):
        config.by_profile(10, 1)


def test_package_exports_the_config_helpers():
    for name in ("by_profile", "get_profile", "is_fast", "output_dir", "set_seed", "setup"):
        assert getattr(course_utils, name) is getattr(config, name)


# --------------------------------------------------------------------------- #
# Seeds
# --------------------------------------------------------------------------- #


def _draw(tf):
    return (
        random.random(),
        np.random.rand(5),
        tf.random.uniform((5,)).numpy(),
        tf.random.normal((3,)).numpy(),
    )


def test_set_seed_makes_random_numbers_reproducible(tf):
    config.set_seed(123)
    first = _draw(tf)
    config.set_seed(123)
    second = _draw(tf)
    config.set_seed(124)
    other = _draw(tf)

    assert first[0] == second[0]
    for a, b in zip(first[1:], second[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[0] != other[0]
    for a, c in zip(first[1:], other[1:], strict=True):
        assert not np.array_equal(a, c)


def test_set_seed_default_is_reproducible(tf):
    config.set_seed()
    a = np.random.rand(3)
    config.set_seed(config.DEFAULT_SEED)
    np.testing.assert_array_equal(np.random.rand(3), a)


def test_the_seed_offset_shifts_every_seed(tf, monkeypatch):
    monkeypatch.delenv(config.SEED_OFFSET_ENV, raising=False)
    config.set_seed(44)
    expected = np.random.rand(3)
    monkeypatch.setenv(config.SEED_OFFSET_ENV, "2")
    config.set_seed(42)  # 42 + 2
    np.testing.assert_array_equal(np.random.rand(3), expected)
    monkeypatch.setenv(config.SEED_OFFSET_ENV, "")
    assert config.seed_offset() == 0


def test_a_bad_seed_offset_says_what_is_wrong(monkeypatch):
    monkeypatch.setenv(config.SEED_OFFSET_ENV, "two")
    with pytest.raises(ValueError, match="COURSE_SEED_OFFSET='two': expected a whole number"):
        config.seed_offset()


# --------------------------------------------------------------------------- #
# Output folders
# --------------------------------------------------------------------------- #


def test_output_dir_creates_outputs_folder_under_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = config.output_dir("checkpoints", "mlp")
    assert path == tmp_path / "outputs" / "checkpoints" / "mlp"
    assert path.is_dir()
    # calling it again with the folder already there is fine
    (path / "keep.txt").write_text("x")
    assert config.output_dir("checkpoints", "mlp") == path
    assert (path / "keep.txt").read_text() == "x"


def test_output_dir_without_parts_is_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = config.output_dir()
    assert path == tmp_path / "outputs"
    assert path.is_dir()


# --------------------------------------------------------------------------- #
# setup(): the first cell of every notebook
# --------------------------------------------------------------------------- #


@pytest.fixture
def isolated_setup(monkeypatch, tf):
    """Undo what setup() changes globally: environment variables and matplotlib style."""
    import matplotlib as mpl

    preserve_env(monkeypatch, *QUIET_ENV)
    with mpl.rc_context():
        yield


def test_setup_prints_versions_and_profile(isolated_setup, monkeypatch, capsys, tf):
    import keras

    monkeypatch.setenv(PROFILE_ENV, "fast")
    assert config.setup() == "fast"
    out = capsys.readouterr().out
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"TensorFlow {tf.__version__}" in out
    assert f"Keras {keras.__version__}" in out
    assert f"Python {py}" in out
    assert "profile: fast" in out
    assert "COURSE_PROFILE=fast" not in out  # the hint is only for the full profile


def test_setup_full_profile_hints_at_fast(isolated_setup, no_profile, capsys):
    assert config.setup() == "full"
    out = capsys.readouterr().out
    assert "profile: full" in out
    assert "COURSE_PROFILE=fast" in out


def test_setup_quiet_and_seeded(isolated_setup, monkeypatch, capsys):
    monkeypatch.setenv(PROFILE_ENV, "fast")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert config.setup(seed=5, verbose=False) == "fast"
    assert capsys.readouterr().out == ""
    a = np.random.rand(4)
    config.set_seed(5)
    np.testing.assert_array_equal(a, np.random.rand(4))
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"  # TensorFlow's C++ logs are off


def test_setup_rejects_bad_profile(isolated_setup, monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "turbo")
    with pytest.raises(ValueError, match="COURSE_PROFILE"):
        config.setup()


# --------------------------------------------------------------------------- #
# stderr_silenced
# --------------------------------------------------------------------------- #


def test_stderr_silenced_hides_fd2_and_restores_it(capfd):
    os.write(2, b"before\n")
    with config.stderr_silenced():
        os.write(2, b"hidden C++ chatter\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "before" in err
    assert "after" in err
    assert "hidden" not in err


def test_stderr_silenced_restores_fd2_after_an_exception(capfd):
    with pytest.raises(RuntimeError, match="boom"):
        with config.stderr_silenced():
            os.write(2, b"hidden\n")
            raise RuntimeError("boom")
    os.write(2, b"visible again\n")
    err = capfd.readouterr().err
    assert "visible again" in err
    assert "hidden" not in err


def test_stderr_silenced_leaves_stdout_alone(capfd):
    with config.stderr_silenced():
        os.write(1, b"on stdout\n")
    assert "on stdout" in capfd.readouterr().out
