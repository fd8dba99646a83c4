"""`renderer cancel FILE`: cancel the pending renders of a run, where the API can.

A provider that can cancel says so (``Provider.CANCEL``): the route to call, which
of its routes' renders it cancels, and the body for one session.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from renderer import targets as T
from renderer.campaign.campaign import load_campaign
from renderer import providers
from renderer.execute import records as J
from renderer.execute import statedir
from renderer.execute.cancelled import mark_cancelled
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.store import JournalStore
from renderer.execute.scrub import Scrubber, keep_fields
from renderer.execute.stores import open_earlier_store
from renderer.manifest import default_path as default_manifest_path
from renderer.execute.settings import ProviderSettings, provider_settings
from renderer.providers.protocol import Cancel, Provider
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.server import running_sandbox_sync


def cancel(file: str, out: TextIO, env: Mapping[str, str], *, state_dir: str | None = None, sandbox: bool = False,
           manifest: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Cancel pending renders of a run through each provider's cancel route, and mark them
    cancelled in the manifest (``manifest``, default beside the campaign): later runs do
    not send them again unless asked (``run --rerun-cancelled``).

    It reads the journal of the target the environment names (each provider's base URL),
    or with ``sandbox`` the rehearsal's, and cancels there only: one target's renders are
    never sent to another."""
    campaign = load_campaign(file)
    state_dir = statedir.resolve(state_dir, file, campaign.name, sandbox)
    journal = open_earlier_store(file, state_dir, env, sandbox)
    try:
        pending = [s for s in journal.latest_per_instance() if s.state in (J.ACCEPTED, J.AWAITING)]
        for s in pending:
            if _canceller(s.endpoint) is None:
                out.write(f"{'pending':>13}  {s.instance_id}: {s.endpoint} renders cannot be cancelled{_why_not(s.endpoint)}\n")
        failures = 0
        done: list[J.Submission] = []
        for provider in providers.all_providers():
            if provider.CANCEL is None:
                continue
            subs = [s for s in pending if _canceller(s.endpoint) is provider]
            failures += _cancel_provider(provider, provider.CANCEL, subs, journal, out, env,
                                         Path(state_dir) / "sandbox" if sandbox else None, transport, done)
        targets = T.for_campaign(campaign, env, sandbox)
        mark_cancelled(Path(manifest) if manifest else default_manifest_path(file, sandbox), done, targets)
        return 1 if failures else 0
    finally:
        journal.close()


def _why_not(endpoint: str) -> str:
    route = providers.route(endpoint)
    how = providers.of(route).CANCEL if route is not None else None
    reason = how.why_not(route) if how is not None and route is not None else None
    return f" ({reason})" if reason else ""


def _canceller(endpoint: str) -> Provider | None:
    route = providers.route(endpoint)
    if route is None:
        return None
    provider = providers.of(route)
    return provider if provider.CANCEL is not None and provider.CANCEL.applies(route) else None


def _cancel_provider(provider: Provider, how: Cancel, subs: list[J.Submission], journal: JournalStore, out: TextIO,
                     env: Mapping[str, str], sandbox_state: Path | None,
                     transport: httpx.AsyncBaseTransport | None, done: list[J.Submission]) -> int:
    """Cancel one provider's renders; the number that could not be cancelled.

    ``sandbox_state``: the run used `--sandbox`; its stand-in is started again from the
    state it kept, and cancels the renders as the API would.
    """
    if not subs:
        out.write(f"no pending {how.noun} to cancel\n")
        return 0
    if sandbox_state is not None:  # its stand-in, whatever the environment names: never another target
        with running_sandbox_sync(SandboxConfig(state_dir=sandbox_state)) as sb:
            conf = provider_settings({}, provider.NAME, env, sandbox_url=sb.base_urls[provider.NAME])
            stand_in: int = anyio.run(_cancel_all, journal, conf, how, subs, out, env, transport, done)
            return stand_in
    conf = provider_settings({}, provider.NAME, env)
    failures: int = anyio.run(_cancel_all, journal, conf, how, subs, out, env, transport, done)
    return failures


CANCELLED_BY_USER = "cancelled by `renderer cancel`; `renderer run --rerun-cancelled` sends it again"


async def _cancel_all(journal: JournalStore, conf: ProviderSettings, how: Cancel, subs: list[J.Submission], out: TextIO,
                      env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None,
                      done: list[J.Submission]) -> int:
    # every key of the environment, not only this provider's: an API may echo any of them
    client = ProviderClient(conf, transport=transport, scrubber=Scrubber.from_env(env))
    failures = 0
    try:
        url = route_url(client.base_url, how.route)
        for s in subs:
            sid = s.session_id or s.request_id or ""
            answer = await client.send("POST", url, json_body=how.body(sid),
                                       headers={"Idempotency-Key": f"renderer-cancel-{sid}"}, label="cancel")
            if answer.ok:
                done.append(journal.finish(s, J.CANCELLED, response=keep_fields(conf.name, answer.payload),
                                           error=CANCELLED_BY_USER))
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            else:
                failures += 1
                out.write(f"{'not cancelled':>13}  {s.instance_id}: {answer.error}\n")
    finally:
        await client.aclose()
    return failures
