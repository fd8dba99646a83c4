"""A run's cost per event does not grow with the number of jobs (issue 28): each test counts
the work one event does (jobs looked at, entries rebuilt, imports tried) at a size where a scan
of every job would show, never the time it takes."""

from __future__ import annotations

import importlib.abc
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from helpers.runs import FAST, write_campaign
from renderer.campaign.campaign import load_campaign
from renderer.execute import driver
from renderer.execute import manifest_from_run as run_manifest
from renderer.execute.client import ProviderClient
from renderer.execute.context import RunOptions
from renderer.execute.records import intent
from renderer.execute.sqlitestore import SqliteJournal as Journal
from renderer.execute.scheduler import Scheduler
from renderer.execute.settings import all_provider_settings
from renderer.manifest import ExactSum
from renderer.plan.planner import build_plan
from renderer.vocabulary import JobStatus, SubmissionState

N = 2_000
ENV = {"SAMSAR_API_KEY": "sk_live_MOCK_9a8b7c", "SAMSAR_BASE_URL": "https://api.mock/v1"}
CAMPAIGN = f"""
version: 1
name: many
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix: {{i: {list(range(N))}}}
    input: {{image_url: "https://cdn.example.com/{{{{ matrix.i }}}}.png", resolution: 2k}}
"""


class Watched(dict):
    """The scheduler's jobs, counting every walk over all of them."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        Watched.walks += 1
        return super().__iter__()

    def values(self):  # type: ignore[no-untyped-def]
        Watched.walks += 1
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        Watched.walks += 1
        return super().items()


@pytest.fixture
def sched(tmp_path: Path) -> Any:
    campaign = load_campaign(write_campaign(tmp_path, CAMPAIGN))
    plan, _ = build_plan(campaign)
    conf = all_provider_settings(campaign.providers, ["samsar"], ENV, price_table=plan.price_table)
    clients = {"samsar": ProviderClient(conf["samsar"], FAST.timeouts,
                                        transport=httpx.MockTransport(lambda r: httpx.Response(500)))}
    journal = Journal(tmp_path / "journal.sqlite")
    s = Scheduler(plan, journal, clients, FAST, campaign_folder=tmp_path)
    s.jobs = Watched(s.jobs)
    s.campaign = campaign
    try:
        yield s
    finally:
        journal.close()


def _sub(st: Any, n: int, state: str, charged: float | None) -> Any:
    sub = intent(n, "2026-01-01T00:00:00.000Z", instance_id=st.inst.id, endpoint=st.inst.endpoint, provider="samsar",
                 input_sha256=st.inst.input_sha256, generation=1, idempotency_key=f"k{n}", body_json="{}",
                 estimate=(50.0, 50.0))
    return replace(sub, state=state, credits_charged=charged)


def test_the_progress_line_reads_no_job(sched: Any) -> None:
    """Progress is drawn every second: its figures come from the tally and the budget's running
    sums, not a walk over every job (the quadratic version counted the selected jobs, and summed
    charges and unreported estimates, over all jobs at every tick)."""
    jobs = list(dict.values(sched.jobs))
    jobs[0].sub = _sub(jobs[0], 1, SubmissionState.COMPLETED, 60.0)
    jobs[0].status = JobStatus.COMPLETED
    Watched.walks = 0
    snap = driver._snapshot(sched, RunOptions())
    assert Watched.walks == 0
    assert (snap.total, snap.counts) == (N, {"waiting": N - 1, "completed": 1})


def test_a_checkpoint_rebuilds_only_what_changed_and_walks_no_job(sched: Any) -> None:
    """Each checkpoint builds the entries of the jobs that changed, keeps the totals as they move
    and reads no other job; its text is the whole manifest's all the same."""
    snaps = run_manifest.Snapshots(sched.campaign, None, lambda v: v)
    sched.changed.update(dict.keys(sched.jobs))
    first = snaps.text(sched)
    assert snaps.rebuilt == N
    jobs = list(dict.values(sched.jobs))
    jobs[5].sub = _sub(jobs[5], 1, SubmissionState.COMPLETED, 60.0)
    sched.journal.get = lambda sid: jobs[5].sub  # the journal's word on it (a unit test writes none)
    jobs[7].error = "held back"
    Watched.walks = 0
    again = snaps.text(sched)
    assert Watched.walks == 0 and snaps.rebuilt == N + 2
    whole = json.loads(again)
    assert whole == run_manifest.build_manifest(sched, sched.campaign, None).to_json()
    assert whole["credits"]["charged"] == 60 and whole["counts"] == {"completed": 1, "not_submitted": N - 1}
    assert json.loads(first)["credits"]["charged"] == 0


