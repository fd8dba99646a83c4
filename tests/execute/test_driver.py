"""``driver.execute`` returns how a run went (no out-parameter); ``post_run.record`` writes the manifest
on every way out, the run's own error included, then raises that error."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.runs import FAST, write_campaign
from renderer import targets as T
from renderer.campaign.campaign import load_campaign
from renderer.errors import StateError
from renderer.execute import post_run
from renderer.execute.driver import Execution, ExecuteRequest, execute
from renderer.execute.records import COMPLETED, Submission
from renderer.execute.scheduler import RunOptions
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import all_provider_settings
from renderer.execute.sqlitestore import SqliteJournal
from renderer.plan.planner import build_plan

ENV = {"SAMSAR_API_KEY": "sk_live_DRIVER_0f1e2d", "SAMSAR_BASE_URL": "https://api.mock/v1"}
CAMPAIGN = """
version: 1
name: driven
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix: {n: [1, 2]}
    input: {image_url: "https://cdn.example.com/{{ matrix.n }}.png", resolution: 2k}
"""


def api(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        n = json.loads(request.content)["image_url"].rsplit("/", 1)[1].split(".")[0]
        return httpx.Response(200, json={"request_id": f"img_{n}"}, headers={"x-credits-charged": "50"})
    rid = request.url.params.get("request_id")
    return httpx.Response(200, json={"request_id": rid, "status": "COMPLETED", "result_url": f"https://cdn/{rid}.png"})


class DiskFullAtTheEnd(SqliteJournal):
    """A journal whose disk fills up when a job's outcome is written."""

    def finish(self, sub: Submission, state: str, **kw: Any) -> Submission:
        super().finish(sub, state, **kw)  # the outcome, kept for the manifest...
        raise StateError(f"{self.path}: the disk is full")  # ...then the write is refused


def drive(tmp_path: Path, journal: SqliteJournal) -> tuple[Execution, post_run.Wrapup]:
    path = write_campaign(tmp_path, CAMPAIGN)
    campaign = load_campaign(str(path))
    plan, _ = build_plan(campaign, None)
    conf = all_provider_settings(campaign.providers, ["samsar"], ENV, price_table=plan.price_table)
    request = ExecuteRequest(plan, journal, conf, FAST, RunOptions(), transports={"samsar": httpx.MockTransport(api)})
    wrapup = post_run.Wrapup(file=str(path), sandbox=False, campaign=campaign, plan=plan, previous=None,
                             targets=T.for_campaign(campaign, ENV, False), manifest_path=tmp_path / "m.json",
                             recorded=tmp_path / "m.json", options=RunOptions(), scrubber=Scrubber.from_env(ENV))
    return execute(request, io.StringIO()), wrapup


def test_execute_returns_the_scheduler_as_the_run_ended(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    execution, wrapup = drive(tmp_path, journal)
    assert execution.error is None and not execution.aborted
    assert sorted(st.sub.state for st in execution.scheduler.jobs.values() if st.sub is not None) == [COMPLETED] * 2
    figures = post_run.record(execution, wrapup)
    assert figures.charged == 100 and not figures.interrupted
    assert figures.data == json.loads(wrapup.manifest_path.read_text("utf-8"))
    assert post_run.exit_code(execution, figures, wrapup.options, output_closed=False) == 0
    assert post_run.exit_code(execution, figures, wrapup.options, output_closed=True) == 1
    journal.close()


def test_a_tasks_error_comes_back_and_is_raised_once_the_manifest_is_written(tmp_path: Path) -> None:
    journal = DiskFullAtTheEnd(tmp_path / "j.sqlite")
    execution, wrapup = drive(tmp_path, journal)
    assert isinstance(execution.error, StateError) and "the disk is full" in str(execution.error)
    assert execution.scheduler.jobs  # the scheduler as it stopped, for the manifest
    with pytest.raises(StateError, match="the disk is full"):
        post_run.record(execution, wrapup)
    written = json.loads(wrapup.manifest_path.read_text("utf-8"))
    jobs = written["jobs"].values()
    assert sorted(e["request_id"] for e in jobs) == ["img_1", "img_2"]  # every id the API gave is kept
    # the outcome the disk refused is in the manifest all the same
    assert [e["result_url"] for e in jobs if e["status"] == "completed"][0].startswith("https://cdn/img_")
    journal.close()
