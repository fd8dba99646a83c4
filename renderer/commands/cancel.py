"""`renderer cancel FILE`: cancel the pending video renders of a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from renderer import providers
from renderer.commands.status import open_journal
from renderer.execute import journal as J
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.journal import Journal
from renderer.execute.settings import ProviderSettings, provider_settings
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.server import running_sandbox_sync

CANCEL_ROUTE = providers.route("samsar/video/cancel_render")


def cancel(file: str, out: TextIO, env: Mapping[str, str], *, state_dir: str = ".renderer", sandbox: bool = False,
           transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Cancel pending video renders of a run through /video/cancel_render."""
    journal = open_journal(file, state_dir)
    try:
        pending = [s for s in journal.latest_per_instance() if s.state == J.ACCEPTED]
        videos = [s for s in pending if _is_video(s.endpoint)]
        others = [s for s in pending if not _is_video(s.endpoint)]
        for s in others:
            out.write(f"{'pending':>13}  {s.instance_id}: {s.endpoint} renders cannot be cancelled\n")
        if not videos:
            out.write("no pending video renders to cancel\n")
            return 0
        if sandbox and not env.get("SAMSAR_BASE_URL"):  # the stand-in `run --sandbox` used, from its saved state
            with running_sandbox_sync(SandboxConfig(state_dir=Path(state_dir) / "sandbox")) as sb:
                conf = provider_settings({}, "samsar", env, sandbox_url=sb.samsar_base_url)
                return anyio.run(_cancel_all, journal, conf, videos, out, transport)
        conf = provider_settings({}, "samsar", env if not sandbox else {**env, "SAMSAR_API_KEY": "sandbox-key"})
        return anyio.run(_cancel_all, journal, conf, videos, out, transport)
    finally:
        journal.close()


def _is_video(endpoint: str) -> bool:
    route = providers.route(endpoint)
    return route is not None and route.provider == "samsar" and route.creates_session and route.status_path in (
        "/status", "/external_users/status", "/video/status")


async def _cancel_all(journal: Journal, conf: ProviderSettings, subs: list[J.Submission], out: TextIO,
                      transport: httpx.AsyncBaseTransport | None) -> int:
    client = ProviderClient(conf, transport=transport)
    failures = 0
    assert CANCEL_ROUTE is not None
    try:
        url = route_url(client.base_url, CANCEL_ROUTE)
        for s in subs:
            body = {"input": {"videoSessionId": s.session_id or s.request_id}}
            answer = await client.send("POST", url, json_body=body,
                                       headers={"Idempotency-Key": f"renderer-cancel-{s.session_id or s.request_id}"},
                                       label="cancel")
            if answer.ok:
                journal.finish(s, J.CANCELLED, response=answer.payload, error="cancelled by `renderer cancel`")
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            else:
                failures += 1
                out.write(f"{'not cancelled':>13}  {s.instance_id}: {answer.error}\n")
    finally:
        await client.aclose()
    return 1 if failures else 0
