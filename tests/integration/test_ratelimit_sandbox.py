"""The rate limit against the sandbox's EnhanceCraft tier windows (pro: 50 a window), shortened.

The sandbox counts windows on the clock it is given: time.time here, so that they end
on whole seconds of the wall clock, as X-RateLimit-Reset (whole seconds) says. The
unit tests (test_limits.py) cover resets rounded down.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from helpers.runs import FAST, counters, env_for, make_sandbox, write_campaign

JOBS = 60  # 60 submissions and at least 60 status reads: three windows of pro's 50 at least


def campaign(tmp_path: Path) -> Path:
    return write_campaign(tmp_path, (
        "version: 1\nname: ec\njobs:\n  ec:\n    endpoint: enhancecraft/jobs\n"
        f"    matrix:\n      i: [{', '.join(map(str, range(JOBS)))}]\n"
        "    input: {input_key: 'uploads/x/{{ matrix.i }}.png', operations: [{type: enhance, params: {scale: 2}}]}\n"
    ))


def test_a_rate_limited_run_uses_whole_windows_with_at_most_one_429(tmp_path: Path, runner) -> None:
    path = campaign(tmp_path)
    settings = dataclasses.replace(FAST, durable_intents=False)  # no fsync per submission: the window is the limit
    with make_sandbox(rate_limit_window=2.0, clock=time.time) as sb:
        code, out, data = runner(path, env_for(sb), settings)
        c = counters(sb)
        windows = sb.state.limiters["enhancecraft"].accepted_by_window
    assert code == 0, out
    assert sorted({e["status"] for e in data["jobs"].values()}) == ["completed"]
    assert c["accepted_total"] == JOBS
    assert c["rate_limited"] <= 1, (c["rate_limited"], sorted(windows.items()))
    seen = sum(v for k, v in c["requests"].items() if "/enhancecraft/" in k)
    assert sum(windows.values()) == seen - c["rate_limited"]  # status reads count against the window too
    # a window's allowance goes out in a burst (less the odd request in flight at its start)
    assert max(windows.values()) >= 45, sorted(windows.items())
    assert len(windows) >= 3
