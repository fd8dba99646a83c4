"""The provider's rate window shared through the PostgreSQL store: two runner processes (two
"machines", one database) against the sandbox's EnhanceCraft pro tier (50 requests a window,
the window shortened to 2 s) stay within it together: every job done, at most one 429."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from helpers.runs import counters, make_sandbox
from helpers.shared_store import checkout, manifest, released_together, store_env

JOBS = 30  # per runner: 60 submissions and at least 60 status reads, three windows of 50 at least


def enhance(name: str) -> str:
    return (f"version: 1\nname: {name}\njobs:\n  ec:\n    endpoint: enhancecraft/jobs\n"
            f"    matrix:\n      i: {list(range(JOBS))}\n"
            f"    input: {{input_key: 'uploads/{name}/{{{{ matrix.i }}}}.png', operations: [{{type: enhance, "
            "params: {scale: 2}}]}\n")


def test_two_runners_share_the_providers_rate_window(tmp_path: Path, pg_url: str) -> None:
    paths = [checkout(tmp_path / f"machine-{m}", enhance(f"camp-{m}")) for m in "ab"]
    with make_sandbox(rate_limit_window=2.0, clock=time.time) as sb:
        env = store_env(sb, pg_url)
        scope = f"enhancecraft={sb.base_urls['enhancecraft']}"
        with psycopg.connect(pg_url, autocommit=True) as conn:  # the window's row, for the test to hold
            conn.execute("INSERT INTO renderer.rate_windows (scope, reset_wall, lim, used) VALUES (%s, 0, 1, 0)",
                         (scope,))
        # both runners wait at their first request (the test holds the window's row), then go at once
        procs = released_together(pg_url, paths, env, "rate_windows", "scope = %s", (scope,))
        outs = [p.communicate(timeout=120)[0] for p in procs]
        c = counters(sb)
        windows = dict(sb.state.limiters["enhancecraft"].accepted_by_window)
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [manifest(p)["counts"] for p in paths] == [{"completed": JOBS}] * 2
    assert c["accepted_total"] == 2 * JOBS and c["duplicates_total"] == 0
    assert c["rate_limited"] <= 1, (c["rate_limited"], sorted(windows.items()))
    seen = sum(v for k, v in c["requests"].items() if "/enhancecraft/" in k)
    assert sum(windows.values()) == seen - c["rate_limited"] and len(windows) >= 3

