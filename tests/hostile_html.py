"""Learner content that tries to run code in whoever views it: feedback pages, the Formgrader.

Every payload, if it ran, would record its number in ``window.__xss``, change the
page title and send a request to the Jupyter server's contents API with
``xss=<number>`` in the URL: what a script acting for the logged-in instructor does
first. Some need no script at all (an image, a style, a refresh pointing at the API).
The tests look for any of those three traces.

:func:`hostile_code` is a code cell a learner can submit: it *displays* every kind
of active output at grading time. :func:`hostile_markdown` is a markdown cell (a
written answer, or any cell the learner adds). :func:`honest_code` draws a plot and
a table, which must still show.
"""

from __future__ import annotations

import copy

import nbformat

MARKER = "xss="


def _js(n: int) -> str:
    """Script that leaves all three traces (written with single quotes only)."""
    return (
        f"window.__xss=(window.__xss||[]).concat([{n}]);document.title='owned {n}';"
        f"fetch('/api/contents?{MARKER}{n}')"
    )


def _api(n: int) -> str:
    return f"/api/contents?{MARKER}{n}"


def output_payloads() -> dict[str, dict]:
    """name -> a display_data bundle, one per way an output can carry active content."""
    return {
        "script": {"text/html": f"<b>bold</b><script>{_js(1)}</script>"},
        "onerror": {"text/html": f'<img src="x" onerror="{_js(2)}">'},
        "javascript": {"application/javascript": _js(3)},
        "svg": {
            "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_js(4)}">'
            f"<script>{_js(4)}</script><circle r='5'/></svg>"
        },
        "markdown_output": {
            "text/markdown": f'Hi <img src="x" onerror="{_js(5)}"> <script>{_js(5)}</script>'
        },
        "iframe": {"text/html": f'<iframe srcdoc="<script>parent.{_js(6)}</script>"></iframe>'},
        "image_request": {"text/html": f'<img src="{_api(7)}">'},
        "style_request": {
            "text/html": f"<style>body {{ background: url('{_api(8)}') }}</style>"
            f'<div style="background-image: url({_api(8)})">styled</div>'
        },
        "meta_refresh": {"text/html": f'<meta http-equiv="refresh" content="0;url={_api(9)}">'},
        "object": {"text/html": f'<object data="{_api(10)}"></object><embed src="{_api(10)}">'},
        "link": {"text/html": f'<link rel="stylesheet" href="{_api(11)}">'},
        "details": {
            "text/html": f'<details open ontoggle="{_js(12)}"><summary>s</summary></details>'
        },
        "html_in_svg_plain": {
            "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{_api(13)}"/></svg>',
            "text/plain": "an svg",
        },
        "widget": {
            "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2},
            "text/plain": "a widget",
        },
    }


def hostile_code() -> str:
    """Code that displays every payload of :func:`output_payloads`, prints and raises one."""
    return "\n".join(
        [
            "from IPython.display import display",
            f"for bundle in {list(output_payloads().values())!r}:",
            "    display(bundle, raw=True)",
            f"print({'<script>' + _js(20) + '</script>'!r})",
        ]
    )


def hostile_markdown() -> str:
    """A written answer full of HTML and links that would act when the page renders."""
    return "\n\n".join(
        [
            "My answer: **bold** stays.",
            f'<img src="x" onerror="{_js(30)}">',
            f"<script>{_js(31)}</script>",
            f"![an image]({_api(32)})",
            f'<svg onload="{_js(33)}"></svg>',
            f"[a link](javascript:{_js(34)})",
            f'<a href="{_api(35)}">relative</a>',
        ]
    )


def honest_code() -> str:
    """A plot and a DataFrame: what a cleaned page must still show."""
    return "\n".join(
        [
            "import matplotlib.pyplot as plt",
            "import pandas as pd",
            "from IPython.display import display",
            "plt.plot([1, 2, 3], [2, 1, 3])",
            "plt.show()",
            "display(pd.DataFrame({'epoch': [1, 2], 'accuracy': [0.81, 0.86]}))",
        ]
    )


def hostile_notebook_outputs(nb):
    """``nb`` with the payloads as outputs already (what an older, unsanitized grader stored)."""
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(hostile_code())
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=bundle) for bundle in output_payloads().values()
    ]
    nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell(hostile_markdown()))
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}
    }
    return nb
