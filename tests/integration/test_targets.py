"""Every record knows where it ran: a staging account and production (two sandboxes on two
ports standing in for them) never see each other's jobs, and the plan says why a job runs again."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from helpers.runs import args_for, counters, env_for, journal_for, make_sandbox, manifest_of

from renderer.cli import main
from renderer.commands.cancel import cancel
from renderer.commands.status import status
from renderer.errors import StateError

SPRING = Path(__file__).resolve().parents[2] / "campaigns" / "spring-launch.yaml"
JOBS = 12


def spring(tmp_path: Path) -> Path:
    path = tmp_path / "spring-launch.yaml"
    shutil.copy(SPRING, path)
    return path


def cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env=env)
    return code, out.getvalue(), err.getvalue()


def ids(data: dict) -> set[str]:
    return {e["request_id"] for e in data["jobs"].values() if e.get("request_id")}


def test_switching_from_staging_to_production_sends_every_job_to_production_once(tmp_path: Path, runner) -> None:
    path = spring(tmp_path)
    with make_sandbox(seed=1) as staging, make_sandbox(seed=2) as production:
        code, out, first = runner(path, env_for(staging))
        assert code == 0, out
        staged = ids(first)
        assert {e["target"] for e in first["jobs"].values()} == {staging.base_urls['samsar']}
        before = counters(staging)["requests_total"]

        # the plan for production reuses nothing of staging's, and says why each job runs again
        code, out, err = cli("plan", str(path), "--json", "--show-inputs", env=env_for(production))
        assert code == 0, err
        doc = json.loads(out)
        assert doc["targets"] == {"samsar": production.base_urls['samsar']}
        assert {j["action"] for j in doc["jobs"]} == {"run"} and doc["changes"]["reused"] == []
        why = (f"rendered against {staging.base_urls['samsar']}; this plan runs against {production.base_urls['samsar']}")
        assert {j["id"]: j["elsewhere"]["reason"] for j in doc["jobs"]} == {j["id"]: why for j in doc["jobs"]}
        assert {j["change"]["reason"] for j in doc["jobs"]} == {why}
        assert sorted(doc["changes"]["changed"]) == sorted(first["jobs"])
        code, table, err = cli("plan", str(path), "--show-inputs", env=env_for(production))
        assert code == 0, err
        assert f"not reused: {JOBS} rendered against {staging.base_urls['samsar']}" in table
        assert f"why: {why}" in table and f"target: {production.base_urls['samsar']}" in table
        assert "estimated for this run: 6,165 credits of budget 60,000" in table
        code, comment, err = cli("plan", str(path), "--markdown", env=env_for(production))  # the pull request's
        assert code == 0, err
        assert "| target changed | 12 |" in comment and why in comment

        code, out, second = runner(path, env_for(production))
        assert code == 0, out
        assert "adopted" not in out
        seen = counters(production)
        assert seen["accepted_total"] == JOBS and seen["duplicates_total"] == 0  # every job sent once
        assert counters(staging)["requests_total"] == before  # 0 requests to staging for production's jobs
        assert not set(seen["status_reads_by_id"]) & staged  # and none to production about staging's
        assert not ids(second) & staged
        assert {e["target"] for e in second["jobs"].values()} == {production.base_urls['samsar']}

        # production again: all reused; each target has its own journal
        code, out, _ = cli("plan", str(path), "--json", env=env_for(production))
        assert {j["action"] for j in json.loads(out)["jobs"]} == {"reuse"}
        journals = sorted(p.name for p in (tmp_path / ".renderer").glob("*.sqlite"))
        assert len(journals) == 2


def test_a_pending_job_of_staging_is_never_adopted_polled_or_cancelled_on_production(tmp_path: Path, runner) -> None:
    path = spring(tmp_path)
    path.write_text(path.read_text().replace("resolution: 2k", "resolution: 2k\n  clip:\n    endpoint: samsar/video/"
                                             "text_to_video\n    input: {prompt: Sea, image_model: GPTIMAGE2, "
                                             "video_model: RUNWAYML, duration: 5}"), encoding="utf-8")
    with make_sandbox(seed=1, render_seconds=600) as staging, make_sandbox(seed=2) as production:
        code, out, first = runner(path, env_for(staging), detach=True)  # accepted, still rendering there
        assert code == 0, out
        pending = {iid for iid, e in first["jobs"].items() if e["status"] == "pending"}
        assert len(pending) == 4  # three stills and the clip
        staged = ids(first)
        before = counters(staging)["requests_total"]

        code, out, second = runner(path, env_for(production))
        assert code == 0, out
        assert "adopted" not in out
        seen = counters(production)
        assert seen["accepted_total"] == JOBS + 1 and not set(seen["status_reads_by_id"]) & staged
        assert counters(staging)["requests_total"] == before

        # cancel reads the journal of the target it is pointed at, and cancels there only
        out = io.StringIO()
        assert cancel(**args_for(path), out=out, env=env_for(production)) == 0
        assert out.getvalue() == "no pending video renders to cancel\n"  # production's are all done
        assert counters(staging)["requests_total"] == before
        out = io.StringIO()
        assert cancel(**args_for(path), out=out, env=env_for(staging)) == 0
        assert f"{'cancelled':>13}  clip" in out.getvalue()
        assert counters(staging)["accepted"]["samsar/video/cancel_render"] == 1  # cancelled where it renders
        assert counters(production)["requests_total"] == seen["requests_total"]
        # production's record is untouched by what was done on staging
        assert json.loads(manifest_of(path).read_text())["jobs"] == second["jobs"]


def test_status_reads_the_journal_of_the_target_it_is_pointed_at(tmp_path: Path, runner) -> None:
    path = spring(tmp_path)
    with make_sandbox(seed=1) as staging, make_sandbox(seed=2) as production:
        code, out, _ = runner(path, env_for(staging))
        assert code == 0, out
        shown = io.StringIO()
        assert status(**args_for(path), out=shown, env=env_for(staging)) == 0
        assert f"{JOBS} completed" in shown.getvalue()
        with pytest.raises(StateError, match=f"against {production.base_urls['samsar']} under .*: nothing has run yet"):
            status(**args_for(path), out=io.StringIO(), env=env_for(production))
        journal = journal_for(path, env_for(staging))
        try:
            assert journal.meta()["targets"] == f"samsar={staging.base_urls['samsar']}"
        finally:
            journal.close()


def test_a_target_never_holds_a_key_and_is_normalised() -> None:
    from renderer.targets import normalise

    assert normalise("HTTPS://user:sk_live_x@Api.Example.COM:443/v1/?key=sk_live_y#f") == "https://api.example.com/v1"
    assert normalise("http://127.0.0.1:8765/v1") == "http://127.0.0.1:8765/v1"
    assert normalise("http://[::1]:80/v1") == "http://[::1]/v1"


def test_a_manifest_written_before_targets_is_read_safely(tmp_path: Path) -> None:
    """An entry without a target ran against its provider's default base URL, unless the
    manifest holds the sandbox's loopback URLs: then it was a rehearsal."""
    from renderer import manifest as M
    from renderer import targets as T

    entry = {"endpoint": "samsar/image/enhance", "input_sha256": "a" * 64, "status": "completed",
             "result_url": "https://cdn.samsar.one/x.png", "result_urls": ["https://cdn.samsar.one/x.png"]}
    real = M.Manifest.from_json({"jobs": {"a": entry, "b": {**entry, "input_sha256": "b" * 64}}})
    default = {"samsar": "https://api.samsar.one/v1"}
    assert T.seen_from(real, default) is real
    assert set(T.seen_from(real, {"samsar": "https://staging.example/v1"}).elsewhere) == {"a", "b"}
    loopback = {**entry, "result_url": "http://127.0.0.1:41789/files/x.png", "result_urls": []}
    rehearsal = M.Manifest.from_json({"jobs": {"a": loopback, "b": {**entry, "input_sha256": "b" * 64}},
                                      "credits": {"spent": 100}})
    seen = T.seen_from(rehearsal, default)
    assert set(seen.elsewhere) == {"a", "b"} and {e.target for e in seen.elsewhere.values()} == {"sandbox"}
    assert seen.charged_in_all() == 0  # the sandbox's credits are not money
    assert set(T.seen_from(rehearsal, {"samsar": "sandbox"}).jobs) == {"a", "b"}


