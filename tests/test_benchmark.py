"""The benchmark's report: targets judged right, misses listed, table complete.

Runs no notebook: it feeds `benchmarks/run.py` a made-up report.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from grading import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_run", None)


def _report(figures: dict, seconds: float = 100, grading_seconds: float = 120) -> dict:
    return {
        "profile": "full",
        "environment": {
            "date": "2026-01-01 00:00 UTC",
            "machine": "Linux x86_64, 2 CPU cores",
            "cpu_count": 2,
            "python": "3.11",
            "tensorflow": "2.x",
            "keras": "3.x",
        },
        "notebooks": [
            {
                "notebook": "03_first_mlp",
                "seconds": seconds,
                "peak_memory_mb": 1000.0,
                "error": None,
                "figures": figures,
            }
        ],
        "course_seconds": seconds,
        "complete": False,
        "autograde": {"seconds": grading_seconds, "per_notebook": {}, "full_marks": True},
    }


def test_every_target_has_a_direction(bench):
    names = [t.name for t in bench.TARGETS]
    assert len(names) == len(set(names))
    rmse = next(t for t in bench.TARGETS if t.name == "housing_test_rmse")
    assert rmse.met(0.55) and not rmse.met(0.57)  # lower is better
    mlp = next(t for t in bench.TARGETS if t.name == "mlp_test_accuracy")
    assert mlp.met(0.88) and not mlp.met(0.87)


def test_a_met_run_reports_nothing_missed(bench):
    report = _report({"mlp_test_accuracy": 0.89})
    assert bench.missed_targets(report) == []
    table = bench.markdown(report)
    assert "| 03 | 300-100 MLP, test accuracy | 0.8188 | >= 0.8800 | 0.8900 | yes |" in table
    assert "2026-01-01 00:00 UTC" in table


def test_misses_are_listed_and_marked(bench):
    report = _report({"mlp_test_accuracy": 0.85}, seconds=200, grading_seconds=400)
    missed = bench.missed_targets(report)
    assert any(m.startswith("mlp_test_accuracy = 0.85") for m in missed)
    assert "03_first_mlp took 200 s" in missed
    assert any(m.startswith("autograde took 400 s") for m in missed)
    table = bench.markdown(report)
    assert "| 0.8500 | **no** |" in table
    assert "| 03_first_mlp | 200 s | **no** |" in table


def test_a_missing_figure_is_a_miss(bench):
    assert any("mlp_test_accuracy = None" in m for m in bench.missed_targets(_report({})))
