"""Learner HTML rendered for the instructor or the learner runs nothing and fetches nothing.

Fast checks of :mod:`course_utils.grading.nbgrader_steps.sanitize` and of the exports nbgrader makes
with the course's configuration: the Formgrader's ``formgrade`` template and the
``feedback`` template, both of which render learner markdown without nbconvert's own
cleaning. ``tests/test_browser_safety.py`` opens the same pages in Chromium.
"""

from __future__ import annotations

import html.parser
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from traitlets.config import Config

from course_utils.grading.nbgrader_steps import pipeline
from course_utils.grading.nbgrader_steps.sanitize import clean_html, clean_notebook
from helpers import FIXTURES
from hostile_html import MARKER, hostile_notebook_outputs, output_payloads

FIXTURE = FIXTURES / "00_fixture" / "00_fixture.ipynb"


class _Active(html.parser.HTMLParser):
    """Everything in a page that carries a payload: scripts, handlers, URLs, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag in ("script", "style")
        for name, value in attrs:
            value = value or ""
            if MARKER in value or "owned" in value:
                self.found.append(f"<{tag} {name}={value[:80]!r}>")
        if tag in ("iframe", "object", "embed", "meta", "link", "base", "svg"):
            if any(MARKER in (v or "") for _, v in attrs):
                self.found.append(f"<{tag}>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and (MARKER in data or "owned" in data):
            self.found.append(f"script/style text {data[:80]!r}")


def active_payloads(page: str) -> list[str]:
    parser = _Active()
    parser.feed(page)
    return parser.found


def _export(nb, template: str) -> str:
    c = Config()
    pipeline.configure_html(c)
    if template == "formgrade":
        from nbgrader.server_extensions.formgrader import handlers

        c.HTMLExporter.template_name = "formgrade"
        c.HTMLExporter.extra_template_basedirs = [handlers.template_path]
        resources = {
            "base_url": "",
            "index": 0,
            "total": 1,
            "notebook_id": "n",
            "assignment_id": "a",
            "submission_id": "s",
            "student": "x",
            "last_name": "",
            "first_name": "",
            "notebook_path": "n.ipynb",
        }
    else:
        from nbgrader.server_extensions.formgrader import handlers

        c.HTMLExporter.template_name = "feedback"
        c.HTMLExporter.extra_template_basedirs = [handlers.template_path]
        # as nbgrader's GenerateFeedback does: the page inlines bootstrap's CSS
        c.HTMLExporter.extra_template_paths = [
            str(Path(handlers.__file__).parent / "static/node_modules/bootstrap/dist/css")
        ]
        resources = {"nbgrader": {"notebook": "n", "score": 0, "max_score": 5, "late_penalty": 0}}
        for cell in nb.cells:  # what nbgrader's GetGrades adds before the feedback export
            info = cell.metadata.get("nbgrader", {})
            info.setdefault("score", 0)
            info.setdefault("points", info.get("points", 0))
    body, _ = HTMLExporter(config=c).from_notebook_node(nb, resources=resources)
    return body


@pytest.fixture(scope="module")
def hostile():
    return hostile_notebook_outputs(nbformat.read(FIXTURE, as_version=4))


def test_the_detector_sees_payloads_in_an_unsanitized_export(hostile):
    """Without the course's configuration nbconvert keeps scripts and handlers: the check can fail."""
    body, _ = HTMLExporter().from_notebook_node(hostile)
    found = active_payloads(body)
    assert len(found) >= 10, found


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_exports_keep_no_active_payload(hostile, template):
    body = _export(hostile, template)
    assert active_payloads(body) == []
    assert "My answer: <strong>bold</strong> stays." in body  # markdown still rendered


def test_every_payload_is_inert_after_cleaning():
    for name, bundle in output_payloads().items():
        output = nbformat.v4.new_output("display_data", data=dict(bundle))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[output])])
        kept = clean_notebook(nb).cells[0].outputs[0]["data"]
        assert set(kept) <= {"text/plain", "text/html", "image/png"}, (name, kept)
        text = str(kept)
        assert MARKER not in text and "onerror" not in text and "<script" not in text, (name, kept)


def test_tables_images_and_links_survive():
    table = '<table class="dataframe"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    assert clean_html(table) == table
    png = "data:image/png;base64,iVBORw0KGgo="
    assert clean_html(f'<img src="{png}" alt="plot">') == f'<img src="{png}" alt="plot">'
    assert 'href="https://keras.io"' in clean_html('<a href="https://keras.io">Keras</a>')
    assert "href" not in clean_html('<a href="/api/contents">x</a>')
    assert "href" not in clean_html('<a href="javascript:alert(1)">x</a>')
    assert "href" not in clean_html('<a href="JaVaScRiPt:alert(1)">x</a>')


def test_widget_state_and_strange_grade_ids_are_dropped(hostile):
    nb = clean_notebook(hostile)
    assert "widgets" not in nb.metadata
    cell = nbformat.v4.new_code_cell("x")
    cell.metadata["nbgrader"] = {"grade_id": '"><img src=x onerror=alert(1)>', "grade": True}
    nb.cells.append(cell)
    assert re.fullmatch(
        r"[A-Za-z0-9_.\-]+", clean_notebook(nb).cells[-1].metadata.nbgrader.grade_id
    )


def test_the_preprocessor_is_on_as_nbgrader_registers_it(hostile):
    """nbgrader registers pipeline steps as they are: a step that is off does nothing."""
    from nbconvert.exporters import NotebookExporter

    from course_utils.grading.nbgrader_steps.sanitize import SanitizeOutputs

    exporter = NotebookExporter()
    exporter.register_preprocessor(SanitizeOutputs)  # as nbgrader's converters do
    body, _ = exporter.from_notebook_node(hostile)
    outputs = [o for c in nbformat.reads(body, as_version=4).cells for o in c.get("outputs", [])]
    kinds = {key for output in outputs for key in output.get("data", {})}
    assert kinds <= {"text/plain", "text/html", "image/png"}, kinds


def test_autograding_and_feedback_pipelines_sanitize():
    names = [step.__name__ for step in pipeline.autograde_preprocessors()]
    assert names.index("SanitizeOutputs") < names.index("SaveAutoGrades")
    assert "SanitizeOutputs" in [step.__name__ for step in pipeline.feedback_preprocessors()]
