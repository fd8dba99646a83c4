"""Fixtures: real sandboxes on loopback ports, and httpx clients pointed at them."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Callable, Iterator

import httpx
import pytest

from renderer.sandbox import ManualClock, Sandbox, SandboxConfig, running_sandbox_sync
from helpers.sandbox_requests import KEY


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """make_sandbox(**SandboxConfig fields) -> a running sandbox, stopped at teardown."""
    with ExitStack() as stack:

        def make(**fields: Any) -> Sandbox:
            fields.setdefault("render_seconds", 0)
            return stack.enter_context(running_sandbox_sync(SandboxConfig(**fields)))

        yield make


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def clients() -> Iterator[Callable[..., httpx.Client]]:
    """clients(base_url, key=KEY) -> an httpx.Client with that bearer key (None: no header)."""
    with ExitStack() as stack:

        def make(base_url: str, key: str | None = KEY, **kw: Any) -> httpx.Client:
            headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
            return stack.enter_context(httpx.Client(base_url=base_url, headers=headers, timeout=10, **kw))

        yield make


@pytest.fixture
def samsar(sandbox: Sandbox, clients: Callable[..., httpx.Client]) -> httpx.Client:
    return clients(sandbox.base_urls["samsar"])

