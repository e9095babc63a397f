"""``python -m course_utils.grading COMMAND``: the grading tools an instructor runs.

    check ASSIGNMENT     malformed submissions, per learner, and whether the sandbox is ready
    incidents [ASSIGNMENT]   what the grading guards detected (tampering, attempts), per learner
    sandbox              whether grading can run in the sandbox on this machine, and why not
    validate NOTEBOOK... the visible tests of notebooks, per exercise (like the Validate button)

Each exits with status 1 when it finds a problem, 2 on a wrong command line.

Example:
    >>> main(["sandbox"]) in (0, 1)   # doctest: +SKIP
    Grading sandbox: ready (bubblewrap)
    True
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _sandbox_line() -> tuple[str, bool]:
    from course_utils.grading.sandbox import SANDBOX_ENV, sandbox_mode, sandbox_problem

    if sandbox_mode() == "off":
        return (
            f"Grading sandbox: OFF ({SANDBOX_ENV}=off): learner code runs with your rights.",
            True,
        )
    problem = sandbox_problem()
    if problem:
        return f"Grading sandbox: NOT AVAILABLE: {problem}", False
    return "Grading sandbox: ready (bubblewrap).", True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.grading",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="report malformed submissions before autograding")
    check.add_argument("assignment")
    check.add_argument("--root", default=".", help="the course folder (default: current folder)")
    found = sub.add_parser("incidents", help="what the grading guards detected, per learner")
    found.add_argument("assignment", nargs="?")
    found.add_argument("--root", default=".", help="the course folder (default: current folder)")
    sub.add_parser("sandbox", help="can grading run in the sandbox here?")
    validate = sub.add_parser("validate", help="run the visible tests of notebooks, like Validate")
    validate.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "validate":
        from course_utils.grading.validate import validate_notebooks

        return 1 if validate_notebooks(args.notebooks) else 0
    if args.command == "sandbox":
        line, ok = _sandbox_line()
        print(line)
        return 0 if ok else 1
    if args.command == "incidents":
        from course_utils.grading.submissions import incidents

        listed = incidents(args.root, args.assignment)
        for incident in listed:
            print(incident)
        print(f"{len(listed)} incident(s) in {Path(args.root, 'autograded')}.")
        return 1 if listed else 0

    from course_utils.grading.submissions import UnknownAssignmentError, check_submissions

    try:
        problems = check_submissions(args.root, args.assignment)
    except UnknownAssignmentError as exc:
        print(f"ERROR: {exc}")
        return 1
    for problem in problems:
        print(f"PROBLEM {problem}")
    learners = len(list((Path(args.root) / "submitted").glob(f"*/{args.assignment}")))
    print(f"{learners} submission(s) of {args.assignment} checked, {len(problems)} problem(s).")
    line, ok = _sandbox_line()
    print(line)
    return 1 if problems or not ok else 0
