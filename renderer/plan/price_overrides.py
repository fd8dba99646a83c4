"""A campaign's `pricing:` set below a documented price: a located warning.

Overrides exist for prices the docs do not publish (a provider's unpriced operations)
and for prices that moved. One below the documented price makes every plan look cheaper than
the API will be: the run still holds the budget (it learns the real charge from the
first answer), but the reviewed plan was wrong. ``validate`` and ``plan`` say so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from renderer import providers
from renderer.errors import CampaignWarning
from renderer.campaign.campaign import Campaign


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _leaves(inner, path + (str(key),))
    else:
        yield path, value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def below_documented(campaign: Campaign) -> list[CampaignWarning]:
    builtin = providers.price_table()
    warnings = []
    for path, value in _leaves(campaign.pricing or {}):
        documented: Any = builtin
        for key in path:
            documented = documented.get(key) if isinstance(documented, Mapping) else None
        if not (_number(value) and _number(documented)) or value >= documented:
            continue
        section = builtin.get(path[0]) if path else None
        dated = f" (docs of {section['as_of']})" if isinstance(section, Mapping) and section.get("as_of") else ""
        warnings.append(CampaignWarning(
            f"pricing.{'.'.join(path)} is {value:g}, below the documented {documented:g}{dated}: the plan will "
            "under-estimate what the API charges; the run holds the budget against the real charges",
            campaign.loc("pricing", *path)))
    return warnings