def test_exact_sums_come_back_to_zero() -> None:
    total = ExactSum()
    for x in (0.1, 0.2, 0.7, float("inf")):
        total.add(x)
    assert total.value() == float("inf")
    for x in (0.1, 0.2, 0.7, float("inf")):
        total.add(x, -1)
    assert total.value() == 0.0


def test_a_request_tries_no_import() -> None:
    """httpcore imports sniffio on every request: absent, each try walked sys.path. Once the
    client is imported, that import answers from sys.modules."""
    import renderer.execute.client  # noqa: F401
    from httpcore._synchronization import current_async_library

    tried: list[str] = []

    class Counting(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
            tried.append(name)
            return None

    async def requests() -> None:
        sys.meta_path.insert(0, Counting())
        try:
            for _ in range(100):
                assert current_async_library() == "asyncio"
        finally:
            sys.meta_path.pop(0)

    anyio.run(requests)
    assert tried == []


def test_jobs_start_as_there_is_room(tmp_path: Path) -> None:
    """A run does not hold a waiting task per job: while POSTs are unanswered, at most AHEAD x the
    provider's concurrency jobs have started (the quadratic-memory version started all 2,000)."""
    from renderer.execute.scheduler import AHEAD

    posted = anyio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        posted.set()
        await anyio.sleep_forever()
        raise AssertionError

    campaign = load_campaign(write_campaign(tmp_path, CAMPAIGN))
    plan, _ = build_plan(campaign)
    conf = all_provider_settings(campaign.providers, ["samsar"], ENV, price_table=plan.price_table)
    clients = {"samsar": ProviderClient(conf["samsar"], FAST.timeouts, transport=httpx.MockTransport(hold))}
    journal = Journal(tmp_path / "journal.sqlite")
    s = Scheduler(plan, journal, clients, FAST, campaign_folder=tmp_path)
    started: list[str] = []
    real = s.runner.run

    async def counted(st: Any) -> None:
        started.append(st.inst.id)
        await real(st)

    s.runner.run = counted  # type: ignore[method-assign]

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(s.run)
            await posted.wait()
            for _ in range(200):
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()

    try:
        anyio.run(main)
    finally:
        journal.close()
    assert len(started) == AHEAD * conf["samsar"].concurrency
    assert started == [st.inst.id for st in list(s.jobs.values())[:len(started)]]  # in plan order


def test_the_last_manifest_is_scrubbed_an_entry_at_a_time() -> None:
    """The same as scrubbing the whole document, without holding two copies of every entry."""
    from renderer.execute.scrub import Scrubber

    key = "sk_live_ABCDEFGHIJKL"
    scrub = Scrubber(keys=[key]).value
    doc = {"campaign": "c", "campaign_sha256": "s", "renderer_version": "v", "credits": {"spent": 1},
           "jobs": {"a": {"error": f"echo {key}", "response": {"token": "x", "deep": [[{"n": 1}]]}},
                    "token": {"status": "completed"}, f"b{key}": {"status": "failed"}},
           "counts": {"completed": 1}}
    whole = scrub(json.loads(json.dumps(doc)))
    piecewise = run_manifest.scrubbed(doc, scrub)
    assert piecewise == whole and list(piecewise) == list(whole)
    assert doc["jobs"] == {}  # each entry left as its copy was made


def test_a_checkpoint_is_written_in_pieces(sched: Any, tmp_path: Path) -> None:
    """The checkpoint's text is never joined whole (a 100,000-job manifest is ~140 MB): one piece
    per entry and its separator, written in turn."""
    from renderer.atomic import write_text

    snaps = run_manifest.Snapshots(sched.campaign, None, lambda v: v)
    sched.changed.update(dict.keys(sched.jobs))
    pieces = snaps.pieces(sched)
    assert len(pieces) == 2 * N + 4 and max(map(len, pieces)) < 2_000
    write_text(tmp_path / "m.json", pieces)
    text = (tmp_path / "m.json").read_text("utf-8")
    assert text == "".join(pieces) and json.loads(text)["counts"] == {"not_submitted": N}
