"""What an nbgrader cell is, in one place: answer cells, test cells, their ids and points.

Works on nbformat nodes and on plain dicts (notebook JSON).

Example:
    >>> test = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "t", "points": 2}}}
    >>> is_test_cell(test), grade_id(test), points(test)
    (True, 't', 2.0)
"""

from __future__ import annotations

from typing import Any


def _meta(cell: Any) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: Any) -> str | None:
    """The cell's nbgrader ``grade_id``, or None for an ordinary cell."""
    return _meta(cell).get("grade_id")


def is_test_cell(cell: Any) -> bool:
    """An autograded test cell: code, graded, not an answer."""
    meta = _meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer_cell(cell: Any) -> bool:
    """A cell the learner writes an answer in (``solution`` in nbgrader's terms)."""
    return bool(_meta(cell).get("solution"))


def points(cell: Any) -> float:
    """The points a graded cell is worth (0 for others)."""
    return float(_meta(cell).get("points", 0) or 0)
