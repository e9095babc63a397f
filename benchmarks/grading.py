"""Timing grading: one learner's whole course with and without the sandbox, with and without
the grading slice, and a whole class.

Both runs grade the reference solutions of every notebook, one assignment after
another, in the same scratch course; the order of the two alternates from one
notebook to the next, so that a machine that speeds up or slows down during the
run favours neither.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from course_utils.grading.nbgrader_steps.runner import nbgrader_env
from course_utils.grading.testing import Course

MODES = {"sandboxed": "on", "unsandboxed": "off"}


def time_autograde(assignments: list[str]) -> dict:
    """Seconds per notebook in each mode, the totals, the overhead and whether marks were full."""
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        course = Course(Path(scratch), assignments)
        for assignment in assignments:
            for mode in MODES:
                course.submit(mode, assignment, course.solved(assignment))
        per_notebook: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
        for index, assignment in enumerate(assignments):
            order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
            for mode in order:
                course.env = nbgrader_env(COURSE_GRADING_SANDBOX=MODES[mode])
                started = time.monotonic()
                course.check(course.autograde(assignment, "--student", mode))
                per_notebook[mode][assignment] = round(time.monotonic() - started, 1)
                print(
                    f"    {assignment} {mode}: {per_notebook[mode][assignment]:.0f} s", flush=True
                )
        full_marks = all(
            course.total(mode, a) == sum(course.points(a).values())
            for mode in MODES
            for a in assignments
        )
    seconds = {mode: round(sum(per_notebook[mode].values()), 1) for mode in MODES}
    return {
        "seconds": seconds,
        "per_notebook": per_notebook,
        "overhead": round(seconds["sandboxed"] / seconds["unsandboxed"] - 1, 4),
        "full_marks": full_marks,
    }


def _grade_each_way(
    courses: dict[str, Course],
    extra: dict[str, list[str]],
    assignment: str,
    index: int,
    learners: int,
) -> list[tuple[str, float]]:
    """Grade ``learners`` reference submissions of ``assignment`` in each course (one per mode),
    the order of the modes alternating with ``index``; seconds per learner for each mode."""
    order = list(courses) if index % 2 == 0 else list(reversed(courses))
    timed = []
    for mode in order:
        course = courses[mode]
        for n in range(learners):
            course.submit(f"learner{n}", assignment, course.solved(assignment))
        started = time.monotonic()
        course.check(course.autograde(assignment, *extra[mode]))
        per_learner = (time.monotonic() - started) / learners
        print(f"    {assignment} {mode}: {per_learner:.1f} s per learner", flush=True)
        timed.append((mode, round(per_learner, 1)))
    return timed


def _record(
    courses: dict[str, Course],
    assignments: list[str],
    learners: int,
    per_notebook: dict[str, dict[str, float]],
) -> dict:
    """What every two-way timing records: seconds per mode and whether marks were full."""
    return {
        "notebooks": assignments,
        "learners": learners,
        "seconds": {mode: round(sum(per_notebook[mode].values()), 1) for mode in courses},
        "per_notebook": per_notebook,
        "full_marks": all(
            course.total(f"learner{n}", a) == sum(course.points(a).values())
            for course in courses.values()
            for a in assignments
            for n in range(learners)
        ),
    }


def time_judge(assignments: list[str], sources: Path, learners: int = 3) -> dict:
    """Seconds per learner-notebook with the judge, and with the test cells run in the
    learner's kernel as plain nbgrader does (``--GradingExecute.judge=False``, the baseline).

    Two courses from the same sources; ``learners`` reference submissions each, the order
    of the two modes alternating per notebook.
    """
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as scratch:
        courses = {
            "judge": Course(Path(scratch) / "judge", assignments, sources=sources),
            "in_kernel": Course(Path(scratch) / "in-kernel", assignments, sources=sources),
        }
        extra = {"judge": [], "in_kernel": ["--GradingExecute.judge=False"]}
        per_notebook: dict[str, dict[str, float]] = {mode: {} for mode in courses}
        for index, assignment in enumerate(assignments):
            for mode, took in _grade_each_way(courses, extra, assignment, index, learners):
                per_notebook[mode][assignment] = took
        record = _record(courses, assignments, learners, per_notebook)
    seconds = record["seconds"]
    return {
        **record,
        "overhead": round(seconds["judge"] / seconds["in_kernel"] - 1, 4) if assignments else 0.0,
    }


NO_SLICE = "--GradingExecute.grading_slice=False"


def time_slice(assignments: list[str], sources: Path, learners: int = 1) -> dict:
    """Seconds per learner-notebook with the grading slice (the default) and with every cell
    run, the same reference submissions in two courses, the order alternating per notebook;
    the grades per cell must be the same. Also the slice's size and how often it fell back."""
    from course_utils.grading.contract import METADATA_KEY

    with tempfile.TemporaryDirectory(prefix="bench-slice-") as scratch:
        courses = {
            mode: Course(Path(scratch) / mode, assignments, sources=sources)
            for mode in ("slice", "full")
        }
        extra = {"slice": [], "full": [NO_SLICE]}
        per_notebook: dict[str, dict[str, float]] = {mode: {} for mode in courses}
        cells: dict[str, list[int]] = {}
        fallbacks = 0
        for index, assignment in enumerate(assignments):
            for mode, took in _grade_each_way(courses, extra, assignment, index, learners):
                per_notebook[mode][assignment] = took
            for n in range(learners):
                meta = courses["slice"].autograded_notebook(f"learner{n}", assignment).metadata
                record = meta[METADATA_KEY]["slice"]
                fallbacks += bool(record["fallback"])
                cells[assignment] = [
                    record["cells_run"],
                    record["cells_run"] + record["cells_skipped"],
                ]
        same = all(
            courses["slice"].cell_scores(f"learner{n}", a)
            == courses["full"].cell_scores(f"learner{n}", a)
            for a in assignments
            for n in range(learners)
        )
        record = _record(courses, assignments, learners, per_notebook)
    seconds = record["seconds"]
    return {
        **record,
        "ratio": round(seconds["slice"] / seconds["full"], 3) if assignments else 1.0,
        "cells": cells,
        "fallbacks": fallbacks,
        "same_grades": same,
    }


