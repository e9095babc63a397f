"""Timing autograde of one learner's whole course, in the sandbox and without it.

Both runs grade the reference solutions of every notebook, one assignment after
another, in the same scratch course; the order of the two alternates from one
notebook to the next, so that a machine that speeds up or slows down during the
run favours neither.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from course_utils.grading.course import Course, nbgrader_env

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