def test_a_rehearsal_an_earlier_version_wrote_as_the_real_manifest_is_not_reused(tmp_path: Path, runner) -> None:
    """The issue's trap, as an earlier version left it: `run --sandbox` wrote the real manifest
    (no targets). A plan for the real API reuses none of it, says why, and counts no credits."""
    path = spring(tmp_path)
    code, out, rehearsal = runner(path, {}, sandbox=True)
    assert code == 0, out
    for entry in rehearsal["jobs"].values():
        del entry["target"]
    manifest_of(path).write_text(json.dumps(rehearsal), encoding="utf-8")
    with make_sandbox(seed=3) as api:
        code, out, err = cli("plan", str(path), "--json", env=env_for(api))
        assert code == 0, err
        doc = json.loads(out)
        assert {j["action"] for j in doc["jobs"]} == {"run"} and "spent" not in doc["budget"]
        assert {j["elsewhere"]["reason"] for j in doc["jobs"]} == {
            f"rendered against the sandbox; this plan runs against {api.base_urls['samsar']}"}
        code, out, data = runner(path, env_for(api))
        assert code == 0, out
        assert counters(api)["accepted_total"] == JOBS and "adopted" not in out
    assert {e["target"] for e in data["jobs"].values()} == {api.base_urls["samsar"]}