# A generated class: learner i submits kind KINDS[i % 10].
KINDS = ["right"] * 6 + ["partly_wrong"] * 2 + ["untouched", "broken"]


def submit_generated_class(course: Course, learners: int) -> None:
    """Mixed submissions: right answers, one answer left undone, the untouched release, broken JSON."""
    from course_utils.grading.nbgrader_steps.cells import grade_id, is_answer_cell

    for assignment in course.assignments:
        solved = course.solved(assignment)
        first_answer = next(grade_id(c) for c in solved.cells if is_answer_cell(c))
        for i in range(learners):
            kind, student = KINDS[i % len(KINDS)], f"learner{i:02d}"
            if kind == "broken":
                course.submit(student, assignment, raw='{"cells": [ not a notebook')
                continue
            notebook = solved if kind != "untouched" else course.release(assignment)
            if kind == "partly_wrong":
                notebook = nbformat.from_dict(solved)
                for cell in notebook.cells:
                    if grade_id(cell) == first_answer:
                        cell.source = "raise NotImplementedError()"
            course.submit(student, assignment, notebook)


def _gradebook_scores(course: Course) -> dict[tuple[str, str, str], float]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        for assignment in course.assignments:
            for submission in gradebook.assignment_submissions(assignment):
                if not (course.root / "autograded" / submission.student_id / assignment).exists():
                    continue
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        scores[(assignment, submission.student_id, grade.name)] = float(grade.score)
    return scores


def _seconds_by_kind(course: Course) -> dict[str, list[float]]:
    """Every graded notebook's seconds per kind of work (kernel start, setup, teaching, tests...)."""
    from course_utils.grading.contract import METADATA_KEY

    seen: dict[str, list[float]] = {}
    for path in sorted(course.root.glob("autograded/*/*/*.ipynb")):
        meta = nbformat.read(path, as_version=4).metadata.get(METADATA_KEY, {})
        for kind, seconds in meta.get("seconds", {}).items():
            seen.setdefault(kind, []).append(round(seconds, 2))
    return seen


