"""Every figure in the notebooks' text is a recorded one, or says what else it is.

The course's rule: a number in a notebook's prose comes from a run the benchmark repeats
(``benchmarks/results.json``, written by ``make bench``), or the sentence goes. These tests
read every markdown cell of ``solutions/`` (the learner's text and the model answers) and find
the decimal numbers with two or more places outside code spans and formulas. Each must round
from a figure recorded by its notebook or an earlier one (a notebook may quote what came
before), from the classic tutorial the course compares with (``benchmarks/targets.py``), or be
listed in :data:`NOT_MEASURED` with what it is: a setting, a constant, a target, an exercise's
input. Numbers with one decimal place ("0.9", "13.2 s") are not checked.
"""

from __future__ import annotations

import json
import re

import nbformat

from benchmarks.targets import TARGETS
from helpers import REPO, SOLUTIONS

# notebook -> number as written -> what it is, when it is not a measurement
NOT_MEASURED: dict[str, dict[str, str]] = {
    "01": {
        "0.000001": "an order of magnitude: what float32 rounding leaves",
        "2.16": "a version: TensorFlow 2.16",
    },
    "02": {
        "0.0003": "worked example: the probability the logits above give",
        "0.001": "a question's probability",
        "0.447": "worked example: the MSE of [0.2, 0.7, 0.1] against [0, 0, 1]",
        "1.715": "math: SELU's slope at a point of the plotted grid",
        "1.76": "math: SELU's largest slope",
    },
    "03": {
        "0.0001": "a threshold of the optimizer race",
        "0.001": "a setting: Adam's default learning rate",
        "0.01": "a threshold of the optimizer race",
    },
    "04": {"0.002": "a setting: the learning rate"},
    "05": {
        "0.001": "settings: Adam's default learning rate, min_delta",
        "0.01": "settings: SGD's learning rate, the smallest real gain in Exercise 2's runs",
        "0.2995": "example: a change smaller than min_delta",
        "0.3000": "example: a change smaller than min_delta",
        "0.305": "Question 3's input",
        "0.318": "Question 3's input",
        "0.55": "Exercise 4's target",
        "0.72": "Exercise 4's target",
        "0.80": "Exercise 4's target",
        "0.83": "Question 4's input",
    },
    "06": {
        "0.002": "a setting: the learning rate",
        "0.29": "Question 2: the MSE of its hypothetical RMSE",
        "0.51": "Exercise 1's example input",
        "0.54": "Question 2's hypothetical RMSE",
        "0.57": "Exercise 3's suggested margin",
        "0.60": "Exercise 3's target",
        "0.62": "Exercise 1's example input and Exercise 3's hidden target",
    },
    "07": {
        "0.001": "a setting: Adam's default learning rate",
        "0.01": "settings: SGD's learning rate, Glorot's variance for 100 inputs",
        "0.25": "math: the sigmoid's largest slope",
        "1.15": "Exercise 2's bound",
        "1.25": "Exercise 1's bound",
        "2.30": "math: ln 10",
    },
    "08": {
        "0.001": "settings: BatchNormalization's epsilon, Adam's default learning rate",
        "0.005": "a setting: the learning rate",
        "0.008": "worked example: the batch variance section 2's cell prints",
        "0.01": "a setting: SGD's learning rate",
        "0.94": "worked example: the output section 2's cell prints",
        "0.99": "a setting: BatchNormalization's default momentum",
        "2.30": "math: ln 10",
    },
    "09": {
        "0.002": "a setting: the learning rate",
        "0.05": "settings: AlphaDropout rates from the SELU paper",
        "1.0507": "math: SELU's scale",
        "1.6733": "math: SELU's alpha",
    },
    "10": {
        "0.60": "Exercise 3's target",
        "0.72": "Exercise 3's hidden target",
    },
    "11": {
        "0.05": "a setting: the learning rate",
        "1.46": "math: log(1 + 9/e)",
    },
}

