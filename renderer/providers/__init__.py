"""The registry of providers: the APIs the renderer drives, one module each.

``route(endpoint)`` finds a route; ``of(route)`` / ``get(name)`` its provider (see
``renderer.providers.protocol.Provider`` for what one offers); ``price_table(overrides)``
the default prices of every provider with a campaign's ``pricing`` merged in.
``register(provider)`` adds a provider: the campaign schema, planning, runs and
the sandbox then know its routes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from renderer.providers import enhancecraft, samsar
from renderer.providers.base import Route
from renderer.providers.base import builtin_prices as _builtin_prices
from renderer.providers.protocol import BatchRead, Provider

_MEMBERS = tuple(m for m in dir(Provider) if not m.startswith("_"))
PROVIDERS: dict[str, Provider] = {}
ROUTES: dict[str, Route] = {}
MODULES = PROVIDERS  # the older name
__all__ = ["PROVIDERS", "ROUTES", "Provider", "_builtin_prices", "all_providers", "batch_read", "example_endpoint",
           "get", "load_plugins", "of", "on_change", "price_table", "provider_of", "register", "route", "unregister"]
_listeners: list[Callable[[], None]] = []  # caches that depend on the registry


def register(provider: Provider) -> None:
    """Add a provider. It must have every part of the protocol; its name and endpoints must be new."""
    missing = [m for m in _MEMBERS if not hasattr(provider, m)]
    if missing:
        raise ValueError(f"not a provider: it lacks {', '.join(missing)} (see renderer.providers.protocol)")
    if provider.NAME in PROVIDERS:
        raise ValueError(f"a provider named {provider.NAME!r} is registered already")
    taken = [r.endpoint for r in provider.ROUTES if r.endpoint in ROUTES]
    if taken:
        raise ValueError(f"endpoints registered already: {', '.join(taken)}")
    wrong = [r.endpoint for r in provider.ROUTES if r.provider != provider.NAME]
    if wrong:
        raise ValueError(f"routes of another provider: {', '.join(wrong)}")
    PROVIDERS[provider.NAME] = provider
    ROUTES.update({r.endpoint: r for r in provider.ROUTES})
    _changed()


PLUGINS_ENV = "RENDERER_PROVIDERS"  # comma-separated modules, each a provider to register


def load_plugins(names: str | None) -> list[str]:
    """Import and register provider modules named like ``RENDERER_PROVIDERS=pkg.toy,pkg.other``.

    A module that fails to import, or that register() refuses, is a ConfigError naming
    it: a broken plugin must not look like a bug of ours. Registered ones are skipped.
    """
    import importlib

    from renderer.errors import ConfigError

    loaded: list[str] = []
    for name in (n.strip() for n in (names or "").split(",")):
        if not name:
            continue
        try:
            provider = importlib.import_module(name)
            if getattr(provider, "NAME", None) in PROVIDERS and PROVIDERS[provider.NAME] is provider:
                continue
            register(provider)
        except Exception as exc:  # its import, or register() refusing it
            raise ConfigError(f"{PLUGINS_ENV}: provider module {name!r} could not be registered: {exc}") from None
        loaded.append(name)
    return loaded


def unregister(name: str) -> None:
    """Remove a provider (tests that register a toy one clean up with this)."""
    provider = PROVIDERS.pop(name)
    for r in provider.ROUTES:
        ROUTES.pop(r.endpoint, None)
    _changed()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a provider is registered or removed (cache invalidation)."""
    _listeners.append(listener)


def _changed() -> None:
    _default_prices.cache_clear()
    for listener in _listeners:
        listener()


def get(name: str) -> Provider:
    return PROVIDERS[name]


def all_providers() -> tuple[Provider, ...]:
    return tuple(PROVIDERS.values())


def route(endpoint: str) -> Route | None:
    return ROUTES.get(endpoint)


def provider_of(endpoint: str) -> str:
    """The provider of a known endpoint (a loaded campaign names known ones only)."""
    return ROUTES[endpoint].provider


def of(route: Route) -> Provider:
    return PROVIDERS[route.provider]


module = of  # the older name


def example_endpoint() -> str:
    """An endpoint to quote in messages: the first route of the first provider."""
    return next(iter(ROUTES))


def batch_read(route: Route) -> BatchRead | None:
    """The list read that answers for this route's jobs, if its provider has one."""
    return next((b for b in of(route).BATCH_READS if b.applies(route)), None)


@lru_cache(maxsize=1)
def _default_prices() -> dict[str, Any]:
    table: dict[str, Any] = {}
    for p in PROVIDERS.values():
        table.update(copy.deepcopy(dict(p.default_prices())))
    return table


def price_table(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Default prices of every provider, with a campaign's ``pricing`` merged over them key by key."""
    table = copy.deepcopy(_default_prices())
    if overrides:
        _merge(table, overrides)
    return table


def _merge(into: dict[str, Any], over: Mapping[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


register(samsar)
register(enhancecraft)
