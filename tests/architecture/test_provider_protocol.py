"""The provider protocol: a small required core, optional parts with defaults, all of them in the docs' table."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from renderer import providers
from renderer.providers.defaults import OPTIONAL
from renderer.providers.protocol import Registered

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
PARTS = {f.name for f in fields(Registered)} - {"source"}


def _table() -> dict[str, bool]:
    """The docs' protocol table: part -> required."""
    text = DOC.read_text("utf-8")
    section = text[text.index("## The provider protocol"):text.index("## One package per provider")]
    out: dict[str, bool] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 3 and cells[2].strip() in ("yes", "no"):
            for name in re.findall(r"`(\w+)", cells[1]):
                out[name] = cells[2].strip() == "yes"
    return out


def test_every_part_is_the_core_or_an_optional_one_with_a_default() -> None:
    assert set(providers.CORE) | set(OPTIONAL) == PARTS
    assert not set(providers.CORE) & set(OPTIONAL)
    assert len(providers.CORE) == 12  # small: identity, routes and schemas, prices, reading answers


def test_the_docs_table_lists_every_part_and_says_which_are_required() -> None:
    assert _table() == {name: name in providers.CORE for name in PARTS}


def test_the_built_in_providers_are_registered_complete() -> None:
    for p in providers.all_providers():
        assert isinstance(p, Registered) and p.source is not None
        assert p.SANDBOX is not None and p.SANDBOX.routes is not None
    assert providers.get("samsar").BALANCE is not None and providers.get("enhancecraft").BALANCE is None
    assert providers.get("enhancecraft").rate_tier({"tier": "business"}, providers.price_table()).requests_per_month \
        == 200_000
