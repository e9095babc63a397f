"""What one graded notebook may spend: time (per cell and in total) and output bytes.

:class:`GradingExecute <course_utils.grading.nbgrader_steps.execute.GradingExecute>`
asks a :class:`TimeBudget` for each cell's timeout and an :class:`OutputBudget`
whether an output message may be kept.

Example:
    >>> now = [0.0]
    >>> budget = TimeBudget(total=60, clock=lambda: now[0])
    >>> budget.start()
    >>> now[0] = 50
    >>> budget.cell_timeout(per_cell=20)
    10
    >>> outputs = OutputBudget(per_cell=10, per_notebook=100)
    >>> outputs.count({"content": {"text": "abc"}}, cell=0)
    (True, True)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from nbformat import NotebookNode


class TimeBudget:
    """A notebook's seconds in total (``total`` <= 0: none), cut into per-cell timeouts."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.started: float | None = None

    def start(self) -> None:
        self.started = self.clock()

    def stop(self) -> None:
        self.started = None

    def seconds_left(self) -> float | None:
        """What is left of the budget, or None without one (or outside a run)."""
        if self.started is None or not self.total or self.total < 0:
            return None
        return self.total - (self.clock() - self.started)

    def cell_timeout(self, per_cell: int | None) -> int | None:
        """The per-cell timeout, cut to what is left of the budget (at least 1 s)."""
        timeout = per_cell if per_cell and per_cell > 0 else None
        left = self.seconds_left()
        if left is None:
            return timeout
        left_whole = max(1, int(left))
        return left_whole if timeout is None else min(timeout, left_whole)


class OutputBudget:
    """Bytes of output a cell and the whole notebook may keep (messages counted as JSON)."""

    def __init__(self, per_cell: int, per_notebook: int) -> None:
        self.per_cell = per_cell
        self.per_notebook = per_notebook
        self.used: dict[int, int] = {}
        self.total = 0

    def count(self, msg: dict, cell: int) -> tuple[bool, bool]:
        """(over a limit, just went over it) once this message's bytes are counted."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self.used.get(cell, 0) + size
        self.used[cell] = used
        self.total += size
        over = used > self.per_cell or self.total > self.per_notebook
        was = used - size > self.per_cell or self.total - size > self.per_notebook
        return over, over and not was

    def notice(self) -> NotebookNode:
        """The line that replaces what was cut."""
        return NotebookNode(
            output_type="stream",
            name="stdout",
            text="\n[output cut: more than this cell or notebook may keep "
            f"({self.per_cell:,} and {self.per_notebook:,} bytes)]\n",
        )
