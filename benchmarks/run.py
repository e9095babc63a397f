"""Run every solution notebook and measure what the course reaches and what it costs.

    make bench                       # full profile (tens of minutes on 2 cores)
    make bench PROFILE=fast          # a quick run of the same machinery
    python benchmarks/run.py --only 03_first_mlp --skip-grading
    python benchmarks/run.py --only 08 --skip-grading --merge   # re-measure one, keep the rest

For each notebook: the figures it records with ``course_utils.record()``, its wall
time and the kernel's peak memory. Then the time nbgrader takes to autograde one
learner's whole course (the reference solutions) in the grading profile.

Writes ``benchmarks/results.json`` and ``benchmarks/RESULTS.md`` (a table of figure,
classic tutorial value, target, measured, met?) and refreshes the table in the
README. Exits 1 if a full-profile run misses any target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_utils.results import RESULTS_ENV, read_results  # noqa: E402


@dataclass(frozen=True)
class Target:
    name: str
    notebook: str
    description: str
    classic: float | None
    target: float | None
    higher_is_better: bool = True
    unit: str = ""

    def met(self, value: float | None) -> bool | None:
        if self.target is None or value is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target


# The course's targets (COURSE_SPEC.md, "Targets"), full profile, 10k test set unless stated.
TARGETS = [
    Target("mlp_test_accuracy", "03", "300-100 MLP, test accuracy", 0.8188, 0.88),
    Target("binary_test_accuracy", "03", "binary classifier, test accuracy", None, None),
    Target("unscaled_test_accuracy", "04", "MLP on raw pixels", None, None),
    Target("scaled_test_accuracy", "04", "MLP on [0, 1] pixels", None, None),
    Target("standardized_test_accuracy", "04", "MLP on standardized pixels", None, None),
    Target(
        "best_normalized_test_accuracy", "04", "best normalized + early-stopped MLP", None, 0.885
    ),
    Target("housing_test_rmse", "05", "California housing test RMSE ($100k)", None, 0.56, False),
    Target("housing_linear_rmse", "05", "linear baseline test RMSE ($100k)", None, None, False),
    Target("housing_rmse_ratio", "05", "network RMSE / linear RMSE", None, 0.8, False),
    Target("deep_relu_sgd_test_accuracy", "06", "20 x Dense(100, ReLU), SGD", 0.6189, None),
    Target("deep_he_test_accuracy", "06", "the same with He initialization", None, None),
    Target("bn_test_accuracy", "07", "20-layer net with BatchNorm", 0.7937, 0.87),
    Target("selu_test_accuracy", "08", "20-layer SELU net", 0.8608, 0.88),
    Target("selu_alpha_dropout_test_accuracy", "08", "SELU + AlphaDropout", None, 0.87),
    Target("tape_test_accuracy", "09", "GradientTape MLP", None, 0.87),
    Target("eager_epoch_seconds", "09", "one eager epoch", None, None, False, "s"),
    Target("tf_function_epoch_seconds", "09", "one tf.function epoch", None, None, False, "s"),
    Target("fit_epoch_seconds", "09", "one model.fit epoch", None, None, False, "s"),
    Target("tf_function_vs_fit_ratio", "09", "tf.function epoch / fit epoch", None, 1.3, False),
]
COURSE_SECONDS_TARGET = {"full": 20 * 60, "fast": 6 * 60}
NOTEBOOK_SECONDS_TARGET = {"full": 3 * 60, "fast": 60}  # each notebook, on 2 CPU cores
AUTOGRADE_SECONDS_TARGET = 3 * 60


def notebooks(only: list[str] | None) -> list[Path]:
    found = sorted((REPO / "solutions").glob("[0-9][0-9]_*/*.ipynb"))
    if only:
        found = [p for p in found if p.parent.name in only or p.parent.name[:2] in only]
    return found


def _ticker(label: str, started: float, stop: threading.Event, state: dict) -> None:
    while not stop.wait(5):
        cell = state.get("cell", 0)
        print(
            f"\r  {label}: {time.monotonic() - started:5.0f} s, cell {cell}/{state['cells']}",
            end="",
            flush=True,
        )


def run_notebook(path: Path, profile: str, timeout: int) -> dict:
    """Execute one notebook in a fresh kernel, in a scratch copy of its folder."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch) / path.parent.name
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("outputs"))
        results_file = Path(scratch) / "results.jsonl"
        env = dict(os.environ, COURSE_PROFILE=profile, **{RESULTS_ENV: str(results_file)})
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env=env, cwd=str(work))
        state = {"cells": sum(c.cell_type == "code" for c in nb.cells), "cell": 0}

        def on_cell_executed(**kwargs):
            state["cell"] += 1

        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(work)}},
            on_cell_executed=on_cell_executed,
        )
        stop = threading.Event()
        started = time.monotonic()
        ticker = threading.Thread(target=_ticker, args=(path.parent.name, started, stop, state))
        ticker.start()
        error = None
        try:
            client.execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1][:300]
        finally:
            seconds = time.monotonic() - started
            stop.set()
            ticker.join()
            peak_mb = _peak_memory_mb(km)
            km.shutdown_kernel(now=True)
        print(f"\r  {path.parent.name}: {seconds:5.0f} s" + (f"  ERROR {error}" if error else ""))
        return {
            "notebook": path.parent.name,
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round(seconds, 1),
            "peak_memory_mb": peak_mb,
            "error": error,
            "figures": read_results(results_file),
        }


