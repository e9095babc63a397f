"""The conda route (environment.yml) and the pip route (pyproject.toml) install the same things."""

from __future__ import annotations

import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import pytest

    tomllib = pytest.importorskip("tomli")

import yaml
from packaging.specifiers import SpecifierSet

from helpers import REPO


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _environment():
    return yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))


def _pip_section(env) -> list[str]:
    for item in env["dependencies"]:
        if isinstance(item, dict) and "pip" in item:
            return item["pip"]
    raise AssertionError("environment.yml has no pip: section")


def test_same_python_packages():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    wanted = set(project["dependencies"]) | set(extras["grading"]) | set(extras["test"])
    pip = _pip_section(_environment())
    assert "-e ." in pip, "environment.yml must install the course package itself (-e .)"
    listed = {line for line in pip if line != "-e ."}
    assert listed == wanted, (
        "environment.yml and pyproject.toml disagree.\n"
        f"  only in pyproject.toml: {sorted(wanted - listed)}\n"
        f"  only in environment.yml: {sorted(listed - wanted)}"
    )


def test_learners_do_not_install_the_grading_cluster():
    """`make lab` installs the core dependencies only: no Dask, no PostgreSQL driver."""
    core = " ".join(_pyproject()["project"]["dependencies"])
    assert "dask" not in core and "psycopg" not in core


def test_conda_python_is_supported():
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    pythons = [
        d for d in _environment()["dependencies"] if isinstance(d, str) and d.startswith("python=")
    ]
    assert pythons, "environment.yml must pin a Python version"
    version = pythons[0].split("=", 1)[1]
    assert requires.contains(version + ".0"), (
        f"python={version} is outside requires-python {requires}"
    )


def test_running_python_is_supported():
    version = ".".join(map(str, sys.version_info[:3]))
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(version)
