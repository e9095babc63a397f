"""The course in JupyterLab, driven in a real (headless) Chromium with Playwright.

Starts `jupyter lab` on loopback with a token, in a scratch copy of the course, and:
opens notebook 01 from the file browser; runs every cell of a solved copy in the fast
profile and checks no cell shows an error; checks nbgrader's extension (Validate button,
Formgrader); presses Validate on a right and on a wrong answer and reads the verdict.
Screenshots go to test-artifacts/browser/.

Skips, with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from browser_support import ARTIFACTS, TOKEN, chromium, jupyter_lab, require_browser
from course_utils.config import PROFILE_ENV
from helpers import (
    NOTEBOOKS,
    REPO,
    SMALLEST,
    grade_id,
    nbgrader_env,
    solved_notebook,
    with_wrong_answer,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NB_NAME = f"{SMALLEST}.ipynb"
playwright_api = require_browser()


def _write_settings(folder: Path) -> None:
    """JupyterLab user settings: render every cell (no windowing), no news pop-up."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    course = root / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(NOTEBOOKS / SMALLEST, course / "notebooks" / SMALLEST)
    shutil.copytree(REPO / "solutions" / SMALLEST, course / "solutions" / SMALLEST)
    # practice copies: every answer filled in, and one with a wrong answer
    solved = solved_notebook(SMALLEST)
    wrong = with_wrong_answer(solved)
    for folder, nb in (("solved", solved), ("wrong", wrong)):
        (course / "practice" / folder).mkdir(parents=True)
        nbformat.write(nb, course / "practice" / folder / NB_NAME)
    settings = root / "settings"
    _write_settings(settings)

    env = nbgrader_env(
        **{PROFILE_ENV: "fast"},
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
    )
    with jupyter_lab(course, env, root / "server.log") as url:
        # the server itself must list the course folders, or the UI cannot
        with urllib.request.urlopen(f"{url}/api/contents?token={TOKEN}", timeout=30) as response:
            listed = sorted(item["name"] for item in json.load(response)["content"])
        assert {"notebooks", "practice"} <= set(listed), f"the server lists {listed} in {course}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield {"url": url, "course": course, "root": root}


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as launched:
        yield launched


@pytest.fixture
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.course_server_log = lab["root"] / "server.log"
    page.goto(f"{lab['url']}/lab?reset&token={TOKEN}")
    page.wait_for_selector(".jp-DirListing-content")
    yield page
    context.close()


def _open_from_browser(page, *parts: str):
    """Double-click through the file browser, from its top folder: folders, then the notebook."""
    page.locator(".jp-BreadCrumbs-home").first.click()
    for part in parts:
        item = page.locator(".jp-DirListing-item", has_text=part).first
        try:
            item.wait_for(timeout=20_000)
        except playwright_api.TimeoutError:  # a listing loaded before the server was ready
            page.locator("[data-command='filebrowser:refresh']").first.click()
        try:
            item.wait_for(timeout=60_000)
        except playwright_api.TimeoutError:
            shot = ARTIFACTS / f"missing-{part}.png"
            page.screenshot(path=str(shot))
            listed = page.locator(".jp-DirListing-item").all_inner_texts()
            crumbs = page.locator(".jp-BreadCrumbs").first.inner_text()
            pytest.fail(
                f"the file browser shows no {part!r} (folder {crumbs!r} lists {listed}); "
                f"screenshot: {shot}\nserver log:\n{_server_log(page)}"
            )
        item.dblclick()
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
    page.wait_for_selector(".jp-Notebook-cell")


def _server_log(page) -> str:
    log = getattr(page, "course_server_log", None)
    return log.read_text()[-3000:] if log and log.exists() else "(none)"