def _peak_memory_mb(km) -> float | None:
    """The kernel's peak resident memory (Linux /proc), or None where unavailable."""
    try:
        pid = km.provisioner.process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (AttributeError, OSError, ValueError):
        return None
    return None


def time_autograde(assignments: list[str]) -> dict:
    """Autograde one learner's reference submission of every notebook; time it."""
    import nbformat

    from course_utils.grading import reference_submission

    env = dict(os.environ)
    env.pop("COURSE_PROFILE", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        root = Path(scratch)
        shutil.copy(REPO / "nbgrader_config.py", root)
        per_notebook = {}
        for assignment in assignments:
            shutil.copytree(
                REPO / "solutions" / assignment,
                root / "solutions" / assignment,
                ignore=shutil.ignore_patterns("outputs"),
            )
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nbgrader",
                    "generate_assignment",
                    assignment,
                    "--log-level=ERROR",
                ],
                cwd=root,
                env=env,
                check=True,
            )
            folder = root / "submitted" / "reference_learner" / assignment
            folder.mkdir(parents=True)
            nbformat.write(reference_submission(root, assignment), folder / f"{assignment}.ipynb")
        jobs = max(1, min(os.cpu_count() or 1, len(assignments)))
        print(
            f"  autograding one learner's whole course, {jobs} assignment(s) at a time "
            "(as the README's 'Grading a class' suggests) ...",
            flush=True,
        )
        started = time.monotonic()

        def grade(assignment: str) -> None:
            t0 = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "nbgrader", "autograde", assignment, "--log-level=ERROR"],
                cwd=root,
                env=env,
                check=True,
            )
            per_notebook[assignment] = round(time.monotonic() - t0, 1)
            print(f"    {assignment}: {per_notebook[assignment]:.0f} s", flush=True)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(grade, assignments))
        total = round(time.monotonic() - started, 1)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "export", "--log-level=ERROR"],
            cwd=root,
            env=env,
            check=True,
        )
        import csv

        with (root / "grades.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        full_marks = all(float(r["score"]) == float(r["max_score"]) for r in rows)
    return {
        "seconds": total,
        "jobs": jobs,
        "per_notebook": dict(sorted(per_notebook.items())),
        "full_marks": full_marks,
    }


def environment() -> dict:
    from course_utils.config import import_tensorflow

    tf = import_tensorflow()  # without TensorFlow's start-up chatter
    import keras

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _fmt(value, unit="") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and unit == "s":
        text = f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
    elif isinstance(value, float):
        text = f"{value:.4f}" if abs(value) < 10 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def markdown(report: dict) -> str:
    env, profile = report["environment"], report["profile"]
    figures = {k: v for nb in report["notebooks"] for k, v in nb["figures"].items()}
    lines = [
        f"Measured {env['date']} on {env['machine']}, Python {env['python']}, "
        f"TensorFlow {env['tensorflow']}, Keras {env['keras']}; profile **{profile}**"
        + ("" if profile == "full" else " (targets apply to the full profile only)")
        + ".",
        "",
        "| notebook | figure | classic tutorial | target | measured | met? |",
        "|---|---|---|---|---|---|",
    ]
    for t in TARGETS:
        value = figures.get(t.name)
        met = t.met(value) if profile == "full" else None
        op = ">=" if t.higher_is_better else "<="
        lines.append(
            f"| {t.notebook} | {t.description} | {_fmt(t.classic)} | "
            f"{op + ' ' + _fmt(t.target) if t.target is not None else '-'} | {_fmt(value, t.unit)} | "
            f"{'-' if met is None else ('yes' if met else '**no**')} |"
        )
    course_target = COURSE_SECONDS_TARGET[profile]
    total = report["course_seconds"]
    lines.append(
        f"| all | whole course, {profile} profile | - | <= {course_target // 60} min | "
        f"{total / 60:.1f} min | {'yes' if total <= course_target else '**no**'} |"
    )
    grading = report.get("autograde")
    if grading:
        ok = grading["seconds"] <= AUTOGRADE_SECONDS_TARGET and grading["full_marks"]
        lines.append(
            f"| grading | nbgrader autograde of one learner's whole course "
            f"({grading.get('jobs', 1)} assignment(s) at a time) | - | <= 3 min | "
            f"{grading['seconds'] / 60:.1f} min{'' if grading['full_marks'] else ' (not full marks!)'} | "
            f"{'yes' if ok else '**no**'} |"
        )
    limit = NOTEBOOK_SECONDS_TARGET[profile]
    lines += [
        "",
        f"| notebook | run time (target <= {limit} s) | met? | kernel peak memory | measured |",
        "|---|---|---|---|---|",
    ]
    for nb in report["notebooks"]:
        mem = f"{nb['peak_memory_mb']:.0f} MB" if nb["peak_memory_mb"] else "-"
        status = f" (error: {nb['error']})" if nb["error"] else ""
        met = "yes" if nb["seconds"] <= limit and not nb["error"] else "**no**"
        lines.append(
            f"| {nb['notebook']} | {nb['seconds']:.0f} s{status} | {met} | {mem} | "
            f"{nb.get('measured', report['environment']['date'])} |"
        )
    return "\n".join(lines) + "\n"


def missed_targets(report: dict) -> list[str]:
    if report["profile"] != "full":
        return [
            f"{nb['notebook']} failed: {nb['error']}" for nb in report["notebooks"] if nb["error"]
        ]
    figures = {k: v for nb in report["notebooks"] for k, v in nb["figures"].items()}
    run = {nb["notebook"][:2] for nb in report["notebooks"]}
    missed = [
        f"{nb['notebook']} failed: {nb['error']}" for nb in report["notebooks"] if nb["error"]
    ]
    for t in TARGETS:
        if t.notebook in run and t.target is not None and not t.met(figures.get(t.name)):
            missed.append(f"{t.name} = {figures.get(t.name)} (target {t.target})")
    for nb in report["notebooks"]:
        if nb["seconds"] > NOTEBOOK_SECONDS_TARGET["full"]:
            missed.append(f"{nb['notebook']} took {nb['seconds']:.0f} s")
    if report["complete"] and report["course_seconds"] > COURSE_SECONDS_TARGET["full"]:
        missed.append(f"whole course took {report['course_seconds']:.0f} s")
    grading = report.get("autograde")
    if grading and (grading["seconds"] > AUTOGRADE_SECONDS_TARGET or not grading["full_marks"]):
        missed.append(
            f"autograde took {grading['seconds']:.0f} s, full marks: {grading['full_marks']}"
        )
    return missed


def update_readme(table: str) -> None:
    readme = REPO / "README.md"
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = readme.read_text(encoding="utf-8")
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{table}{end}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=["full", "fast"], default="full")
    parser.add_argument("--only", nargs="*", help="notebook folders or numbers, e.g. 03 07")
    parser.add_argument(
        "--skip-grading", action="store_true", help="do not time nbgrader autograde"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="re-measure only the --only notebooks and keep the other results of the last run "
        "(same profile) from results.json",
    )
    args = parser.parse_args(argv)

    paths = notebooks(args.only)
    if not paths:
        parser.error("no notebooks matched")
    print(
        f"Benchmark, profile {args.profile}: {len(paths)} notebook(s) on {os.cpu_count()} CPU cores"
    )
    started = time.monotonic()
    results = [run_notebook(p, args.profile, args.timeout) for p in paths]
    previous = {}
    if args.merge and (args.out / "results.json").exists():
        previous = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
        if previous.get("profile") != args.profile:
            parser.error(f"--merge: the last run used the {previous.get('profile')} profile")
        rerun = {r["notebook"] for r in results}
        kept = [r for r in previous["notebooks"] if r["notebook"] not in rerun]
        for r in kept:
            r.setdefault("measured", previous["environment"]["date"])
        results = sorted(kept + results, key=lambda r: r["notebook"])
    report = {
        "profile": args.profile,
        "environment": environment(),
        "notebooks": results,
        "course_seconds": round(sum(r["seconds"] for r in results), 1),
        "complete": {r["notebook"] for r in results} == {p.parent.name for p in notebooks(None)},
    }
    if not args.skip_grading:
        graded = notebooks(None) if report["complete"] else paths
        report["autograde"] = time_autograde([p.parent.name for p in graded])
    elif previous.get("autograde"):
        report["autograde"] = previous["autograde"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown(report)
    (args.out / "RESULTS.md").write_text("# Benchmark results\n\n" + table, encoding="utf-8")
    if report["complete"] and args.profile == "full":
        update_readme(table)
    print()
    print(table)
    print(
        f"Total benchmark time {(time.monotonic() - started) / 60:.1f} min; "
        f"written to {args.out / 'results.json'} and {args.out / 'RESULTS.md'}"
    )
    missed = missed_targets(report)
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
