"""`renderer cancel FILE`: cancel the pending video renders of a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from renderer import manifest as M
from renderer import providers
from renderer.commands.status import open_journal
from renderer.execute import journal as J
from renderer.execute.cancelled import mark_cancelled
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.journal import Journal
from renderer.execute.settings import ProviderSettings, provider_settings

CANCEL_ROUTE = providers.route("samsar/video/cancel_render")


def cancel(file: str, out: TextIO, env: Mapping[str, str], *, state_dir: str = ".renderer", sandbox: bool = False,
           manifest: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Cancel pending video renders of a run through /video/cancel_render, and mark them
    cancelled in the manifest (``manifest``, default beside the campaign)."""
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
        manifest_path = Path(manifest) if manifest else M.default_path(file)
        if sandbox and not env.get("SAMSAR_BASE_URL"):
            for s in videos:
                journal.finish(s, J.CANCELLED, error="cancelled (sandbox run: its stand-in is gone)")
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            mark_cancelled(manifest_path, videos, "cancelled (sandbox run: its stand-in is gone)")
            return 0
        conf = provider_settings({}, "samsar", env if not sandbox else {**env, "SAMSAR_API_KEY": "sandbox-key"})
        done: list[J.Submission] = []
        code = anyio.run(_cancel_all, journal, conf, videos, out, transport, done)
        mark_cancelled(manifest_path, done, CANCELLED_BY_USER)
        return code
    finally:
        journal.close()


def _is_video(endpoint: str) -> bool:
    route = providers.route(endpoint)
    return route is not None and route.provider == "samsar" and route.creates_session and route.status_path in (
        "/status", "/external_users/status", "/video/status")


CANCELLED_BY_USER = "cancelled by `renderer cancel`; `renderer run --rerun-cancelled` sends it again"


async def _cancel_all(journal: Journal, conf: ProviderSettings, subs: list[J.Submission], out: TextIO,
                      transport: httpx.AsyncBaseTransport | None, done: list[J.Submission]) -> int:
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
                done.append(journal.finish(s, J.CANCELLED, response=answer.payload, error=CANCELLED_BY_USER))
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            else:
                failures += 1
                out.write(f"{'not cancelled':>13}  {s.instance_id}: {answer.error}\n")
    finally:
        await client.aclose()
    return 1 if failures else 0
