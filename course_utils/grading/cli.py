"""``python -m course_utils.grading COMMAND``: the grading tools an instructor runs.

    class [ASSIGNMENT...] grade every collected submission: autograde, feedback, grades.csv, report
    check ASSIGNMENT     malformed submissions, per learner, and whether the sandbox is ready
    incidents [ASSIGNMENT]   what learner code tried in the sandbox (files, network, programs)
    sandbox              whether grading can run in the sandbox on this machine, and why not
    slice ASSIGNMENT     the cells grading runs (the grading slice) and why each runs or not
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
    from course_utils.grading.host.sandbox import (
        SANDBOX_ENV,
        course_utils_problem,
        sandbox_mode,
        sandbox_problem,
    )

    mismatch = course_utils_problem()
    if mismatch:
        return f"Grading: NOT POSSIBLE: {mismatch}", False
    if sandbox_mode() == "off":
        return (
            f"Grading sandbox: OFF ({SANDBOX_ENV}=off): learner code runs with your rights.",
            True,
        )
    problem = sandbox_problem()
    if problem:
        return f"Grading sandbox: NOT AVAILABLE: {problem}", False
    return "Grading sandbox: ready (bubblewrap).", True


def print_slice(root: str, assignment: str) -> int:
    """Print the grading slice of each of ``assignment``'s source notebooks."""
    import nbformat
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from course_utils.grading.nbgrader_steps.grading_slice import describe, slice_of

    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    config.CourseDirectory.root = str(Path(root).resolve())
    coursedir = CourseDirectory(config=config)
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    sources = sorted(folder.glob("*.ipynb"))
    if not sources:
        print(f"ERROR: no source notebook in {folder}: is {assignment!r} an assignment?")
        return 1
    for path in sources:
        notebook = nbformat.read(path, as_version=4)
        print(f"{path}:")
        print(describe(slice_of(notebook, notebook)))
    return 0


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
    found = sub.add_parser("incidents", help="what learner code tried in the sandbox, per learner")
    found.add_argument("assignment", nargs="?")
    found.add_argument("--root", default=".", help="the course folder (default: current folder)")
    sub.add_parser("sandbox", help="can grading run in the sandbox here?")
    sliced = sub.add_parser("slice", help="the cells grading runs for an assignment, and why")
    sliced.add_argument("assignment")
    sliced.add_argument("--root", default=".", help="the course folder (default: current folder)")
    whole = sub.add_parser(
        "class", help="grade every collected submission, with feedback and a report"
    )
    whole.add_argument("assignments", nargs="*", help="default: every assignment with submissions")
    whole.add_argument("--root", default=".", help="the course folder (default: current folder)")
    whole.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    whole.add_argument("--workers", type=int, default=None, help="local workers (default: cores)")
    whole.add_argument("--scheduler", default=None, help="a Dask scheduler, e.g. tcp://host:8786")
    whole.add_argument("--db-url", default=None, help="the gradebook (default: the course's)")
    whole.add_argument("--no-feedback", action="store_true", help="skip writing feedback")
    validate = sub.add_parser("validate", help="run the visible tests of notebooks, like Validate")
    validate.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "validate":
        from course_utils.grading.nbgrader_steps.validate import validate_notebooks

        return 1 if validate_notebooks(args.notebooks) else 0
    if args.command == "class":
        from course_utils.grading.class_scale.engine import EngineError
        from course_utils.grading.class_scale.grade_class import grade_class
        from course_utils.grading.host.sandbox import SandboxUnavailableError

        try:
            run = grade_class(
                args.root,
                args.assignments,
                force=args.force,
                scheduler=args.scheduler,
                workers=args.workers,
                db_url=args.db_url,
                feedback=not args.no_feedback,
            )
        except (EngineError, SandboxUnavailableError, ValueError) as exc:
            print(f"ERROR: {exc}")
            return 1
        return 1 if run.failed else 0
    if args.command == "slice":
        return print_slice(args.root, args.assignment)
    if args.command == "sandbox":
        line, ok = _sandbox_line()
        print(line)
        return 0 if ok else 1
    if args.command == "incidents":
        from course_utils.grading.nbgrader_steps.submissions import incidents

        listed = incidents(args.root, args.assignment)
        for incident in listed:
            print(incident)
        print(f"{len(listed)} incident(s) in {Path(args.root, 'autograded')}.")
        return 1 if listed else 0

    from course_utils.grading.nbgrader_steps.submissions import (
        UnknownAssignmentError,
        check_submissions,
    )

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
