"""The benchmark's results table: figures against targets, misses listed, the README refreshed.

A figure recorded over several seeds shows its range too: record the mean as ``NAME``
and the extremes as ``NAME_min`` and ``NAME_max`` (``course_utils.experiments`` does).

Example:
    >>> fmt(0.89771), fmt(3.561, "s"), fmt(None)
    ('0.8977', '3.56 s', '-')
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.targets import (
    CLASS_SPEEDUP_TARGET,
    COURSE_SECONDS_TARGET,
    JUDGE_OVERHEAD_TARGET,
    NOTEBOOK_SECONDS_TARGET,
    SANDBOX_OVERHEAD_TARGET,
    SLICE_RATIO_TARGET,
    TARGETS,
)

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and unit == "s":
        text = f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
    elif isinstance(value, float):
        text = f"{value:.4f}" if abs(value) < 10 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def with_spread(measured: dict, name: str, unit: str = "") -> str:
    """A figure, followed by its range over seeds when ``NAME_min`` and ``NAME_max`` are recorded.

    Example:
        >>> with_spread({"a": 0.85, "a_min": 0.84, "a_max": 0.86}, "a")
        '0.8500 (0.8400-0.8600)'
        >>> with_spread({"a": 0.85}, "a"), with_spread({}, "a")
        ('0.8500', '-')
    """
    value = measured.get(name)
    low, high = measured.get(f"{name}_min"), measured.get(f"{name}_max")
    if value is None or low is None or high is None:
        return fmt(value, unit)
    return f"{fmt(value, unit)} ({fmt(low, unit)}-{fmt(high, unit)})"


def figures(report: dict) -> dict:
    return {k: v for nb in report["notebooks"] for k, v in nb["figures"].items()}


def _grading_ok(grading: dict) -> bool:
    return grading["full_marks"] and grading["overhead"] <= SANDBOX_OVERHEAD_TARGET


def _slice_ok(sliced: dict) -> bool:
    return sliced["same_grades"] and sliced["full_marks"] and sliced["ratio"] <= SLICE_RATIO_TARGET


def _class_ok(whole: dict) -> bool:
    return _class_done(whole) and whole["same_grades"] and whole["speedup"] >= CLASS_SPEEDUP_TARGET


def _class_done(whole: dict) -> bool:
    """A class run is measured one assignment at a time: it may not be over yet (records made
    before that have no ``complete`` and were measured in one go)."""
    return whole.get("complete", True)


def _class_size(whole: dict) -> str:
    if _class_done(whole):
        return f"{whole['notebooks']} notebooks"
    done = len(whole["assignments"])
    return f"{done} assignment(s) measured so far, {whole['notebooks']} notebooks (unfinished)"


def _seeds_note(report: dict) -> str:
    """How many seeds each notebook ran with, when more than one."""
    seeds = {nb.get("seeds", 1) for nb in report["notebooks"]}
    if seeds == {1}:
        return " Each notebook ran with one seed."
    counts = " or ".join(str(n) for n in sorted(seeds))
    return (
        f" Each notebook ran with {counts} seeds: figures are the mean (lowest-highest in "
        "brackets), targets apply to the mean, run times are the mean."
    )


def _before(record: dict) -> str:
    """A grading record measured on an older layout of the course says so in its row."""
    return f"; {record['before_split']}" if record.get("before_split") else ""


def markdown(report: dict) -> str:
    env, profile = report["environment"], report["profile"]
    measured = figures(report)
    lines = [
        f"Measured {env['date']} on {env['machine']}, Python {env['python']}, "
        f"TensorFlow {env['tensorflow']}, Keras {env['keras']}; profile **{profile}**"
        + ("" if profile == "full" else " (targets apply to the full profile only)")
        + "."
        + _seeds_note(report),
        "",
        "| notebook | figure | classic tutorial | target | measured | met? |",
        "|---|---|---|---|---|---|",
    ]
    for t in TARGETS:
        value = measured.get(t.name)
        met = t.met(value) if profile == "full" else None
        op = ">=" if t.higher_is_better else "<="
        lines.append(
            f"| {t.notebook} | {t.description} | {fmt(t.classic)} | "
            f"{op + ' ' + fmt(t.target) if t.target is not None else '-'} | "
            f"{with_spread(measured, t.name, t.unit)} | "
            f"{'-' if met is None else ('yes' if met else '**no**')} |"
        )
    course_target = COURSE_SECONDS_TARGET[profile]
    total = report["course_seconds"]
    lines.append(
        f"| all | whole course, {profile} profile | - | <= {course_target // 60} min | "
        f"{total / 60:.1f} min | {'yes' if total <= course_target else '**no**'} |"
    )
    grading = report.get("grading")
    if grading:
        seconds = grading["seconds"]
        marks = ("" if grading["full_marks"] else " (not full marks!)") + _before(grading)
        lines.append(
            "| grading | autograde of one learner's whole course: sandboxed vs not sandboxed "
            f"| - | <= +{SANDBOX_OVERHEAD_TARGET:.0%} | {grading['overhead']:+.1%} "
            f"({seconds['sandboxed']:.0f} s vs {seconds['unsandboxed']:.0f} s){marks} | "
            f"{'yes' if _grading_ok(grading) else '**no**'} |"
        )
    judge = report.get("judge")
    if judge and judge.get("notebooks"):
        seconds = judge["seconds"]
        marks = ("" if judge["full_marks"] else " (not full marks!)") + _before(judge)
        lines.append(
            f"| grading | seconds per learner-notebook ({', '.join(n[:2] for n in judge['notebooks'])}): "
            "test cells in the judge vs in the learner's kernel (plain nbgrader) "
            f"| - | <= +{JUDGE_OVERHEAD_TARGET:.0%} | {judge['overhead']:+.1%} "
            f"({seconds['judge']:.1f} s vs {seconds['in_kernel']:.1f} s){marks} | "
            f"{'yes' if judge['full_marks'] and judge['overhead'] <= JUDGE_OVERHEAD_TARGET else '**no**'} |"
        )
    sliced = report.get("slice")
    if sliced and sliced.get("notebooks"):
        seconds = sliced["seconds"]
        grades = "" if sliced["same_grades"] and sliced["full_marks"] else " (different grades!)"
        grades += _before(sliced)
        lines.append(
            f"| grading | seconds per learner-notebook ({', '.join(n[:2] for n in sliced['notebooks'])}): "
            f"the grading slice vs every cell run; {sliced['fallbacks']} fallback(s) to a full run "
            f"| - | <= {SLICE_RATIO_TARGET}x | {sliced['ratio']:.2f}x "
            f"({seconds['slice']:.1f} s vs {seconds['full']:.1f} s){grades} | "
            f"{'yes' if _slice_ok(sliced) else '**no**'} |"
        )
    whole = report.get("class")
    if whole:
        grades = ("" if whole["same_grades"] else " (different grades!)") + _before(whole)
        if len(whole.get("measured", [])) > 1:  # resumed: the parts ran on different days
            grades += "; measured on " + " and ".join(whole["measured"])
        verdict = "yes" if _class_ok(whole) else "**no**" if _class_done(whole) else "not yet"
        lines.append(
            f"| grading | a {whole['learners']}-learner class, {_class_size(whole)}: "
            "class command vs nbgrader autograde one assignment after another "
            f"| - | >= {CLASS_SPEEDUP_TARGET:.0f}x | {whole['speedup']:.2f}x "
            f"({whole['seconds'] / 60:.1f} min vs {whole['sequential_seconds'] / 60:.1f} min"
            + (
                f"; {whole['seconds_without_slice'] / 60:.1f} min without the slice"
                if "seconds_without_slice" in whole
                else ""
            )
            + f"){grades} | {verdict} |"
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
        ok = "yes" if nb["seconds"] <= limit and not nb["error"] else "**no**"
        lines.append(
            f"| {nb['notebook']} | {nb['seconds']:.0f} s{status} | {ok} | {mem} | "
            f"{nb.get('measured', env['date'])} |"
        )
    return "\n".join(lines) + "\n"


def missed_targets(report: dict) -> list[str]:
    """Every target a full-profile run missed (in a fast run: only the notebooks that failed)."""
    missed = [
        f"{nb['notebook']} failed: {nb['error']}" for nb in report["notebooks"] if nb["error"]
    ]
    if report["profile"] != "full":
        return missed
    measured = figures(report)
    run = {nb["notebook"][:2] for nb in report["notebooks"]}
    for t in TARGETS:
        if t.notebook in run and t.target is not None and not t.met(measured.get(t.name)):
            missed.append(f"{t.name} = {measured.get(t.name)} (target {t.target})")
    for nb in report["notebooks"]:
        if nb["seconds"] > NOTEBOOK_SECONDS_TARGET["full"]:
            missed.append(f"{nb['notebook']} took {nb['seconds']:.0f} s")
    if report["complete"] and report["course_seconds"] > COURSE_SECONDS_TARGET["full"]:
        missed.append(f"whole course took {report['course_seconds']:.0f} s")
    grading = report.get("grading")
    if grading and not _grading_ok(grading):
        missed.append(
            f"sandboxed grading overhead {grading['overhead']:.1%}, full marks: "
            f"{grading['full_marks']}"
        )
    sliced = report.get("slice")
    if sliced and not _slice_ok(sliced):
        missed.append(
            f"grading slice {sliced['ratio']}x the seconds of a full run (target "
            f"{SLICE_RATIO_TARGET}x), same grades: {sliced['same_grades']}"
        )
    whole = report.get("class")
    if whole and not _class_done(whole):
        missed.append(f"class run unfinished: {', '.join(whole['assignments'])} measured")
    elif whole and not _class_ok(whole):
        missed.append(
            f"class grading {whole['speedup']}x faster than sequential (target "
            f"{CLASS_SPEEDUP_TARGET}x), same grades: {whole['same_grades']}"
        )
    return missed


def update_readme(table: str, readme: Path) -> None:
    """Put ``table`` between the README's bench markers (if it has them)."""
    text = readme.read_text(encoding="utf-8")
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        readme.write_text(f"{head}{README_START}\n{table}{README_END}{tail}", encoding="utf-8")
