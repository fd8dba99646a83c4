"""The provider's rate window shared through the PostgreSQL store: two runner processes (two
"machines", one database) against the sandbox's EnhanceCraft pro tier (50 requests a window,
the window shortened to 2 s) stay within it together: every job done, at most one 429."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from helpers.runs import counters, make_sandbox
from helpers.shared_store import checkout, manifest, store_env, subprocess_run

JOBS = 30  # per runner: 60 submissions and at least 60 status reads, three windows of 50 at least


def enhance(name: str) -> str:
    return (f"version: 1\nname: {name}\njobs:\n  ec:\n    endpoint: enhancecraft/jobs\n"
            f"    matrix:\n      i: {list(range(JOBS))}\n"
            f"    input: {{input_key: 'uploads/{name}/{{{{ matrix.i }}}}.png', operations: [{{type: enhance, "
            "params: {scale: 2}}]}\n")


def _waiting(url: str, n: int) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'renderer'"
                           " AND wait_event_type = 'Lock' AND query LIKE '% renderer.rate_windows %'").fetchone()
    return bool(row and row[0] >= n)


def test_two_runners_share_the_providers_rate_window(tmp_path: Path, pg_url: str) -> None:
    paths = [checkout(tmp_path / f"machine-{m}", enhance(f"camp-{m}")) for m in "ab"]
    with make_sandbox(rate_limit_window=2.0, clock=time.time) as sb:
        env = store_env(sb, pg_url)
        scope = f"enhancecraft={sb.base_urls['enhancecraft']}"
        with psycopg.connect(pg_url) as gate:  # both runners wait at their first request, then go at once
            gate.execute("INSERT INTO renderer.rate_windows (scope, reset_wall, lim, used) VALUES (%s, 0, 1, 0)",
                         (scope,))
            gate.commit()
            gate.execute("SELECT * FROM renderer.rate_windows WHERE scope = %s FOR UPDATE", (scope,))
            procs = [subprocess_run(p, env, "--state-dir", str(p.parent.parent / ".renderer")) for p in paths]
            deadline = time.monotonic() + 60
            while not _waiting(pg_url, 2):
                assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                    [p.communicate()[0] for p in procs if p.poll() is not None]
                time.sleep(0.01)  # polling a condition, with a deadline
            gate.commit()
        outs = [p.communicate(timeout=120)[0] for p in procs]
        c = counters(sb)
        windows = dict(sb.state.limiters["enhancecraft"].accepted_by_window)
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [manifest(p)["counts"] for p in paths] == [{"completed": JOBS}] * 2
    assert c["accepted_total"] == 2 * JOBS and c["duplicates_total"] == 0
    assert c["rate_limited"] <= 1, (c["rate_limited"], sorted(windows.items()))
    seen = sum(v for k, v in c["requests"].items() if "/enhancecraft/" in k)
    assert sum(windows.values()) == seen - c["rate_limited"] and len(windows) >= 3