NUMBER = re.compile(r"(?<![\w.])(\d+\.\d{2,})(?![\w.])")
# code spans, formulas, and a rubric's share of a point ("0.5 for the mechanism")
NOT_PROSE = re.compile(r"`[^`]*`|\$[^$]*\$|\b\d\.\d+ for\b")


def recorded_figures() -> dict[str, list[float]]:
    """notebook number -> every figure its benchmark run recorded (absolute values), and the
    classic tutorial's figures the course compares it with."""
    results = json.loads((REPO / "benchmarks" / "results.json").read_text())
    figures: dict[str, list[float]] = {}
    for row in results["notebooks"]:
        values = row["figures"].values()
        figures[row["notebook"][:2]] = [abs(float(v)) for v in values if isinstance(v, int | float)]
    for target in TARGETS:
        if target.classic is not None:
            figures.setdefault(target.notebook, []).append(target.classic)
    return figures


def figures_in(markdown: str) -> list[tuple[str, str]]:
    """(number as written, its context) for each decimal with two or more places in prose."""
    prose = NOT_PROSE.sub(" ", markdown)
    return [
        (m.group(1), " ".join(prose[max(0, m.start() - 50) : m.end() + 20].split()))
        for m in NUMBER.finditer(prose)
    ]


def unexplained(notebook: str, markdown: str, figures: dict[str, list[float]]) -> list[str]:
    """The figures of one markdown cell of ``notebook`` ("04") that nothing accounts for."""
    known = [value for number, values in figures.items() if number <= notebook for value in values]
    found = []
    for written, context in figures_in(markdown):
        if written in NOT_MEASURED.get(notebook, {}):
            continue
        value, places = float(written), len(written.split(".")[1])
        if not any(abs(value - figure) <= 0.50001 * 10**-places for figure in known):
            found.append(f"{written} in '...{context}...'")
    return found


def prose_cells():
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":
                yield path.parent.name[:2], index, cell.source


def test_every_figure_in_the_prose_is_recorded_or_says_what_it_is():
    figures = recorded_figures()
    found = [
        f"notebook {notebook}, cell {index}: {problem}"
        for notebook, index, source in prose_cells()
        for problem in unexplained(notebook, source, figures)
    ]
    assert not found, (
        "figures in the prose that no benchmark run recorded: record them (course_utils.record "
        "where the learner sees them, or benchmarks/notebooks.py's RECORD_AFTER) and run make "
        "bench, write what the learner's own output shows instead, or, for a setting, a "
        "constant or a target, add them to NOT_MEASURED with what they are:\n" + "\n".join(found)
    )


def test_the_scan_flags_an_invented_figure_and_nothing_else():
    figures = {"03": [0.8992], "04": [0.8896]}
    text = (
        "The network reached 0.923 test accuracy, and 0.90 after mirroring. "
        "With `learning_rate=0.0123` and $\\sigma = 0.456$ it trained. "
        "**Rubric (1 point):** 0.5 for the mechanism; 0.25 for the fix."
    )
    assert [w for w, _ in figures_in(text)] == ["0.923", "0.90"]
    assert unexplained("04", text, figures) == [f"0.923 in '...{figures_in(text)[0][1]}...'"]
    # a notebook may quote an earlier notebook's figure, not a later one's
    assert unexplained("03", "about 0.89 with callbacks", figures) != []
    assert unexplained("04", "about 0.89 with callbacks", figures) == []


def test_every_not_measured_entry_is_still_in_its_notebooks_prose():
    written: dict[str, set[str]] = {}
    for notebook, _, source in prose_cells():
        written.setdefault(notebook, set()).update(w for w, _ in figures_in(source))
    stale = [
        f"notebook {notebook}: {number}"
        for notebook, numbers in NOT_MEASURED.items()
        for number in numbers
        if number not in written.get(notebook, set())
    ]
    assert not stale, f"NOT_MEASURED lists numbers the prose no longer has: {stale}"
