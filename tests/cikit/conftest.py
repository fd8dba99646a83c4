"""Fixtures of the CI kit tests: a working copy of the example campaigns, the CLI in-process."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pytest

from renderer.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
    """`renderer ARGV` in this process, with only the environment given."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env=dict(env or {}))
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory holding a copy of campaigns/, made the cwd."""
    shutil.copytree(ROOT / "campaigns", tmp_path / "campaigns",
                    ignore=shutil.ignore_patterns("*.manifest.json"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
