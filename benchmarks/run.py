"""Run every solution notebook and measure what the course reaches and what it costs.

    make bench                                  # full profile (tens of minutes on 2 cores)
    make bench PROFILE=fast                     # a quick run of the same machinery
    python -m benchmarks.run --only 03 --skip-grading
    python -m benchmarks.run --only 08 --skip-grading --merge   # re-measure one, keep the rest
    python -m benchmarks.run --render           # redraw the tables from results.json
    python -m benchmarks.run --grading-only slice --judge-learners 1   # slice vs full only
    python -m benchmarks.run --grading-only class --class-learners 10  # the class run only
        # (measured one assignment at a time; run it again to resume an interrupted run)

For each notebook: the figures it records with ``course_utils.record()`` (in the
full profile the mean and range over 3 seeds, ``--seeds``), its wall time and the
kernel's peak memory; ``results.json`` is written after each one, so
an interrupted run keeps what it measured. Then the time nbgrader takes to
autograde one learner's whole course, sandboxed and not; with the judge and with
plain in-kernel tests; with the grading slice and every cell run; and a generated class.

Writes ``benchmarks/results.json`` and ``benchmarks/RESULTS.md`` and refreshes the
table in the README. Exits 1 if a full-profile run misses any target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.grading import (
    class_record,
    time_autograde,
    time_class,
    time_judge,
    time_slice,
)
from benchmarks.notebooks import REPO, combine_runs, notebooks, run_notebook
from benchmarks.report import markdown, missed_targets, update_readme


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


def build_report(profile: str, results: list[dict], env: dict) -> dict:
    return {
        "profile": profile,
        "environment": env,
        "notebooks": sorted(results, key=lambda r: r["notebook"]),
        "course_seconds": round(sum(r["seconds"] for r in results), 1),
        "complete": {r["notebook"] for r in results} == {p.parent.name for p in notebooks()},
    }


def write(report: dict, out: Path, readme: bool) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown(report)
    (out / "RESULTS.md").write_text("# Benchmark results\n\n" + table, encoding="utf-8")
    if readme and report["complete"] and report["profile"] == "full":
        update_readme(table, REPO / "README.md")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", choices=["full", "fast"], default="full")
    parser.add_argument("--only", nargs="*", help="notebook folders or numbers, e.g. 03 07")
    parser.add_argument("--skip-grading", action="store_true", help="do not time autograde")
    parser.add_argument(
        "--class-learners",
        type=int,
        default=30,
        help="learners in the generated class graded three ways (0: skip; 10 learners: about 2.5 "
        "hours on 2 cores)",
    )
    parser.add_argument(
        "--class-restart",
        action="store_true",
        help="with --grading-only class: measure every assignment again (by default the "
        "assignments already measured for the same number of learners are kept)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="runs of each notebook with other seeds, figures averaged (default: 3 full, 1 fast)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="re-measure only the --only notebooks and keep the other results of the last run "
        "(same profile) from results.json",
    )
    parser.add_argument("--render", action="store_true", help="only redraw the tables")
    parser.add_argument(
        "--judge-only",
        action="store_true",
        help="only time the judge against plain in-kernel tests, and redraw the tables",
    )
    parser.add_argument(
        "--grading-only",
        choices=["sandbox", "slice", "class"],
        help="only time the sandbox (sandboxed vs not, one learner's whole course), the grading "
        "slice (slice vs full, per learner-notebook) or the class run (--class-learners), add "
        "it to results.json and redraw the tables",
    )
    parser.add_argument(
        "--judge-learners",
        type=int,
        default=3,
        help="reference learners per mode in the judge timing",
    )
    args = parser.parse_args(argv)

    previous = {}
    if (args.merge or args.render or args.judge_only or args.grading_only) and (
        args.out / "results.json"
    ).exists():
        previous = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
    if args.render:
        if not previous:
            parser.error(f"--render: no {args.out / 'results.json'} to render")
        print(write(previous, args.out, readme=True))
        return 0
    if args.judge_only:
        if not previous:
            parser.error(f"--judge-only: no {args.out / 'results.json'} to add to")
        print(
            "  autograding every notebook with the judge and with plain in-kernel tests ...",
            flush=True,
        )
        previous["judge"] = time_judge(
            [p.parent.name for p in notebooks()], REPO / "solutions", args.judge_learners
        )
        print(write(previous, args.out, readme=True))
        return 0
    if args.grading_only:
        if not previous:
            parser.error(f"--grading-only: no {args.out / 'results.json'} to add to")
        names = [p.parent.name for p in notebooks()]
        if args.grading_only == "sandbox":
            print("  autograding one learner's whole course, sandboxed and not ...", flush=True)
            previous["grading"] = time_autograde(names)
        elif args.grading_only == "slice":
            print("  autograding every notebook with and without the grading slice ...", flush=True)
            previous["slice"] = time_slice(names, REPO / "solutions", args.judge_learners)
        else:
            print(f"  grading a generated class of {args.class_learners} learners ...", flush=True)
            if args.class_restart:
                previous.pop("class_parts", None)

            def save(parts: dict[str, dict]) -> None:  # after each assignment: resumable
                previous["class_parts"] = parts
                previous["class"] = class_record(parts, names, args.class_learners)
                write(previous, args.out, readme=True)

            previous["class"] = time_class(
                names, args.class_learners, parts=previous.get("class_parts"), on_part=save
            )
        print(write(previous, args.out, readme=True))
        return 0
    if args.merge and previous.get("profile") not in (None, args.profile):
        parser.error(f"--merge: the last run used the {previous.get('profile')} profile")

    seeds = args.seeds if args.seeds is not None else (3 if args.profile == "full" else 1)
    if seeds < 1:
        parser.error("--seeds: at least 1")
    paths = notebooks(args.only)
    if not paths:
        parser.error("no notebooks matched")
    print(
        f"Benchmark, profile {args.profile}: {len(paths)} notebook(s) x {seeds} seed(s) "
        f"on {os.cpu_count()} CPU cores"
    )
    started = time.monotonic()
    env = environment()
    rerun = {p.parent.name for p in paths}
    results = [r for r in previous.get("notebooks", []) if r["notebook"] not in rerun]
    for r in results:
        r.setdefault("measured", previous["environment"]["date"])
    for path in paths:
        runs = [run_notebook(path, args.profile, args.timeout, offset) for offset in range(seeds)]
        results.append(combine_runs(runs))
        write(build_report(args.profile, results, env), args.out, readme=False)
    report = build_report(args.profile, results, env)
    if not args.skip_grading:
        graded = notebooks() if report["complete"] else paths
        print("  autograding one learner's whole course, sandboxed and not ...", flush=True)
        report["grading"] = time_autograde([p.parent.name for p in graded])
    elif previous.get("grading"):
        report["grading"] = previous["grading"]
    if not args.skip_grading and args.class_learners > 0:
        graded = notebooks() if report["complete"] else paths
        print(
            f"  grading a generated class of {args.class_learners} learners three ways ...",
            flush=True,
        )
        names = [p.parent.name for p in graded]

        def keep(parts: dict[str, dict]) -> None:
            report["class_parts"] = parts
            write(report, args.out, readme=False)

        report["class"] = time_class(names, args.class_learners, on_part=keep)
    elif previous.get("class"):
        report["class"] = previous["class"]
        if previous.get("class_parts"):
            report["class_parts"] = previous["class_parts"]
    if not args.skip_grading:
        print(
            "  autograding every notebook with the judge and with plain in-kernel tests ...",
            flush=True,
        )
        report["judge"] = time_judge(
            [p.parent.name for p in notebooks()], REPO / "solutions", args.judge_learners
        )
    elif previous.get("judge"):
        report["judge"] = previous["judge"]
    if not args.skip_grading:
        print("  autograding every notebook with and without the grading slice ...", flush=True)
        report["slice"] = time_slice(
            [p.parent.name for p in notebooks()], REPO / "solutions", args.judge_learners
        )
    elif previous.get("slice"):
        report["slice"] = previous["slice"]
    table = write(report, args.out, readme=True)
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
