"""Running nbgrader's commands from the grading code: one way, with a timeout, no secrets shown.

nbgrader runs ``alembic`` from ``PATH`` when it opens the gradebook, so commands run
with this Python's ``bin`` folder first on ``PATH``. A gradebook URL (which may hold a
PostgreSQL password) goes to nbgrader in the environment, as ``COURSE_DB_URL``, which
the course's ``nbgrader_config.py`` reads: never on a command line, where ``ps`` shows
it to every user of the machine.

Example:
    >>> env = nbgrader_env()
    >>> env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    True
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course_utils.config import PROFILE_ENV

DB_URL_ENV = "COURSE_DB_URL"  # read by nbgrader_config.py: the gradebook for this command


def bin_first_on_path(path: str) -> str:
    """``path`` (a ``PATH`` value) with this Python's ``bin`` folder first, once.

    Example:
        >>> once = bin_first_on_path("/usr/bin")
        >>> once.endswith(os.pathsep + "/usr/bin"), bin_first_on_path(once) == once
        (True, True)
    """
    first = str(Path(sys.executable).parent)
    rest = [part for part in path.split(os.pathsep) if part and part != first]
    return os.pathsep.join([first, *rest])


def nbgrader_env(**overrides: str) -> dict[str, str]:
    """The environment for nbgrader and Jupyter commands: this Python's ``bin`` folder first on ``PATH``.

    nbgrader runs ``alembic`` from ``PATH`` when it opens the gradebook, and
    notebooks run ``jupyter``. ``COURSE_PROFILE`` is left out (the grading
    configuration picks the fast profile) unless ``overrides`` sets it.
    """
    env = dict(os.environ)
    env["PATH"] = bin_first_on_path(env.get("PATH", ""))
    env.pop(PROFILE_ENV, None)
    env.update(overrides)
    return env


def run_nbgrader(
    args: list[str],
    cwd: Path,
    timeout: float = 1200,
    env: dict[str, str] | None = None,
    db_url: str | None = None,
) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in ``cwd`` (at most ``timeout`` seconds), with the gradebook
    ``db_url`` if given (in the environment); the result keeps stdout and stderr as text."""
    env = dict(env or nbgrader_env())
    if db_url:
        env[DB_URL_ENV] = db_url
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
