"""The provider's rate window shared through the PostgreSQL store: two runner processes (two
"machines", one database) against the sandbox's EnhanceCraft pro tier (50 requests a window,
the window shortened to 2 s) stay within it together: every job done, at most one 429."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from exec_helpers import counters, make_sandbox
from test_shared_state import checkout, manifest, store_env, subprocess_run

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


def test_one_runner_learns_a_window_and_all_take_its_slots_to_the_limit(pg_url: str) -> None:
    from renderer.execute.ratewindow import RECHECK, SharedRates
    from renderer.execute.stateurl import parse_url

    rates = [SharedRates(parse_url(pg_url)) for _ in range(2)]
    try:
        a, b = (r.window("enhancecraft", "http://api") for r in rates)
        assert a.claim(100.0) == 0 and a.probes == 1  # nothing known: one runner sends the request that learns it
        assert b.claim(100.0) == RECHECK  # the other waits for its answer
        a.seen(5, 4, 160.0)  # the server counted 1 of 5 until 160
        taken = [w.claim(101.0) for w in (a, b, a, b, a)]
        assert taken == [0, 0, 0, 0, 59.0]  # 4 more slots, then until the reset
        a.seen(5, 3, 160.0)  # a late answer never gives a slot back
        assert b.claim(102.0) == 58.0
        assert b.claim(160.0) == 0 and b.probes == 1 and a.claim(160.0) == RECHECK  # the next window: one probe
        c, d = (r.window("samsar", "http://api") for r in rates)  # a provider that publishes no window
        assert c.claim(1.0) == 0 and d.claim(1.0) == RECHECK
        c.no_window()  # its answer said none: the other learns that for itself
        assert d.claim(1.0) == 0
    finally:
        for r in rates:
            r.close()
