"""The benchmark's report: targets judged right, misses listed, table complete, runs survive.

Runs no real notebook: it feeds the report a made-up run, and runs one tiny
notebook that fails to check a failure is reported, not fatal.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from benchmarks import grading, notebooks, report, run
from benchmarks.targets import SANDBOX_OVERHEAD_TARGET, TARGETS


def _report(
    figures: dict, seconds: float = 100, overhead: float = 0.05, speedup: float = 3.2
) -> dict:
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
                "notebook": "04_first_mlp",
                "seconds": seconds,
                "peak_memory_mb": 1000.0,
                "error": None,
                "figures": figures,
            }
        ],
        "course_seconds": seconds,
        "complete": False,
        "grading": {
            "seconds": {"sandboxed": 100 * (1 + overhead), "unsandboxed": 100.0},
            "per_notebook": {},
            "overhead": overhead,
            "full_marks": True,
        },
        "class": {
            "learners": 30,
            "notebooks": 270,
            "cores": 2,
            "seconds": 1200.0,
            "sequential_seconds": 1200.0 * speedup,
            "speedup": speedup,
            "same_grades": True,
            "notebooks_per_minute_per_core": {"class": 6.75, "sequential": 6.75 / speedup},
            "seconds_per_notebook": {},
        },
    }


def test_every_target_has_a_direction():
    names = [t.name for t in TARGETS]
    assert len(names) == len(set(names))
    rmse = next(t for t in TARGETS if t.name == "housing_test_rmse")
    assert rmse.met(0.49) and not rmse.met(0.51)  # lower is better
    mlp = next(t for t in TARGETS if t.name == "mlp_test_accuracy")
    assert mlp.met(0.90) and not mlp.met(0.89)


def test_a_met_run_reports_nothing_missed():
    made_up = _report({"mlp_test_accuracy": 0.91})
    assert report.missed_targets(made_up) == []
    table = report.markdown(made_up)
    assert "| 04 | 300-100 MLP, test accuracy | 0.8188 | >= 0.9000 | 0.9100 | yes |" in table
    assert "2026-01-01 00:00 UTC" in table
    assert "| <= +10% | +5.0% (105 s vs 100 s) | yes |" in table
    assert "| >= 3x | 3.20x (20.0 min vs 64.0 min) | yes |" in table


def test_misses_are_listed_and_marked():
    made_up = _report(
        {"mlp_test_accuracy": 0.85},
        seconds=200,
        overhead=SANDBOX_OVERHEAD_TARGET + 0.01,
        speedup=2.5,
    )
    missed = report.missed_targets(made_up)
    assert any(m.startswith("mlp_test_accuracy = 0.85") for m in missed)
    assert "04_first_mlp took 200 s" in missed
    assert any(m.startswith("sandboxed grading overhead 11.0%") for m in missed)
    assert any(m.startswith("class grading 2.5x faster") for m in missed)
    table = report.markdown(made_up)
    assert "| 0.8500 | **no** |" in table
    assert "| 04_first_mlp | 200 s | **no** |" in table


def test_a_missing_figure_is_a_miss():
    assert any("mlp_test_accuracy = None" in m for m in report.missed_targets(_report({})))


def test_a_failing_notebook_is_reported_and_the_run_goes_on(tmp_path, monkeypatch):
    folder = tmp_path / "solutions" / "98_breaks"
    folder.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            new_code_cell("from course_utils import record\nrecord('x', 1.0)"),
            new_code_cell("raise RuntimeError('broken on purpose')"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "98_breaks.ipynb")
    result = notebooks.run_notebook(folder / "98_breaks.ipynb", "fast", timeout=120)
    assert result["error"] and "broken on purpose" in result["error"]
    assert result["figures"] == {"x": 1.0}  # what it measured before failing is kept
    assert report.missed_targets(run.build_report("fast", [result], {})) == [
        f"98_breaks failed: {result['error']}"
    ]


def test_results_are_rendered_again_from_results_json(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(_report({"mlp_test_accuracy": 0.91})))
    assert run.main(["--render", "--out", str(tmp_path)]) == 0
    assert "| 04 | 300-100 MLP" in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.parametrize(
    "only, expected", [(["04"], ["04_first_mlp"]), (["11_gradient_tape"], ["11_gradient_tape"])]
)
def test_notebooks_are_chosen_by_number_or_name(only, expected):
    assert [p.parent.name for p in notebooks.notebooks(only)] == expected


def test_a_figure_recorded_over_seeds_shows_its_range():
    name = "ablation_sgd_relu_glorot_test_accuracy"
    made_up = _report(
        {"mlp_test_accuracy": 0.91, name: 0.8, f"{name}_min": 0.75, f"{name}_max": 0.84}
    )
    table = report.markdown(made_up)
    assert "| ablation, SGD: ReLU + Glorot, test accuracy | 0.6189 | - | " in table
    assert "| 0.8000 (0.7500-0.8400) | - |" in table
    assert report.missed_targets(made_up) == []  # recorded, no target to miss


def _run(seconds: float, figures: dict, error: str | None = None) -> dict:
    return {
        "notebook": "04_first_mlp",
        "measured": "2026-01-01 00:00 UTC",
        "seconds": seconds,
        "peak_memory_mb": 1000.0 + seconds,
        "error": error,
        "figures": figures,
    }


def test_runs_with_other_seeds_are_averaged_with_their_range():
    own = {"ablation_x": 0.8, "ablation_x_min": 0.7, "ablation_x_max": 0.9}
    combined = notebooks.combine_runs(
        [
            _run(50, {"mlp_test_accuracy": 0.89, **own}),
            _run(60, {"mlp_test_accuracy": 0.91, **own}),
            _run(55, {"mlp_test_accuracy": 0.90, **own}),
        ]
    )
    figures = combined["figures"]
    assert figures["mlp_test_accuracy"] == pytest.approx(0.90)
    assert (figures["mlp_test_accuracy_min"], figures["mlp_test_accuracy_max"]) == (0.89, 0.91)
    # a range the notebook records itself is kept as it is, not given a range of its own
    assert {k: figures[k] for k in own} == pytest.approx(own)
    assert "ablation_x_min_min" not in figures and "ablation_x_min" in own
    assert (combined["seconds"], combined["peak_memory_mb"], combined["seeds"]) == (55.0, 1060.0, 3)
    table = report.markdown({**_report({}), "notebooks": [combined]})
    assert "| 0.9000 (0.8900-0.9100) | yes |" in table
    assert "ran with 3 seeds: figures are the mean" in table


def test_a_failed_seed_is_reported_and_left_out_of_the_mean():
    combined = notebooks.combine_runs(
        [_run(50, {"mlp_test_accuracy": 0.90}), _run(5, {}, error="CellTimeoutError: cell 3")]
    )
    assert combined["error"] == "CellTimeoutError: cell 3"
    assert combined["figures"]["mlp_test_accuracy"] == pytest.approx(0.90)
    assert "mlp_test_accuracy_min" not in combined["figures"]  # one finished run: no range


def test_the_benchmark_runs_a_notebook_with_each_seed(tmp_path):
    folder = tmp_path / "solutions" / "97_seeds"
    folder.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import random\n"
                "from course_utils import record\n"
                "from course_utils.config import set_seed\n"
                "set_seed(42)\n"
                "record('draw', random.random())"
            )
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "97_seeds.ipynb")
    runs = [notebooks.run_notebook(folder / "97_seeds.ipynb", "fast", 120, k) for k in range(2)]
    draws = [r["figures"]["draw"] for r in runs]
    assert draws[0] != draws[1]  # another seed, another draw
    combined = notebooks.combine_runs(runs)
    assert combined["figures"]["draw_min"] == min(draws)
    assert combined["figures"]["draw"] == pytest.approx(sum(draws) / 2)


def test_every_recorded_figure_has_a_row_and_every_row_was_recorded():
    """The committed full-profile results and the targets table name the same figures.

    A notebook that records a figure no row shows (a renamed experiment), or a row whose
    figure no notebook records any more (a stale one), fails here rather than in a report.
    """
    from pathlib import Path

    from benchmarks.targets import ablation_targets

    results = json.loads((Path(__file__).parents[1] / "benchmarks" / "results.json").read_text())
    assert results["profile"] == "full"
    recorded = {
        (entry["notebook"][:2], name)
        for entry in results["notebooks"]
        for name in entry["figures"]
        if not name.endswith(("_min", "_max"))
    }
    rows = {(t.notebook, t.name) for t in [*TARGETS, *ablation_targets()]}
    assert sorted(recorded - rows) == [], "recorded figures without a row in benchmarks/targets.py"
    assert sorted(rows - recorded) == [], "rows in benchmarks/targets.py that no notebook records"


def _with_slice(made_up: dict, ratio: float, same: bool = True) -> dict:
    made_up["slice"] = {
        "notebooks": ["01_data_preprocessing", "05_normalization_callbacks"],
        "learners": 1,
        "seconds": {"slice": 100.0 * ratio, "full": 100.0},
        "per_notebook": {},
        "ratio": ratio,
        "cells": {"01_data_preprocessing": [11, 30]},
        "fallbacks": 0,
        "same_grades": same,
        "full_marks": True,
    }
    return made_up


def test_the_grading_slice_is_judged_by_its_ratio_and_its_grades():
    met = _with_slice(_report({"mlp_test_accuracy": 0.91}), 0.45)
    assert report.missed_targets(met) == []
    assert "| <= 0.5x | 0.45x (45.0 s vs 100.0 s) | yes |" in report.markdown(met)
    slow = _with_slice(_report({"mlp_test_accuracy": 0.91}), 0.6)
    assert any(m.startswith("grading slice 0.6x") for m in report.missed_targets(slow))
    different = _with_slice(_report({"mlp_test_accuracy": 0.91}), 0.4, same=False)
    assert "(different grades!) | **no** |" in report.markdown(different)
    older = _with_slice(_report({"mlp_test_accuracy": 0.91}), 0.45)
    older["slice"]["before_split"] = "measured before 02 and 08 were split"
    assert "(45.0 s vs 100.0 s); measured before 02 and 08 were split | yes |" in report.markdown(
        older
    )


def test_the_benchmarks_own_cells_read_only_what_their_notebook_makes():
    """A cell the benchmark adds to a notebook's copy records figures from names the notebook
    binds; a renamed variable fails here, not in a two-hour benchmark run."""
    import builtins

    from course_utils.grading.nbgrader_steps.grading_slice import cell_names

    for name, source in notebooks.RECORD_AFTER.items():
        path = notebooks.REPO / "solutions" / name / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        bound: set[str] = set()
        for cell in nb.cells:
            if cell.cell_type == "code":
                found = cell_names(cell.source)
                bound |= found.binds | found.maybe_binds
        missing = cell_names(source).reads - bound - set(dir(builtins))
        assert not missing, f"{name}: the benchmark's cell reads {sorted(missing)}"
        assert "record" in source, f"{name}: the benchmark's cell records nothing"


def _class_part(sequential: float, full: float, sliced: float, day: str = "2026-12-05") -> dict:
    return {
        "learners": 10,
        "measured": f"{day} 10:00 UTC",
        "seconds": {"sequential": sequential, "full": full, "slice": sliced},
        "same_grades": True,
        "seconds_by_kind": {"setup": [6.0, 8.0], "tests": [1.0, 3.0]},
    }


def test_the_class_run_is_measured_one_assignment_at_a_time_and_resumes(monkeypatch):
    measured: list[list[str]] = []

    def fake_part(assignments: list[str], learners: int, workers: int | None = None) -> dict:
        measured.append(assignments)
        return _class_part(300.0, 200.0, 100.0)

    monkeypatch.setattr(grading, "time_class_part", fake_part)
    saved: list[list[str]] = []
    kept = {
        "01_a": _class_part(600.0, 400.0, 200.0, day="2026-12-04"),
        "02_b": {**_class_part(1.0, 1.0, 1.0), "learners": 3},  # another class size: again
    }
    whole = grading.time_class(
        ["01_a", "02_b", "03_c"], 10, parts=kept, on_part=lambda parts: saved.append(list(parts))
    )
    assert measured == [["02_b"], ["03_c"]]  # 01_a was kept, 02_b had 3 learners
    assert saved == [["01_a", "02_b"], ["01_a", "02_b", "03_c"]]  # saved after each one
    assert whole["complete"] and whole["notebooks"] == 30
    assert (whole["sequential_seconds"], whole["seconds_without_slice"], whole["seconds"]) == (
        1200.0,
        800.0,
        400.0,
    )
    assert whole["speedup"] == 3.0 and whole["same_grades"]
    assert whole["seconds_per_notebook"] == {"setup": 7.0, "tests": 2.0}  # median of all notebooks
    assert whole["measured"] == ["2026-12-04", "2026-12-05"]
    row = report.markdown({**_report({}), "class": whole})
    assert "measured on 2026-12-04 and 2026-12-05 | yes |" in row


def test_an_unfinished_class_run_is_shown_as_such_and_counts_as_missed():
    parts = {"01_a": _class_part(900.0, 600.0, 200.0)}
    whole = grading.class_record(parts, ["01_a", "02_b"], 10)
    assert not whole["complete"] and whole["notebooks"] == 10 and whole["speedup"] == 4.5
    made_up = {**_report({"mlp_test_accuracy": 0.91}), "class": whole}
    assert report.missed_targets(made_up) == ["class run unfinished: 01_a measured"]
    table = report.markdown(made_up)
    assert "1 assignment(s) measured so far, 10 notebooks (unfinished)" in table
    assert "| not yet |" in table
    different = {**parts, "02_b": {**_class_part(900.0, 600.0, 200.0), "same_grades": False}}
    assert not grading.class_record(different, ["01_a", "02_b"], 10)["same_grades"]


def test_an_interrupted_class_run_keeps_what_it_measured_and_resumes(tmp_path, monkeypatch):
    (tmp_path / "results.json").write_text(json.dumps(_report({"mlp_test_accuracy": 0.91})))
    names = [p.parent.name for p in notebooks.notebooks()]
    measured: list[str] = []

    def part(assignments: list[str], learners: int, workers: int | None = None) -> dict:
        if len(measured) == 2 and "stop" not in measured:
            measured.append("stop")
            raise KeyboardInterrupt  # the session ends during the third assignment
        measured.extend(assignments)
        return _class_part(300.0, 200.0, 100.0)

    monkeypatch.setattr(grading, "time_class_part", part)
    argv = ["--grading-only", "class", "--class-learners", "10", "--out", str(tmp_path)]
    with pytest.raises(KeyboardInterrupt):
        run.main(argv)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert list(saved["class_parts"]) == names[:2] and not saved["class"]["complete"]
    assert "not yet" in (tmp_path / "RESULTS.md").read_text()
    assert run.main(argv) == 0
    assert measured == [*names[:2], "stop", *names[2:]]  # each assignment measured once
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["class"]["complete"] and saved["class"]["notebooks"] == 10 * len(names)
    assert run.main([*argv, "--class-restart"]) == 0
    assert measured[-len(names) :] == names  # measured again from the start
