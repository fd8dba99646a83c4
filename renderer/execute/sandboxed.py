"""`run --sandbox`: start the local stand-in for the run and say where each provider is."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from renderer import providers
from renderer.errors import ConfigError, Location, UserError, CampaignWarning
from renderer.execute.settings import ExecSettings
from renderer.sandbox.config import SandboxConfig, config_for_campaign
from renderer.sandbox.server import running_sandbox_sync
from renderer.campaign.campaign import Campaign

if TYPE_CHECKING:
    from renderer.results.runhooks import RunDownloads


@contextlib.contextmanager
def sandbox_urls(campaign: Campaign, xs: ExecSettings, config: SandboxConfig | None = None, *,
                 state_dir: str | Path | None = None, credits: int | None = None,
                 warnings: list[UserError] | None = None,
                 downloads: RunDownloads | None = None) -> Iterator[Mapping[str, str]]:
    """A sandbox on loopback for the run's duration; yields the base URL of each provider.

    With ``state_dir`` it keeps its sessions, balances, ids and the origins it served its
    result files from in ``<state_dir>/sandbox/`` between runs, as the real API keeps them.
    Result files an earlier sandbox of the same state handed out (on a port long closed)
    are fetched from this one (``downloads``): it serves them again.

    ``credits`` (``--sandbox-credits``) is the starting balance; once the state holds its
    account's balance the flag cannot take effect, and ``warnings`` gets a warning that says so.
    """
    if config is None:
        config = config_for_campaign(campaign.providers, campaign.pricing, xs.sandbox_render_seconds)
        config = dataclasses.replace(config, state_dir=Path(state_dir) / "sandbox" if state_dir is not None else None,
                                     credits=credits if credits is not None else config.credits)
    missing = sorted({providers.of(j.route).TITLE for j in campaign.jobs.values() if providers.of(j.route).SANDBOX is None})
    if missing:
        raise ConfigError(f"--sandbox: {', '.join(missing)} has no stand-in in the sandbox (its provider sets no SANDBOX)")
    with running_sandbox_sync(config) as sb:
        if credits is not None and sb.state.balances and warnings is not None:
            left = ", ".join(f"{p} {v:,}" for (p, _), v in sorted(sb.state.balances.items()))
            warnings.append(CampaignWarning(
                f"--sandbox-credits {credits:,} cannot take effect: the sandbox kept here already holds its account's "
                f"balance ({left} credits left); remove this folder to start the sandbox afresh with {credits:,}",
                Location(str(config.state_dir))))
        if downloads is not None:
            downloads.reroute(sb.state.origins - {sb.base_url}, sb.base_url)
            sb.state.served_from(sb.base_url)  # the files fetched now name it: a later run reroutes it too
        yield sb.base_urls
