"""The APIs the renderer drives, one module each, behind one small interface.

``route(endpoint)`` finds a route; ``module(route)`` its provider module (see
``renderer.providers.base`` for what a module offers); ``price_table(overrides)``
the built-in prices with a campaign's ``pricing`` merged in.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from types import ModuleType
from typing import Any, Mapping

from renderer.providers import enhancecraft, samsar
from renderer.providers.base import Route

MODULES: dict[str, ModuleType] = {samsar.NAME: samsar, enhancecraft.NAME: enhancecraft}
ROUTES: dict[str, Route] = {r.endpoint: r for m in MODULES.values() for r in m.ROUTES}


def route(endpoint: str) -> Route | None:
    return ROUTES.get(endpoint)


def provider_of(endpoint: str) -> str:
    """The provider of a known endpoint (a loaded campaign names known ones only)."""
    return ROUTES[endpoint].provider


def module(route: Route) -> ModuleType:
    return MODULES[route.provider]


@lru_cache(maxsize=1)
def _builtin_prices() -> dict[str, Any]:
    return json.loads(resources.files("renderer.providers").joinpath("prices.json").read_text("utf-8"))


def price_table(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Built-in prices, with a campaign's ``pricing`` merged over them key by key."""
    table = copy.deepcopy(_builtin_prices())
    if overrides:
        _merge(table, overrides)
    return table


def _merge(into: dict[str, Any], over: Mapping[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
