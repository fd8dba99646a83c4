"""Campaign files for a test: the contract's example, and a fixture that writes one under tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

SPRING = (Path(__file__).resolve().parents[1] / "data" / "contract-example.yaml").read_text()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(text, name='campaign.yaml') -> the path of a dedented file under tmp_path."""

    def _write(text: str, name: str = "campaign.yaml") -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return _write