def _wait_for_idle_kernel(page, timeout: float = 180_000):
    """Wait until the status bar says the notebook's kernel is idle (it starts on open)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#jp-main-statusbar')?.innerText.includes('| Idle')",
        timeout=timeout,
    )


def _run_all(page, lab, relative: str, timeout: float = 300):
    """Run > Run All Cells, then wait until the saved notebook has every cell executed."""
    _wait_for_idle_kernel(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + timeout
    path = lab["course"] / relative
    while time.monotonic() < deadline:
        time.sleep(3)
        page.keyboard.press("Control+s")
        time.sleep(1)
        try:
            nb = nbformat.read(path, as_version=4)
        except (nbformat.reader.NotJSONError, ValueError):  # caught mid-save: try again
            continue
        code = [c for c in nb.cells if c.cell_type == "code"]
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
        if code and all(c.execution_count for c in code) and busy == 0:
            return nb
    page.screenshot(path=str(ARTIFACTS / "02-run-all-timeout.png"))
    pytest.fail(f"running every cell of {relative} did not finish in {timeout} s")


def test_open_first_notebook_from_file_browser(page):
    _open_from_browser(page, "notebooks", SMALLEST, NB_NAME)
    heading = page.locator(".jp-NotebookPanel h1").first
    assert "01. Data loading" in heading.inner_text()
    page.screenshot(path=str(ARTIFACTS / "01-opened.png"))


def test_run_all_cells_shows_no_error(page, lab):
    _open_from_browser(page, "practice", "solved", NB_NAME)
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar", timeout=60_000
    )
    nb = _run_all(page, lab, f"practice/solved/{NB_NAME}")
    errors = [
        (grade_id(c) or i, o.get("ename"))
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors, f"cells with errors: {errors}"
    shown = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert shown.count() == 0, f"{shown.count()} cells show error or stderr output"
    assert page.get_by_text("Visible tests passed.").count() >= 4
    page.screenshot(path=str(ARTIFACTS / "02-run-all.png"), full_page=False)


def test_nbgrader_extension_installed_and_enabled():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    line = next((row for row in text.splitlines() if "@jupyter/nbgrader" in row), "")
    assert "enabled" in line and "OK" in line, text


def test_formgrader_opens_for_the_instructor(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
    frame = page.frame_locator("iframe").first
    frame.get_by_text("Manage Assignments").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "03-formgrader.png"))


@pytest.mark.parametrize(
    ("folder", "verdict_class", "text"),
    [
        ("solved", "validation-success", "Success! Your notebook passes all the tests."),
        ("wrong", "validation-failed", "expected 196, got 195"),
    ],
)
def test_validate_button_gives_the_verdict(page, folder, verdict_class, text):
    _open_from_browser(page, "practice", folder, NB_NAME)
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(f".jp-Dialog .{verdict_class}")
    dialog.wait_for(timeout=300_000)
    assert text in dialog.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"04-validate-{folder}.png"))


def test_the_instructors_report_shows_its_plots(browser, tmp_path):
    """The class command's report opens from disk (no server) and every plot is drawn."""
    from course_utils.grading.class_scale.grade_class import grade_class
    from course_utils.grading.host.sandbox import sandbox_problem
    from course_utils.grading.testing import Course
    from helpers import FIXTURES

    if sandbox_problem():
        pytest.skip(f"the grading sandbox cannot run here: {sandbox_problem()}")
    course = Course(tmp_path / "course", ["00_fixture"], sources=FIXTURES)
    course.submit("right", "00_fixture", course.solved("00_fixture"))
    course.submit("untouched", "00_fixture", course.release("00_fixture"))
    course.submit("broken", "00_fixture", raw="{ not a notebook")
    run = grade_class(course.root, workers=1, say=print)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto(run.report.as_uri())
        page.wait_for_selector("h1")
        drawn = page.eval_on_selector_all(
            "img",
            "images => images.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])",
        )
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        text = page.inner_text("body")
    finally:
        context.close()
    assert sorted(src for src, _ in drawn) == ["grading_time.png", "pass_rates.png", "scores.png"]
    assert all(width and width > 100 for _, width in drawn), drawn
    assert "broken" in text and "Submissions not graded" in text
