"""`renderer pricing refresh`: compare the built-in prices with what the API says now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from renderer import pricing_refresh as _refresh


def pricing_refresh(out: TextIO, env: Mapping[str, str]) -> int:
    """Exit 0 when the prices match, 1 when anything drifted."""
    return _refresh.refresh(out, env)
