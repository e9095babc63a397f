"""course_utils.results: record() prints a figure and, under the benchmark, saves it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import course_utils
from course_utils.results import RESULTS_ENV, read_results, record


@pytest.fixture
def no_results_file(monkeypatch, tmp_path):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def results_file(monkeypatch, tmp_path):
    path = tmp_path / "bench" / "results.jsonl"
    path.parent.mkdir()
    monkeypatch.setenv(RESULTS_ENV, str(path))
    return path


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_package_exports_record():
    assert course_utils.record is record


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.88421, "", "mlp_test_accuracy = 0.8842\n"),
        (4.2, "s", "mlp_test_accuracy = 4.2000 s\n"),
        (123.456, "s", "mlp_test_accuracy = 123.456 s\n"),
        (266_610, "", "mlp_test_accuracy = 266610\n"),
        ("n/a", "", "mlp_test_accuracy = n/a\n"),
    ],
)
def test_record_prints_name_and_value(no_results_file, capsys, value, unit, shown):
    assert record("mlp_test_accuracy", value, unit=unit) is value
    assert capsys.readouterr().out == shown


def test_record_writes_nothing_without_results_file(no_results_file, capsys):
    record("accuracy", 0.9)
    assert list(no_results_file.iterdir()) == []
    assert capsys.readouterr().out == "accuracy = 0.9000\n"


def test_record_appends_json_lines(results_file, capsys):
    record("accuracy", 0.9)
    record("epoch_seconds", 12.5, unit="s")
    entries = _lines(results_file)
    assert [(e["name"], e["value"], e["unit"]) for e in entries] == [
        ("accuracy", 0.9, ""),
        ("epoch_seconds", 12.5, "s"),
    ]
    assert all(isinstance(e["time"], float) for e in entries)
    assert entries[0]["time"] <= entries[1]["time"]
    assert "accuracy = 0.9000" in capsys.readouterr().out  # still printed


@pytest.mark.parametrize("kind", ["numpy", "tensorflow"])
def test_record_array_library_scalars(results_file, capsys, kind, request):
    """NumPy and TensorFlow scalars are printed and saved as plain Python numbers."""
    if kind == "numpy":
        value, count = np.float32(0.25), np.int64(196)
    else:
        tf = request.getfixturevalue("tf")
        value, count = tf.constant(0.25), tf.constant(196)
    assert record("loss", value) is value
    record("steps", count)
    assert capsys.readouterr().out == "loss = 0.2500\nsteps = 196\n"
    loss, steps = _lines(results_file)
    assert loss["value"] == 0.25 and type(loss["value"]) is float
    assert steps["value"] == 196 and type(steps["value"]) is int


def test_read_results_last_value_per_name(results_file, capsys):
    record("accuracy", 0.8)
    record("loss", 0.5)
    record("accuracy", 0.85)
    with results_file.open("a", encoding="utf-8") as handle:
        handle.write("\n   \n")  # blank lines are ignored
    assert read_results(results_file) == {"accuracy": 0.85, "loss": 0.5}
    assert read_results(str(results_file)) == {"accuracy": 0.85, "loss": 0.5}


def test_read_results_missing_file(tmp_path):
    assert read_results(tmp_path / "nothing-here.jsonl") == {}
