"""Kill `renderer run` at many points; the next run must neither pay twice nor lose a result.

The run is a real subprocess (`python -m renderer.cli run`) against a sandbox served
by this test process. ``RENDERER_TEST_KILL_AFTER=N`` makes it SIGKILL itself right
after its Nth journal commit, so every boundary between "intent written", "answer
written" and "outcome written" is hit for some N.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.runs import CANARY, FAST_JSON, args_for, counters, env_for, make_sandbox, write_campaign
from renderer.commands.status import status

CAMPAIGN = """
version: 1
name: crash
providers:
  samsar: {{idempotent_keys: {keys}}}
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo, lima]
    input: {{image_url: "https://cdn.example.com/{{{{ matrix.city }}}}.png"}}
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo, lima]
    input: {{image_urls: ["{{{{ needs.stills.result_url }}}}"], video_model: RUNWAYML}}
  cut:
    endpoint: samsar/video/join_videos
    needs: [teaser]
    input: {{session_ids: "{{{{ needs.teaser | map(attribute='session_id') | list }}}}"}}
"""
JOBS = 7


def cli(path: Path, sb, *, kill_after: int | None = None, extra: tuple[str, ...] = (), wait: bool = True):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env_for(sb),
           "RENDERER_EXEC_SETTINGS": FAST_JSON}
    if kill_after is not None:
        env["RENDERER_TEST_KILL_AFTER"] = str(kill_after)
    cmd = [sys.executable, "-m", "renderer.cli", "run", path.name, *extra]
    proc = subprocess.Popen(cmd, cwd=path.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def manifest(path: Path) -> dict:
    return json.loads(path.with_name(path.stem + ".manifest.json").read_text("utf-8"))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 9, 13, 17])
def test_sigkill_after_the_nth_transition_then_resume(tmp_path: Path, n: int) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="true"))
    with make_sandbox() as sb:
        code, out = cli(path, sb, kill_after=n)
        assert code == -signal.SIGKILL, out
        code, out = cli(path, sb)
        c = counters(sb)
    assert code == 0, out
    assert c["duplicates_total"] == 0
    assert c["accepted_total"] == JOBS  # each job accepted exactly once, whatever was lost
    data = manifest(path)
    assert data["counts"] == {"completed": JOBS}
    assert CANARY not in out and CANARY not in json.dumps(data)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_sigkill_without_keys_never_resubmits_blindly(tmp_path: Path, n: int) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="false"))
    with make_sandbox() as sb:
        cli(path, sb, kill_after=n)
        sent_before = counters(sb)["requests"].get("POST /v1/image/enhance", 0)
        code, out = cli(path, sb)
        c = counters(sb)
    data = manifest(path)
    assert c["duplicates_total"] == 0
    statuses = {e["status"] for e in data["jobs"].values()}
    # an intent whose POST may or may not have left is reconciled or reported, never resent
    assert statuses <= {"completed", "unknown", "not_submitted"}
    if "unknown" in statuses:
        assert code == 1 and "unknown fate" in out
    else:
        assert code == 0
    assert c["requests"].get("POST /v1/image/enhance", 0) - sent_before <= 3 - sum(
        1 for k, e in data["jobs"].items() if k.startswith("stills") and e["status"] == "unknown")


def test_sigkill_at_an_arbitrary_moment_then_resume(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="true"))
    with make_sandbox(render_seconds=0.5) as sb:
        proc = cli(path, sb, wait=False)
        deadline = time.monotonic() + 30
        while counters(sb)["accepted_total"] < 4 and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for a condition, not for time to pass
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        shown = io.StringIO()
        status(**args_for(path), out=shown, env=env_for(sb))
        assert "ended abruptly" in shown.getvalue()
        code, out = cli(path, sb)
        c = counters(sb)
    assert code == 0, out
    assert c["duplicates_total"] == 0 and c["accepted_total"] == JOBS


def test_ctrl_c_stops_submitting_finishes_cleanly_and_resumes(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="true"))
    with make_sandbox(render_seconds=1.0) as sb:
        proc = cli(path, sb, wait=False)
        deadline = time.monotonic() + 30
        while counters(sb)["accepted_total"] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 1, out
        assert "interrupted" in out
        data = manifest(path)
        assert "pending" in data["counts"] or "completed" in data["counts"]
        accepted = counters(sb)["accepted_total"]
        assert accepted < JOBS
        code, out = cli(path, sb)
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == JOBS and c["duplicates_total"] == 0
    assert manifest(path)["counts"] == {"completed": JOBS}


def test_second_ctrl_c_exits_at_once_and_stays_resumable(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="true"))
    # the 3rd and later submissions hang for 20 s: after the first Ctrl-C the run
    # would wait for them; the second Ctrl-C must not
    slow = {"schedule": {k: "slow" for k in range(3, 8)}, "delay_seconds": 20.0}
    with make_sandbox(faults=slow) as sb:
        proc = cli(path, sb, wait=False)
        deadline = time.monotonic() + 30
        while counters(sb)["faults"].get("slow", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)  # two separate presses, not one
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10
        assert proc.returncode == 130, out
        data = manifest(path)  # written on the way out
        assert "unknown" in data["counts"]  # POSTs cut off mid-flight: fate not known
        sb.state.set_faults(type(sb.state.faults.settings)())
        code, out = cli(path, sb)
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == JOBS and c["duplicates_total"] == 0
