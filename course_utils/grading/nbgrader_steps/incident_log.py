"""What happened while a notebook was graded that the instructor should know: the incidents.

An incident is what learner code tried (``attempt``: files outside the sandbox, the
network, programs) or why grading stopped early (``stopped``). No grade depends on one;
they are recorded in the graded notebook's metadata and the grading log, and listed by
``python -m course_utils.grading incidents``.

Example:
    >>> log = IncidentLog(limit=2)
    >>> log.add("a_tests", "attempt", "network", "tried to connect")
    >>> log.add("a_tests", "attempt", "network", "tried to connect")  # the same: kept once
    >>> [i["detail"] for i in log.items]
    ['tried to connect']
"""

from __future__ import annotations

from typing import Any

MAX_DETAIL = 500  # characters of an incident's detail kept


class IncidentLog:
    """One notebook's incidents, each kept once, at most ``limit`` (a flood is cut short)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[dict[str, str]] = []

    def add(self, cell: str, kind: str, what: str, detail: str) -> None:
        incident = {"kind": kind, "what": what, "detail": detail[:MAX_DETAIL], "cell": cell}
        if incident not in self.items and len(self.items) < self.limit:
            self.items.append(incident)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, str]:
        return self.items[index]

    def log_to(self, log: Any, student: str, notebook: str) -> None:
        """Each incident as a warning of the grading log."""
        for incident in self.items:
            log.warning(
                "Grading %s: learner %r, notebook %r, %s: %s",
                incident["kind"],
                student,
                notebook,
                incident["cell"],
                incident["detail"],
            )