def time_class_part(assignments: list[str], learners: int, workers: int | None = None) -> dict:
    """One measurement of the class run on ``assignments``: plain nbgrader autograde one
    assignment after another (every cell run, as before the slice), then the class command
    without and with the grading slice, back to back on the same generated class."""
    from course_utils.grading.class_scale.grade_class import grade_class

    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        sequential = Course(Path(scratch) / "sequential", assignments)
        submit_generated_class(sequential, learners)
        started = time.monotonic()
        for assignment in assignments:
            sequential.autograde(assignment, NO_SLICE)  # exits 1: broken notebooks are not graded
        timed = {"sequential": round(time.monotonic() - started, 1)}
        graded: dict[str, Course] = {}
        for mode in ("full", "slice"):
            graded[mode] = Course(Path(scratch) / f"class-{mode}", assignments)
            if mode == "full":  # as an instructor turns it off: in the course's configuration
                with (graded[mode].root / "nbgrader_config.py").open("a") as config:
                    config.write("\nc.GradingExecute.grading_slice = False\n")
            submit_generated_class(graded[mode], learners)
            started = time.monotonic()
            grade_class(graded[mode].root, workers=workers or os.cpu_count() or 1, report=True)
            timed[mode] = round(time.monotonic() - started, 1)
        reference = _gradebook_scores(sequential)
        same = all(_gradebook_scores(course) == reference for course in graded.values())
        return {
            "learners": learners,
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": timed,
            "same_grades": same,
            "seconds_by_kind": _seconds_by_kind(graded["slice"]),
        }


def class_record(parts: dict[str, dict], assignments: list[str], learners: int) -> dict:
    """The class run's figures from its parts (one per assignment), complete or not."""
    done = [a for a in assignments if a in parts]
    total = {
        mode: round(sum(parts[a]["seconds"][mode] for a in done), 1)
        for mode in ("sequential", "full", "slice")
    }
    cores = os.cpu_count() or 1
    notebooks = learners * len(done)
    kinds: dict[str, list[float]] = {}
    for a in done:
        for kind, values in parts[a]["seconds_by_kind"].items():
            kinds.setdefault(kind, []).extend(values)

    def per_core_minute(seconds: float) -> float:
        return round(notebooks / (seconds / 60) / cores, 2) if seconds else 0.0

    return {
        "learners": learners,
        "notebooks": notebooks,
        "assignments": done,
        "complete": len(done) == len(assignments),
        "cores": cores,
        "seconds": total["slice"],
        "seconds_without_slice": total["full"],
        "sequential_seconds": total["sequential"],
        "speedup": round(total["sequential"] / total["slice"], 2) if total["slice"] else 0.0,
        "same_grades": all(parts[a]["same_grades"] for a in done),
        "per_core_minute": per_core_minute(total["slice"]),
        "notebooks_per_minute_per_core": {
            "class": per_core_minute(total["slice"]),
            "class_without_slice": per_core_minute(total["full"]),
            "sequential": per_core_minute(total["sequential"]),
        },
        "seconds_per_notebook": {
            kind: round(statistics.median(values), 2) for kind, values in sorted(kinds.items())
        },
        "measured": sorted({parts[a]["measured"][:10] for a in done}),
    }


def time_class(
    assignments: list[str],
    learners: int = 30,
    workers: int | None = None,
    parts: dict[str, dict] | None = None,
    on_part: Callable[[dict[str, dict]], None] | None = None,
) -> dict:
    """The class command with and without the grading slice, against plain nbgrader autograde
    one assignment after another, on a generated class of ``learners``.

    The class is measured one assignment at a time (the three gradings back to back), so that
    a run too long for one sitting can be resumed: ``parts`` holds the assignments measured
    already for the same number of learners, and ``on_part`` gets them all again after each new
    one, to save. Summing the parts costs the class command one Dask start per assignment.
    """
    parts = {a: p for a, p in (parts or {}).items() if p["learners"] == learners}
    for assignment in assignments:
        if assignment in parts:
            print(f"    {assignment}: measured {parts[assignment]['measured']}, kept", flush=True)
            continue
        parts[assignment] = time_class_part([assignment], learners, workers)
        seconds = parts[assignment]["seconds"]
        print(
            f"    {assignment}: sequential {seconds['sequential']:.0f} s, class command "
            f"{seconds['full']:.0f} s without the slice, {seconds['slice']:.0f} s with it",
            flush=True,
        )
        if on_part:
            on_part(parts)
    return class_record(parts, assignments, learners)
