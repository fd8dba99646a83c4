"""`ruff check` and `mypy` pass on the code (configured in pyproject.toml), so CI enforces both."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]' brings it)")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing() -> None:
    r = _tool("ruff", "check", "--output-format", "concise", "renderer", "tests")
    assert r.returncode == 0, f"ruff check renderer tests:\n{r.stdout}{r.stderr}"


def test_mypy_finds_nothing() -> None:
    r = _tool("mypy")  # files, strictness and overrides: [tool.mypy] in pyproject.toml
    assert r.returncode == 0, f"mypy renderer:\n{r.stdout}{r.stderr}"
