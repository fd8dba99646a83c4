"""The Scheduler as a coordinator, driven directly (no CLI, no driver) over httpx.MockTransport:
dependents start once their upstream settles, an aborted run leaves what never started
``not_submitted`` with the run's cause (no verdict of its own), and the surface the driver and
the commands read (counts, credits, notes, on_done) follows the jobs."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx

from helpers.runs import FAST, write_campaign
from renderer.campaign.campaign import load_campaign
from renderer.execute.client import ProviderClient
from renderer.execute.sqlitestore import SqliteJournal
from renderer.execute.scheduler import JobState, Scheduler
from renderer.execute.settings import all_provider_settings
from renderer.plan.planner import build_plan

ENV = {"SAMSAR_API_KEY": "sk_live_MOCK_9a8b7c", "SAMSAR_BASE_URL": "https://api.mock/v1"}
CAMPAIGN = """
version: 1
name: sched
providers:
  samsar: {idempotent_keys: true}
jobs:
  clip:
    endpoint: samsar/video/text_to_video
    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  translated:
    endpoint: samsar/video/translate_video
    needs: [clip]
    matrix: {language: [es, fr]}
    input: {videoSessionId: "{{ needs.clip.session_id }}", language: "{{ matrix.language }}"}
"""


def scheduler(tmp_path: Path, handler: httpx.AsyncBaseTransport) -> tuple[Scheduler, SqliteJournal]:
    campaign = load_campaign(write_campaign(tmp_path, CAMPAIGN))
    plan, _ = build_plan(campaign)
    conf = all_provider_settings(campaign.providers, ["samsar"], ENV, price_table=plan.price_table)
    clients = {"samsar": ProviderClient(conf["samsar"], FAST.timeouts, transport=handler)}
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    return Scheduler(plan, journal, clients, FAST, campaign_folder=tmp_path), journal


class Studio:
    """Accepts every POST and completes every status read; ``hold`` keeps POSTs on the wire."""

    def __init__(self, hold: bool = False) -> None:
        self.hold = hold
        self.posted: anyio.Event | None = None
        self.posts: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append(request.url.path)
            if self.hold:
                assert self.posted is not None
                self.posted.set()
                await anyio.sleep_forever()
            rid = f"vid_{len(self.posts)}"
            return httpx.Response(200, json={"request_id": rid, "session_id": rid}, headers={"x-credits-charged": "150"})
        rid = request.url.params.get("request_id")
        return httpx.Response(200, json={"request_id": rid, "session_id": rid, "status": "COMPLETED",
                                         "result_url": f"https://cdn/{rid}.mp4"})


def test_dependents_run_once_their_upstream_completes(tmp_path: Path) -> None:
    studio = Studio()
    sched, journal = scheduler(tmp_path, httpx.MockTransport(studio))
    told: list[tuple[str, str]] = []

    def on_done(st: JobState) -> None:
        told.append((st.inst.id, st.status))

    sched.on_done = on_done
    assert sched.counts() == {"waiting": 3}
    anyio.run(sched.run)
    journal.close()
    assert studio.posts == ["/v1/video/text_to_video", "/v1/video/translate_video", "/v1/video/translate_video"]
    assert sched.counts() == {"completed": 3}
    assert told[0] == ("clip", "completed") and sorted(told[1:]) == [
        ("translated[language=es]", "completed"), ("translated[language=fr]", "completed")]
    assert sched.budget.spent() - sched.spent_before == 450 and sched.notes == [] and not sched.timed_out
    assert {st.sub.request_id for st in sched.jobs.values() if st.sub} == {"vid_1", "vid_2", "vid_3"}


def test_an_aborted_run_leaves_what_never_started_not_submitted(tmp_path: Path) -> None:
    """Second Ctrl-C while the upstream's POST is on the wire: the POST stays unknown (the next run
    settles it), its dependents never start and say why the run ended, with no verdict of theirs."""
    studio = Studio(hold=True)
    sched, journal = scheduler(tmp_path, httpx.MockTransport(studio))

    async def main() -> None:
        studio.posted = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(sched.run)
            await studio.posted.wait()
            sched.interrupt()
            sched.abort()

    anyio.run(main)
    jobs = sched.jobs
    assert studio.posts == ["/v1/video/text_to_video"]
    assert (jobs["clip"].status, jobs["clip"].error) == (
        "unknown", "sent, and no answer came before the run stopped (interrupted); the next run settles it")
    for iid in ("translated[language=es]", "translated[language=fr]"):
        assert (jobs[iid].status, jobs[iid].error) == ("not_submitted", "interrupted") and jobs[iid].done.is_set()
    assert journal.verdicts() == {}
    assert sched.counts() == {"unknown": 1, "not_submitted": 2} and sched.halt_cause == "interrupted"
    journal.close()
