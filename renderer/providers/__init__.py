"""The registry of providers: the APIs the renderer drives, one package (or module) each.

``route(endpoint)`` finds a route; ``of(route)`` / ``get(name)`` its provider, a
``protocol.Registered`` (every part present: see ``renderer.providers.protocol``);
``price_table(overrides)`` the default prices of every provider with a campaign's
``pricing`` merged in. ``register(provider)`` adds a provider: the campaign schema,
planning, runs and the sandbox then know its routes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from renderer.providers import enhancecraft, samsar
from renderer.providers.defaults import OPTIONAL
from renderer.providers.protocol import BatchRead, Provider, Registered
from renderer.vocabulary import Route

CORE = tuple(m for m in dir(Provider) if not m.startswith("_"))  # what a provider must define
PROVIDERS: dict[str, Registered] = {}
ROUTES: dict[str, Route] = {}
__all__ = ["CORE", "PROVIDERS", "ROUTES", "all_providers", "batch_read", "complete", "example_endpoint", "get", "load_plugins",
           "of", "on_change", "price_table", "provider_of", "register", "route", "unregister"]
_listeners: list[Callable[[], None]] = []  # caches that depend on the registry


def complete(provider: Provider) -> Registered:
    """The provider with its optional parts: those it defines, else the defaults (``defaults.OPTIONAL``)."""
    missing = [m for m in CORE if not hasattr(provider, m)]
    if missing:
        raise ValueError(f"not a provider: it lacks {', '.join(missing)} (see renderer.providers.protocol)")
    parts = {m: getattr(provider, m) for m in CORE}
    parts.update({m: getattr(provider, m, default) for m, default in OPTIONAL.items()})  # the one place
    return Registered(**parts, source=provider)


def register(provider: Provider) -> Registered:
    """Add a provider. It must define the core of the protocol; its name and endpoints must be new."""
    full = complete(provider)
    if full.NAME in PROVIDERS:
        raise ValueError(f"a provider named {full.NAME!r} is registered already")
    taken = [r.endpoint for r in full.ROUTES if r.endpoint in ROUTES]
    if taken:
        raise ValueError(f"endpoints registered already: {', '.join(taken)}")
    wrong = [r.endpoint for r in full.ROUTES if r.provider != full.NAME]
    if wrong:
        raise ValueError(f"routes of another provider: {', '.join(wrong)}")
    PROVIDERS[full.NAME] = full
    ROUTES.update({r.endpoint: r for r in full.ROUTES})
    _changed()
    return full


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
            if any(p.source is provider for p in PROVIDERS.values()):
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


def get(name: str) -> Registered:
    return PROVIDERS[name]


def all_providers() -> tuple[Registered, ...]:
    return tuple(PROVIDERS.values())


def route(endpoint: str) -> Route | None:
    return ROUTES.get(endpoint)


def family(endpoint: str) -> str:
    """An endpoint's pricing family: what learned price factors are kept by (the endpoint
    itself, for a route no provider knows any more)."""
    known = ROUTES.get(endpoint)
    return known.family if known is not None else endpoint


def provider_of(endpoint: str) -> str:
    """The provider of a known endpoint (a loaded campaign names known ones only)."""
    return ROUTES[endpoint].provider


def of(route: Route) -> Registered:
    return PROVIDERS[route.provider]


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
