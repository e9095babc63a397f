"""Record a notebook's headline figures (accuracies, timings) for ``make bench``.

``record()`` prints the figure for the learner. When the benchmark runs the
notebook it sets ``COURSE_RESULTS_FILE``, and the figure is also appended to
that file as one JSON line. Run by hand, nothing is written.

Example:
    >>> record("mlp_test_accuracy", 0.8842)
    mlp_test_accuracy = 0.8842
    0.8842
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

RESULTS_ENV = "COURSE_RESULTS_FILE"


def _plain(value: Any) -> Any:
    """A JSON-friendly number from a NumPy or TensorFlow scalar."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item"):
        value = value.item()
    return value


def record(name: str, value: Any, unit: str = "") -> Any:
    """Print a named figure and, under the benchmark, save it. Returns the value unchanged.

    Example:
        >>> _ = record("epoch_seconds", 4.2, unit="s")
        epoch_seconds = 4.2000 s
    """
    plain = _plain(value)
    shown = f"{plain:.4f}" if isinstance(plain, float) and abs(plain) < 10 else f"{plain}"
    print(f"{name} = {shown}{' ' + unit if unit else ''}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        entry = {"name": name, "value": plain, "unit": unit, "time": time.time()}
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    return value


def read_results(path: str | Path) -> dict[str, Any]:
    """The figures recorded in a results file, the last value for each name."""
    figures: dict[str, Any] = {}
    file = Path(path)
    if not file.exists():
        return figures
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            figures[entry["name"]] = entry["value"]
    return figures
