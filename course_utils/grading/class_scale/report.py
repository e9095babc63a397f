"""The instructor's report after grading a class: one HTML page and its plots, no server needed.

``reports/<date>/index.html`` shows, with a PNG of each plot beside it:

- the score distribution of each assignment;
- the pass rate of every exercise (which ones the class finds hard);
- the median grading time of each notebook, how many of its cells the grading slice ran, and
  the notebooks graded again in full because a skipped cell could explain an error;
- the submissions that were not graded, and why;
- the learners flagged while grading: attempts outside the sandbox, time budget spent, kernel died,
  memory limit, cells stopped at their timeout.

Example:
    >>> pass_rate([1.0, 0.5, 0.0], max_score=1.0)
    0.3333333333333333
"""

from __future__ import annotations

import html
import statistics
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_utils.grading.contract import LIMIT_ERRORS, METADATA_KEY
from course_utils.grading.nbgrader_steps.submissions import incidents, read_notebook_json


def pass_rate(scores: list[float], max_score: float) -> float:
    """The share of learners with full points on an exercise."""
    return sum(score >= max_score for score in scores) / len(scores) if scores else 0.0


@dataclass
class ClassData:
    """What the report shows, gathered from the gradebook and the autograded notebooks."""

    totals: dict[str, dict[str, float]] = field(default_factory=dict)  # assignment -> learner -> %
    exercises: dict[str, list[float]] = field(
        default_factory=dict
    )  # "assignment: grade_id" -> scores
    max_points: dict[str, float] = field(default_factory=dict)
    awaiting: dict[str, int] = field(default_factory=dict)  # written answers not graded by hand yet
    seconds: dict[str, list[float]] = field(default_factory=dict)  # assignment -> grading seconds
    not_graded: list[tuple[str, str, str]] = field(default_factory=list)  # assignment, learner, why
    flagged: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # learner, nb, kind, what
    cells_run: dict[str, list[float]] = field(default_factory=dict)  # assignment -> share run
    full_runs: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # assignment, learner, why the slice fell back


def gather(root: Path, db_url: str, assignments: list[str], results: dict[str, dict]) -> ClassData:
    """Read scores from the gradebook, flags from the autograded notebooks, times from ``results``.

    ``results`` maps ``"assignment/learner"`` to what grading that submission returned
    (``ok``, ``seconds``, ``error``), this run's and earlier ones'.
    """
    from nbgrader.api import Gradebook, MissingEntry

    data = ClassData()
    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's own models
        for assignment in assignments:
            try:
                submissions = gradebook.assignment_submissions(assignment)
            except MissingEntry:
                continue
            for submission in submissions:
                if not results.get(f"{assignment}/{submission.student_id}", {}).get("ok", True):
                    continue  # not graded: no score to show
                if submission.max_score:
                    data.totals.setdefault(assignment, {})[submission.student_id] = (
                        100.0 * submission.score / submission.max_score
                    )
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.max_score:
                            name = f"{assignment}: {grade.name}"
                            data.max_points[name] = float(grade.max_score)
                            data.exercises.setdefault(name, [])
                            if grade.needs_manual_grade:  # a written answer, not graded yet
                                data.awaiting[name] = data.awaiting.get(name, 0) + 1
                            else:
                                data.exercises[name].append(float(grade.score))
    for key, result in sorted(results.items()):
        assignment, learner = key.split("/", 1)
        if assignment not in assignments:
            continue
        if result.get("seconds"):
            data.seconds.setdefault(assignment, []).append(float(result["seconds"]))
        if not result.get("ok"):
            data.not_graded.append((assignment, learner, str(result.get("error") or "?")))
    for incident in incidents(root):
        if incident.assignment in assignments:
            data.flagged.append(
                (incident.student, incident.notebook, incident.kind, incident.detail)
            )
    read_autograded(root, assignments, data)
    data.flagged = sorted(set(data.flagged))
    return data


def read_autograded(root: Path, assignments: list[str], data: ClassData) -> None:
    """Add to ``data`` what the autograded notebooks say: cells stopped at a limit, and the
    grading slice's size and fallbacks (the ``slice`` entry under ``contract.METADATA_KEY`` in their metadata)."""
    for path in sorted((root / "autograded").glob("*/*/*.ipynb")):
        if path.parent.name not in assignments:
            continue
        notebook, error = read_notebook_json(path)
        learner, assignment = path.parents[1].name, path.parent.name
        record = (notebook or {}).get("metadata", {}).get(METADATA_KEY, {}).get("slice") or {}
        if record.get("fallback"):
            data.full_runs.append((assignment, learner, str(record["fallback"])))
        elif record.get("cells_run") is not None:
            total = record["cells_run"] + record.get("cells_skipped", 0)
            data.cells_run.setdefault(assignment, []).append(record["cells_run"] / max(total, 1))
        for cell in (notebook or {}).get("cells", []):
            for output in cell.get("outputs", []):
                limit = LIMIT_ERRORS.get(output.get("ename", ""))
                if limit:
                    where = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
                    data.flagged.append((learner, path.stem, "limit", f"{limit} ({where})"))


