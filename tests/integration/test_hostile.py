"""Issue 14: hostile and broken APIs, over loopback against the sandbox's hostile mode.

Each test: no traceback or internal error, every job in a final state, and the canary
key in no file (manifest, journal, -wal) and no output, not even 8 characters of it.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.runs import (
    CANARY,
    FAST_JSON,
    args_for,
    counters,
    env_for,
    make_sandbox,
    write_campaign,
)
from helpers.runs import run
from helpers.hostile import (
    assert_clean,
    assert_final,
    enhance,
    images,
    settings,
    strict_manifest,
    with_job_timeout,
)

from renderer.errors import ConfigError
from renderer.execute.records import parse_iso
from renderer.execute.sqlitestore import SqliteJournal


def _run(runner, tmp_path: Path, text: str, faults: dict, xs=None, env_extra=None, **kw):
    path = write_campaign(tmp_path, text)
    with make_sandbox(faults=faults, provider_settings={"enhancecraft": {"tier": "enterprise"}}) as sb:
        # the step summary is written below tmp_path too, so assert_clean searches it
        env = {**env_for(sb), "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"), **(env_extra or {})}
        code, out, data = runner(path, env, xs or settings(), **kw)
        c = counters(sb)
    return path, code, out, data, c


# -- the key leaks through the API's own answers ------------------------------------


def test_echoed_authorization_is_never_stored(tmp_path: Path, runner) -> None:
    _path, code, out, data, c = _run(runner, tmp_path, images(4), {"rates": {"echo_auth": 1.0}, "scope": "all"})
    assert code == 0, out
    assert c["faults"]["echo_auth"] >= 8  # submissions and reads echoed the key
    assert_final(data)
    assert_clean(tmp_path, out)
    for entry in data["jobs"].values():
        assert "headers" not in entry["response"] and "debug" not in entry["response"]  # not a documented field


def test_long_errors_quoting_the_key_are_scrubbed_before_they_are_cut(tmp_path: Path, runner) -> None:
    _path, code, out, data, c = _run(runner, tmp_path, images(3), {"rates": {"long_error_key": 1.0}})
    assert code == 1
    assert c["faults"]["long_error_key"] == 3
    assert "upstream rejected the request" in (tmp_path / "step-summary.md").read_text()  # the errors are in it
    assert {e["status"] for e in data["jobs"].values()} == {"failed"}
    for entry in data["jobs"].values():
        # the key straddles the 500th character: scrubbed whole first, then cut
        assert entry["error"].startswith("HTTP 422: upstream rejected the request") and "key=[red" in entry["error"]
    assert_clean(tmp_path, out)


def test_a_failed_status_quoting_the_key_is_scrubbed(tmp_path: Path, runner) -> None:
    _path, code, out, data, _c = _run(runner, tmp_path, enhance(2), {"rates": {"long_error_key": 1.0}, "scope": "reads"})
    assert code == 1
    assert {e["status"] for e in data["jobs"].values()} == {"failed"}
    assert all("[redacted]" in e["error"] for e in data["jobs"].values())
    assert_clean(tmp_path, out)


def test_keys_of_every_provider_are_scrubbed_not_only_the_one_sent(tmp_path: Path, runner) -> None:
    # the samsar answers quote the EnhanceCraft key (the gateway is shared): still scrubbed
    path = write_campaign(tmp_path, images(2))
    with make_sandbox(faults={"rates": {"echo_auth": 1.0}, "scope": "all"}) as sb:
        env = {**env_for(sb, key="sk_samsar_other_0000"), "ENHANCECRAFT_API_KEY": CANARY}
        out = io.StringIO()
        code = run(**args_for(path), out=out, env=env, exec_settings=settings())
    assert code == 0
    from renderer.execute.scrub import Scrubber, secrets_from_env
    assert set(Scrubber(secrets_from_env(env)).secrets) >= {CANARY, "sk_samsar_other_0000"}
    assert "sk_samsar_other_0000" not in path.with_name("camp.manifest.json").read_text()


# -- wrong types ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status", "why"), [
    ("int_result_urls", "pending", "result_urls is a number, not a list of http(s) URLs"),
    ("str_result_urls", "pending", "result_urls is a string, not a list of http(s) URLs"),
    ("bad_status", "pending", "status is an object, not a status string"),
    ("bad_thumbnail", "completed", None),
])
def test_values_of_the_wrong_type_are_read_again_and_said(tmp_path: Path, runner, kind, status, why) -> None:
    # an answer of the wrong shape says nothing of an accepted (charged) job: read again until the
    # job timeout, which leaves it pending and says what the reads answered
    xs = with_job_timeout(settings(), 0.5)
    path, code, out, data, _c = _run(runner, tmp_path, images(3), {"rates": {kind: 1.0}, "scope": "reads"}, xs)
    assert code == (0 if status == "completed" else 1), out
    assert_final(data)
    for entry in data["jobs"].values():
        assert entry["status"] == status, entry
        if why:
            assert "job timeout" in entry["error"] and f"an answer of the wrong shape ({why})" in entry["error"]
        else:
            assert entry["thumbnail_url"] is None and entry["result_url"].startswith("http")
    assert_clean(tmp_path, out)
    # a second run neither crashes nor resubmits the accepted jobs
    code2, out2, _data2 = runner(path, env_for_dead(data), with_job_timeout(settings(), 0.5))
    assert code2 == code and "internal error" not in out2


def env_for_dead(data: dict) -> dict[str, str]:
    """The environment of the run that wrote ``data``, whose API is gone now: a re-run (on the
    same target) that sends nothing must not need it."""
    (target,) = {e["target"] for e in data["jobs"].values()}
    return {"SAMSAR_API_KEY": CANARY, "SAMSAR_BASE_URL": target}


def test_a_submit_answer_with_an_unusable_id_is_unknown_not_a_crash(tmp_path: Path, runner) -> None:
    _path, code, _out, data, _c = _run(runner, tmp_path, images(2), {"schedule": {"1": "bad_id"}})
    assert code == 1
    statuses = sorted(e["status"] for e in data["jobs"].values())
    assert statuses == ["completed", "unknown"]
    bad = next(e for e in data["jobs"].values() if e["status"] == "unknown")
    assert "unusable request id (request_id is an object" in bad["error"] and "may have been charged" in bad["error"]


# -- slow and huge bodies --------------------------------------------------------------


def test_a_trickled_body_delays_only_its_own_job(tmp_path: Path, runner) -> None:
    # the first status read trickles a byte every 50 ms (~7 s for the body); the request's
    # total deadline (2.5 s) cuts it, and the other five jobs finish meanwhile
    faults = {"read_schedule": {"1": "trickle"}, "trickle_interval": 0.05}
    path, code, out, data, c = _run(runner, tmp_path, enhance(6), faults, settings(total=2.5))
    assert code == 0, out
    assert c["faults"]["trickle"] == 1
    ends = sorted(parse_iso(e["finished_at"]) for e in data["jobs"].values())
    # the five others did not wait for the trickled read: they were done well before it gave up
    assert ends[-1] - ends[-2] > 1.2, ends
    (db,) = (tmp_path / ".renderer").glob("*.sqlite")
    journal = SqliteJournal(db)
    try:
        events = [e for e in journal.events(500) if e["kind"] == "completed"]
    finally:
        journal.close()
    assert len(events) == 6
    assert_clean(tmp_path, out)


def test_a_huge_body_is_not_read_past_the_cap(tmp_path: Path, runner) -> None:
    faults = {"read_schedule": {"1": "huge_body", "2": "huge_body"}, "huge_bytes": 4 * 1024 * 1024}
    _path, code, out, data, c = _run(runner, tmp_path, enhance(2), faults, settings(max_body=64 * 1024))
    assert code == 0, out
    assert c["faults"]["huge_body"] == 2
    assert_final(data)


def test_huge_bodies_forever_leave_the_job_pending_at_its_timeout(tmp_path: Path, runner) -> None:
    faults = {"rates": {"huge_body": 1.0}, "scope": "reads", "huge_bytes": 1024 * 1024}
    xs = with_job_timeout(settings(max_body=64 * 1024), 0.6)
    _path, code, out, data, _c = _run(runner, tmp_path, enhance(1), faults, xs)
    assert code == 1
    (entry,) = data["jobs"].values()
    assert entry["status"] == "pending" and "job timeout (0.6s)" in entry["error"]
    assert "1 job(s) still rendering after the job timeout" in out


# -- storms, hangs, renders that never finish -------------------------------------------


def test_a_gateway_storm_opens_the_breaker_after_a_handful_of_posts(tmp_path: Path, runner) -> None:
    _path, code, out, data, c = _run(runner, tmp_path, images(30, concurrency=2), {"rates": {"html_502": 1.0}})
    posts = c["requests"].get("POST /v1/image/enhance", 0)
    assert 3 <= posts <= 4, posts  # threshold 3, plus at most one more already in flight
    assert code == 1
    statuses = [e["status"] for e in data["jobs"].values()]
    assert statuses.count("not_submitted") >= 26 and statuses.count("unknown") == posts
    assert "samsar looks down: 3 submissions in a row got no clear answer (last: HTTP 502: Bad Gateway)" in out
    assert all("looks down" in e["error"] for e in data["jobs"].values() if e["status"] == "not_submitted")
    assert_clean(tmp_path, out)


def test_a_hanging_post_costs_one_deadline_and_is_resent_with_its_key(tmp_path: Path, runner) -> None:
    text = images(2).replace("samsar: {concurrency: 2}", "samsar: {concurrency: 2, idempotent_keys: true}")
    _path, code, out, data, c = _run(runner, tmp_path, text, {"schedule": {"1": "hang"}}, settings(total=0.5))
    assert code == 0, out
    assert c["faults"]["hang"] == 1 and c["accepted_total"] == 2
    assert sorted(e["attempts"] for e in data["jobs"].values()) == [1, 2]


def test_a_render_that_never_completes_is_left_pending_at_the_job_timeout(tmp_path: Path, runner) -> None:
    faults = {"rates": {"never_complete": 1.0}, "scope": "reads"}
    path, code, _out, data, _c = _run(runner, tmp_path, images(3), faults, with_job_timeout(settings(), 0.5))
    assert code == 1
    assert {e["status"] for e in data["jobs"].values()} == {"pending"}
    assert all("job timeout" in e["error"] for e in data["jobs"].values())
    # resumable: the next run against the same API polls them again (no new submission)
    (target,) = {e["target"] for e in data["jobs"].values()}
    with make_sandbox(port=int(target.split(":")[-1].split("/")[0])) as sb:
        code2, out2, data2 = runner(path, env_for(sb), with_job_timeout(settings(), 0.5))
        c2 = counters(sb)
    assert c2["accepted_total"] == 0
    assert code2 == 1  # the new sandbox does not know the ids: a 404 is no verdict, they stay pending
    assert {e["status"] for e in data2["jobs"].values()} == {"pending"}
    assert all("HTTP 404" in e["error"] for e in data2["jobs"].values())
    assert "internal error" not in out2


def test_the_run_timeout_stops_the_run_and_says_so(tmp_path: Path, runner) -> None:
    faults = {"rates": {"never_complete": 1.0}, "scope": "reads"}
    xs = settings(run_timeout=0.6)
    _path, code, out, data, _c = _run(runner, tmp_path, images(2), faults, xs)
    assert code == 1
    assert {e["status"] for e in data["jobs"].values()} == {"pending"}
    assert "run timeout (0.6s) reached" in out


def test_job_and_run_timeouts_from_the_campaign_and_the_command_line() -> None:
    from renderer.cli import build_parser
    from renderer.execute.settings import ExecSettings, with_timeouts

    args = build_parser().parse_args(["run", "c.yaml", "--job-timeout", "90s"])
    xs = with_timeouts(ExecSettings(), {"job": 7200.0, "run": 3600.0}, args.job_timeout, args.run_timeout)
    assert xs.poll.job_timeout == 90.0 and xs.run_timeout == 3600.0
    xs = with_timeouts(ExecSettings(), {})
    assert xs.poll.job_timeout == 6 * 3600 and xs.run_timeout == 24 * 3600


# -- credits ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["credits_inf", "credits_negative"])
def test_impossible_charges_are_unknown_and_the_manifest_stays_json(tmp_path: Path, runner, kind) -> None:
    path, code, out, _data, _c = _run(runner, tmp_path, enhance(2), {"rates": {kind: 1.0}, "scope": "all"})
    assert code == 0, out
    manifest = strict_manifest(path.with_name("camp.manifest.json"))
    for entry in manifest["jobs"].values():
        assert entry["credits"]["charged"] is None
    assert "the charge is unknown: the API's credits charged is" in out
    assert manifest["credits"]["charged"] == 0


# -- configuration and output ------------------------------------------------------------


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_connection_error_names_the_url_and_its_variable(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(1))
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code, _out, data = runner(path, {"SAMSAR_API_KEY": CANARY, "SAMSAR_BASE_URL": url}, settings())
    assert code == 1
    (entry,) = data["jobs"].values()
    assert entry["status"] == "not_submitted"
    assert f"could not connect to {url}/image/enhance (from SAMSAR_BASE_URL): ConnectError" in entry["error"]


def test_a_base_url_without_v1_gets_a_hint(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(1))
    with make_sandbox() as sb:
        env = {"SAMSAR_API_KEY": CANARY, "SAMSAR_BASE_URL": sb.base_url}
        _code, _out, data = runner(path, env, settings())
    (entry,) = data["jobs"].values()
    assert entry["status"] == "failed" and entry["error"].startswith("HTTP 404")
    assert f"hint: SAMSAR_BASE_URL is {sb.base_url}; Samsar's routes live below /v1" in entry["error"]


def test_every_missing_key_is_reported_at_once(tmp_path: Path) -> None:
    text = images(1) + enhance(1).split("jobs:\n", 1)[1]
    path = write_campaign(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        run(**args_for(path), out=io.StringIO(), env={}, exec_settings=settings())
    assert "2 problems" in str(exc.value)
    assert "SAMSAR_API_KEY is not set" in str(exc.value) and "ENHANCECRAFT_API_KEY is not set" in str(exc.value)


def test_a_closed_stdout_ends_the_run_cleanly_and_non_zero(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(6, concurrency=1))
    env = {**os.environ, "RENDERER_EXEC_SETTINGS": json.dumps({**json.loads(FAST_JSON), "progress_interval": 0.05,
                                                                  "sandbox_render_seconds": 1.0})}
    proc = subprocess.Popen([sys.executable, "-m", "renderer.cli", "run", str(path), "--sandbox"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert code != 0
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err
    data = json.loads(path.with_name("camp.sandbox.manifest.json").read_text())
    assert_final(data)


def test_the_journal_and_its_wal_hold_no_key_even_after_a_kill(tmp_path: Path) -> None:
    # killed mid-run, the journal's -wal is left as it was: it must already be clean (keys honoured:
    # the resumed run settles a POST the kill may have cut off by sending it again with its key)
    text = images(4).replace("samsar: {concurrency: 2}", "samsar: {concurrency: 2, idempotent_keys: true}")
    path = write_campaign(tmp_path, text)
    with make_sandbox(faults={"rates": {"echo_auth": 1.0}, "scope": "all"}) as sb:
        env = {"PATH": os.environ.get("PATH", ""), **env_for(sb), "RENDERER_EXEC_SETTINGS": FAST_JSON,
               "RENDERER_TEST_KILL_AFTER": "10"}
        cmd = [sys.executable, "-m", "renderer.cli", "run", path.name]
        killed = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert killed.returncode == -9, killed.stdout + killed.stderr
        wal = [p for p in (tmp_path / ".renderer").iterdir() if p.name.endswith("-wal")]
        assert wal and wal[0].stat().st_size > 0
        assert_clean(tmp_path, killed.stdout, killed.stderr)
        env.pop("RENDERER_TEST_KILL_AFTER")
        resumed = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_clean(tmp_path, resumed.stdout, resumed.stderr)


def test_dropped_connections_open_the_breaker_but_json_500s_do_not(tmp_path: Path, runner) -> None:
    path, code, out, data, c = _run(runner, tmp_path, images(12, concurrency=1), {"rates": {"drop_after": 1.0}})
    assert c["requests"]["POST /v1/image/enhance"] == 3 and "samsar looks down" in out
    assert sum(e["status"] == "not_submitted" for e in data["jobs"].values()) == 9
    other = tmp_path / "json500"
    other.mkdir()
    path, code, out, data, c = _run(runner, other, images(5, concurrency=1), {"rates": {"http_500": 1.0}})
    assert c["requests"]["POST /v1/image/enhance"] == 5 and "looks down" not in out  # the API answered each one
