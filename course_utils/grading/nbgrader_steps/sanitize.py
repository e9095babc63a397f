"""Learner outputs rendered without any active content: no script, handler or request runs.

A submission's outputs and markdown are the learner's HTML. nbconvert, the
Formgrader's submission view and nbgrader's feedback pages put it into a page of
the instructor's (or the learner's) Jupyter server, where a ``<script>`` or an
``onerror`` handler would run with that session's rights: read the solutions,
start a terminal, change grades. nbgrader's own ``formgrade`` and ``feedback``
templates render markdown without nbconvert's ``clean_html``, so setting
``sanitize_html`` is not enough. Here:

- :func:`clean_html` keeps an allowlist of tags and attributes (tables, lists,
  images, emphasis, links...), removes ``<script>`` and ``<style>`` with their
  content, every event handler and every ``style``; images may only be inline
  ``data:image/...`` URLs and links only absolute ``http``/``https``/``mailto``
  ones, so nothing on the page can send a request to the Jupyter server;
- :func:`clean_notebook` keeps, of each output, only plain text, PNG/JPEG/GIF
  images and cleaned HTML (``application/javascript``, widget views, SVG, LaTeX,
  markdown and every other kind are dropped; if nothing is left, a line says
  what was removed), drops the notebook's widget state, cleans markdown cells'
  attachments to images, and keeps ``grade_id`` values plain;
- :class:`SanitizeOutputs` applies it as an nbconvert preprocessor: in autograding
  (so stored notebooks are clean), and before every HTML export (feedback, the
  Formgrader), where :func:`markdown2html` also replaces nbconvert's filter.

Example:
    >>> clean_html('<b onclick="steal()">bold</b><script>steal()</script>')
    '<b>bold</b>'
    >>> clean_html('<img src="/api/contents" onerror="steal()">')
    '<img>'
    >>> clean_html('<table class="dataframe"><tr><td>1</td></tr></table>')
    '<table class="dataframe"><tbody><tr><td>1</td></tr></tbody></table>'
"""

from __future__ import annotations

import re
from typing import Any

import nh3
from jinja2 import pass_context
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

# Kinds of output kept; everything else (JavaScript, widgets, SVG, LaTeX, markdown,
# PDF, JSON, vendor types) is dropped, since a renderer may run or fetch it.
SAFE_OUTPUT_TYPES = ("text/plain", "image/png", "image/jpeg", "image/gif")
HTML = "text/html"
MARKDOWN = "text/markdown"

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u",
    "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "title", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
_GONE_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "svg", "math"}
_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)
_PLAIN_ID = re.compile(r"[^A-Za-z0-9_.\-]")


def _attribute(tag: str, name: str, value: str) -> str | None:
    """Only links and images that cannot reach the server the page came from."""
    if name == "href":
        return value if _LINK.match(value.strip()) else None
    if name == "src":
        return value if _DATA_IMAGE.match(value.strip()) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with only the allowlisted tags and attributes (see the module docstring)."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_GONE_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def clean_output(output: dict) -> dict:
    """One output with only the safe kinds of data, HTML cleaned (changed in place)."""
    data = output.get("data")
    if not isinstance(data, dict):
        return output
    dropped = sorted(key for key in data if key not in (*SAFE_OUTPUT_TYPES, HTML))
    kept = {key: value for key, value in data.items() if key in SAFE_OUTPUT_TYPES}
    if HTML in data:
        kept[HTML] = clean_html(_joined(data[HTML]))
    if not kept:
        kept["text/plain"] = f"[output not shown: {', '.join(dropped)} is not displayed in grading]"
    output["data"] = kept
    # metadata may name the dropped kinds (e.g. isolated iframes): keep only image sizes
    metadata = output.get("metadata")
    if isinstance(metadata, dict):
        output["metadata"] = {k: v for k, v in metadata.items() if k in SAFE_OUTPUT_TYPES}
    return output


def clean_notebook(nb: Any) -> Any:
    """Every output cleaned, widget state and unsafe attachments dropped (in place)."""
    metadata = nb.get("metadata", {})
    metadata.pop("widgets", None)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            clean_output(output)
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            for name, bundle in list(attachments.items()):
                images = {k: v for k, v in (bundle or {}).items() if k in SAFE_OUTPUT_TYPES[1:]}
                if images:
                    attachments[name] = images
                else:
                    del attachments[name]
        info = cell.get("metadata", {}).get("nbgrader")
        if isinstance(info, dict) and "grade_id" in info:
            info["grade_id"] = _PLAIN_ID.sub("_", str(info["grade_id"]))
    return nb


class SanitizeOutputs(Preprocessor):
    """nbconvert preprocessor form of :func:`clean_notebook`.

    On by default: nbgrader registers its pipeline steps without enabling them, and
    nbconvert's preprocessors are off unless enabled.
    """

    enabled = Bool(True, help="Clean learner outputs (always on in grading).")

    def preprocess(self, nb, resources):
        return clean_notebook(nb), resources


@pass_context
def markdown2html(context: Any, source: str) -> str:
    """nbconvert's markdown rendering (attachments included), then :func:`clean_html`."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell", {})
    renderer = IPythonRenderer(
        escape=False, attachments=cell.get("attachments", {}), embed_images=False
    )
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))