def _plots(data: ClassData, folder: Path) -> list[tuple[str, str]]:
    """Draw the plots as PNG files in ``folder``; return (file name, caption) pairs."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    made = []
    if data.totals:
        names = sorted(data.totals)
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 4))
        ax.boxplot([list(data.totals[a].values()) for a in names], showmeans=True)
        ax.set_xticks(range(1, len(names) + 1), [a[:2] for a in names])
        ax.set_xlabel("assignment")
        ax.set_ylabel("score (% of the points)")
        ax.set_ylim(-5, 105)
        ax.set_title("Score distribution per assignment")
        fig.tight_layout()
        fig.savefig(folder / "scores.png", dpi=100)
        plt.close(fig)
        made.append(
            ("scores.png", "Score distribution per assignment (box: quartiles, triangle: mean)")
        )
    graded = {name: s for name, s in data.exercises.items() if s}  # not those awaiting grading
    if graded:
        rates = sorted(
            ((pass_rate(s, data.max_points[name]), name) for name, s in graded.items()),
            reverse=True,  # barh draws from the bottom up: the hardest ends on top
        )
        fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(rates))))
        ax.barh([name for _, name in rates], [100 * rate for rate, _ in rates], color="tab:blue")
        ax.set_xlabel("learners with full points (%)")
        ax.set_xlim(0, 100)
        ax.set_title("Pass rate of every exercise (hardest first)")
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        fig.savefig(folder / "pass_rates.png", dpi=100)
        plt.close(fig)
        made.append(("pass_rates.png", "Pass rate of every exercise (hardest first)"))
    if data.seconds:
        names = sorted(data.seconds)
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 3.5))
        ax.bar([a[:2] for a in names], [statistics.median(data.seconds[a]) for a in names])
        ax.set_xlabel("assignment")
        ax.set_ylabel("median seconds per notebook")
        ax.set_title("Grading time per notebook")
        fig.tight_layout()
        fig.savefig(folder / "grading_time.png", dpi=100)
        plt.close(fig)
        made.append(("grading_time.png", "Median grading time per notebook"))
    return made


def _table(headers: list[str], rows: list[tuple[Any, ...]], empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(root: Path, data: ClassData, folder: Path | None = None) -> Path:
    """Write ``reports/<date>/index.html`` and its PNGs; return the page's path."""
    stamp = datetime.now(timezone.utc)
    folder = folder or root / "reports" / stamp.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    images = _plots(data, folder)
    learners = {learner for scores in data.totals.values() for learner in scores}
    rates = sorted(
        (
            name,
            f"{100 * pass_rate(s, data.max_points[name]):.0f}%" if s else "-",
            len(s),
            data.awaiting.get(name, 0),
        )
        for name, s in data.exercises.items()
    )
    timing = [
        (
            a,
            f"{statistics.median(s):.1f} s",
            len(s),
            f"{100 * statistics.median(data.cells_run[a]):.0f}%" if data.cells_run.get(a) else "-",
            sum(run[0] == a for run in data.full_runs),
        )
        for a, s in sorted(data.seconds.items())
    ]
    figures = "".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>'
        f"{html.escape(caption)}</figcaption></figure>"
        for name, caption in images
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Grading report: {stamp:%Y-%m-%d}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #f3f3f3; }} figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Grading report</h1>
<p>{stamp:%Y-%m-%d %H:%M} UTC: {len(learners)} learner(s), {len(data.totals)} assignment(s),
{len(data.not_graded)} submission(s) not graded, {len({f[0] for f in data.flagged})} learner(s) flagged.</p>
{figures}
<h2>Submissions not graded</h2>
{_table(["assignment", "learner", "why"], data.not_graded, "Every submission was graded.")}
<h2>Learners flagged while grading</h2>
{_table(["learner", "notebook", "kind", "what was detected"], data.flagged, "Nothing was detected.")}
<h2>Exercises</h2>
{_table(["exercise", "learners with full points", "graded", "awaiting grading by hand"], rates, "No grades yet.")}
<h2>Grading time</h2>
{_table(["assignment", "median per notebook", "notebooks", "code cells run (median, the grading slice)", "graded again in full"], timing, "No timings.")}
<h2>Graded again in full</h2>
<p>The grading slice runs only the cells the answers and tests need. When an error could come from
a cell it skipped, the notebook is graded again with every cell run, and that grade is kept.</p>
{_table(["assignment", "learner", "the error that sent it back"], sorted(data.full_runs), "None: every notebook was graded from its slice.")}
</body></html>
"""
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
