"""`run --sandbox`: start the local stand-in for the run and say where each provider is."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

from renderer import providers
from renderer.errors import ConfigError
from renderer.execute.settings import ExecSettings
from renderer.sandbox.config import SandboxConfig, config_for_campaign
from renderer.sandbox.server import running_sandbox_sync
from renderer.campaign.campaign import Campaign


@contextlib.contextmanager
def sandbox_urls(campaign: Campaign, xs: ExecSettings, config: SandboxConfig | None = None, *,
                 state_dir: str | Path | None = None, credits: int | None = None) -> Iterator[Mapping[str, str]]:
    """A sandbox on loopback for the run's duration; yields the base URL of each provider.

    With ``state_dir`` it keeps its sessions, balances and ids in ``<state_dir>/sandbox/``
    between runs, as the real API keeps them.
    """
    if config is None:
        config = config_for_campaign(campaign.providers, campaign.pricing, xs.sandbox_render_seconds)
        config = dataclasses.replace(config, state_dir=Path(state_dir) / "sandbox" if state_dir is not None else None,
                                     credits=credits if credits is not None else config.credits)
    missing = sorted({providers.of(j.route).TITLE for j in campaign.jobs.values() if providers.of(j.route).SANDBOX is None})
    if missing:
        raise ConfigError(f"--sandbox: {', '.join(missing)} has no stand-in in the sandbox (its provider sets no SANDBOX)")
    with running_sandbox_sync(config) as sb:
        yield sb.base_urls
