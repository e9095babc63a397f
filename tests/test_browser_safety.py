"""A submission's HTML cannot act for the instructor: checked in Chromium against a live Formgrader.

A course of the fixture assignment, graded by the real ``nbgrader autograde`` (sandboxed),
with two learners whose notebooks carry every payload of ``tests/hostile_html.py``:

- ``mallory`` displays them at grading time and writes them in a markdown cell;
- ``oldgrade`` has them stored in its autograded notebook already, as a grader without
  the sanitizing step would have left them, so the Formgrader and the feedback must
  clean them when they render, on their own.

The instructor is logged in to JupyterLab (token cookie) and opens each learner's
Formgrader submission page and feedback page. No payload may leave a trace: nothing
in ``window.__xss``, no title change, no request with the marker, no dialog. Plots and
tables must still show. A page made by plain nbconvert from the same notebook *does*
leave traces in the same browser: the detector works.
"""

from __future__ import annotations

import nbformat
import pytest
from test_html_safety import active_payloads

from browser_support import ARTIFACTS, TOKEN, chromium, jupyter_lab, require_browser
from course_utils.config import PROFILE_ENV
from course_utils.grading.host.sandbox import sandbox_problem
from course_utils.grading.nbgrader_steps.sanitize import HTML, SAFE_OUTPUT_TYPES
from helpers import FIXTURES, Course, nbgrader_env
from hostile_html import (
    MARKER,
    honest_code,
    hostile_code,
    hostile_markdown,
    hostile_notebook_outputs,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_api = require_browser()
A = "00_fixture"

if sandbox_problem():
    pytest.skip(
        f"the grading sandbox cannot run here: {sandbox_problem()}", allow_module_level=True
    )


def _hostile_submission(release):
    nb = nbformat.from_dict(release)
    nb.cells.append(nbformat.v4.new_code_cell(honest_code()))
    nb.cells.append(nbformat.v4.new_code_cell(hostile_code()))
    nb.cells.append(nbformat.v4.new_markdown_cell(hostile_markdown()))
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss")
    course = Course(root / "course", [A], sources=FIXTURES)
    course.submit("mallory", A, _hostile_submission(course.release(A)))
    course.submit("oldgrade", A, course.release(A))
    course.check(course.autograde(A))
    # what a grader without the sanitizing step stored: the raw payloads
    stored = course.root / "autograded" / "oldgrade" / A / f"{A}.ipynb"
    nbformat.write(hostile_notebook_outputs(nbformat.read(stored, as_version=4)), stored)
    course.check(course.generate_feedback(A, "--force"))
    # the same notebook through plain nbconvert: proof that the browser would see payloads
    from nbconvert.exporters import HTMLExporter

    raw, _ = HTMLExporter().from_notebook_node(nbformat.read(stored, as_version=4))
    (course.root / "unsanitized.html").write_text(raw)
    return course


@pytest.fixture(scope="module")
def server(course):
    env = nbgrader_env(**{PROFILE_ENV: "fast"})
    with jupyter_lab(course.root, env, course.root.parent / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as launched:
        yield launched


def _visit(browser, server: str, path: str, shot: str) -> dict:
    """Open ``path`` as the logged-in instructor; what the page did and shows."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{server}/lab?token={TOKEN}")  # logs in: the session cookie is set
        page.wait_for_selector(".jp-DirListing-content")
        page.goto(f"{server}{path}", referer=f"{server}/lab")  # as a click in JupyterLab
        page.wait_for_load_state("load")
        page.wait_for_timeout(2500)  # timers, lazy images and fetches get their chance
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        return {
            "marked": page.evaluate("window.__xss || null"),
            "title": page.title(),
            "requests": [url for url in requests if MARKER in url],
            "dialogs": dialogs,
            "png": page.locator("img[src^='data:image/png']").count(),
            "tables": page.locator("table.dataframe td").count(),
            "text": page.inner_text("body"),
        }
    finally:
        context.close()


def _traces(seen: dict) -> list[str]:
    traces = []
    if seen["marked"]:
        traces.append(f"payloads ran: {seen['marked']}")
    if seen["title"].startswith("owned"):
        traces.append(f"title changed to {seen['title']!r}")
    traces += [f"request {url}" for url in seen["requests"]]
    traces += [f"dialog {message!r}" for message in seen["dialogs"]]
    return traces


def _submission_id(course: Course, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        return gradebook.find_submission_notebook(A, A, student).id


def test_the_stored_autograded_notebook_keeps_only_safe_outputs(course):
    outputs = [
        out
        for cell in course.autograded_notebook("mallory", A).cells
        for out in cell.get("outputs", [])
    ]
    kinds = {key for out in outputs for key in out.get("data", {})}
    assert kinds <= {*SAFE_OUTPUT_TYPES, HTML}, kinds
    assert "image/png" in kinds  # the plot is still there
    for out in outputs:
        assert active_payloads(out.get("data", {}).get(HTML, "")) == []


def test_the_detector_sees_an_unsanitized_page(browser, server):
    seen = _visit(browser, server, "/files/unsanitized.html", "xss-unsanitized.png")
    assert len(_traces(seen)) >= 3, seen


@pytest.mark.parametrize("student", ["mallory", "oldgrade"])
def test_formgrader_submission_page_runs_nothing(browser, server, course, student):
    path = f"/formgrader/submissions/{_submission_id(course, student)}/"
    seen = _visit(browser, server, path, f"xss-formgrader-{student}.png")
    assert _traces(seen) == []
    assert "My answer:" in seen["text"]
    if student == "mallory":
        assert seen["png"] >= 1 and seen["tables"] >= 4, seen  # plots and tables still show
        assert "<thead>" not in seen["text"] and "0.86" in seen["text"]


@pytest.mark.parametrize("student", ["mallory", "oldgrade"])
def test_feedback_page_runs_nothing(browser, server, student):
    path = f"/files/feedback/{student}/{A}/{A}.html"
    seen = _visit(browser, server, path, f"xss-feedback-{student}.png")
    assert _traces(seen) == []
    assert "My answer:" in seen["text"]
    if student == "mallory":
        assert seen["png"] >= 1 and seen["tables"] >= 4, seen
        assert "<thead>" not in seen["text"] and "0.86" in seen["text"]
