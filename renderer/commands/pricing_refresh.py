"""`renderer pricing refresh`: compare the built-in prices with what each API says now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from renderer import providers


def pricing_refresh(out: TextIO, env: Mapping[str, str]) -> int:
    """Every provider that can refresh its prices compares them. Exit 0 all match, 1 on drift."""
    code = 0
    for provider in providers.all_providers():
        if provider.PRICE_REFRESH is not None:
            code = max(code, provider.PRICE_REFRESH(out, env))
    return code
