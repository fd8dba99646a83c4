"""`renderer run` with the shared PostgreSQL store against the SQLite journal, each in its own process.

    python bench/bench_store.py                 # 5,000 jobs, three interleaved pairs
    python bench/bench_store.py --quick         # 20 jobs, one pair: a smoke run

For every run a fresh `renderer sandbox --render-seconds 0` is started in a process of
its own (bench_run's), then `renderer run` of N samsar/image/enhance jobs: with
``RENDERER_STATE`` pointing at a new database of a local PostgreSQL server (started
here from the machine's packages, as the tests start theirs, with ``fsync`` and
``full_page_writes`` turned back on so that both stores make their commits durable),
or with the default SQLite journal under a temporary state dir. Runs are interleaved
(postgresql, sqlite, postgresql, ...); medians are shown.

Shown for each side: the client's wall time, its CPU (user + system) and peak RSS (its
own, from os.wait4; the PostgreSQL server's CPU is not in it), requests per job the
sandbox counted, journal events per job (the transitions: each writes one event, in
both stores), and for PostgreSQL the server's transactions per job (each statement on
the store's autocommit connection is one: the round trips, less the few statements
grouped in one transaction).

Target (issue 24): wall <= 1.3x SQLite's at 5,000 jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench_run import KEY, campaign, requests_seen, sandbox
from harness import ROOT, Sample, interleaved, median, measure, renderer_argv, table

sys.path.insert(0, str(ROOT / "tests"))
from helpers import pgserver  # noqa: E402  (the tests' PostgreSQL server: initdb and pg_ctl from the machine's packages)


def transactions(server: pgserver.PgServer, db: str) -> int:
    with server.admin() as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (db,)).fetchone()
    return int(row[0]) if row else 0


def settled_transactions(server: pgserver.PgServer, db: str) -> int:
    """The database's transactions once the run's sessions have ended and reported (stats are flushed
    as each backend exits): read until two reads agree."""
    last = -1
    for _ in range(50):
        now = transactions(server, db)
        if now == last:
            return now
        last = now
        time.sleep(0.1)  # the server's statistics catch up (not a wait on the client)
    return last


def events_in_sqlite(state: Path) -> int:
    total = 0
    for path in state.glob("*.sqlite"):
        with sqlite3.connect(path) as db:
            total += db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return total


def events_in_pg(server: pgserver.PgServer, db: str) -> int:
    with server.admin(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM renderer.events").fetchone()[0])


def run_side(side: str, n: int, server: pgserver.PgServer, interval: float) -> Sample:
    with tempfile.TemporaryDirectory() as tmp, sandbox() as (base_url, _):
        path = campaign(Path(tmp), n)
        state = Path(tmp) / ".renderer"
        poll = {"initial": interval, "list_interval": interval, "max_interval": interval}
        env = {**os.environ, "SAMSAR_API_KEY": KEY, "SAMSAR_BASE_URL": base_url,
               "RENDERER_EXEC_SETTINGS": json.dumps({"poll": poll})}
        db = None
        if side == "postgresql":
            db = server.create_db()
            env["RENDERER_STATE"] = server.url(db)
            before = transactions(server, db)
        argv = renderer_argv("run", str(path), "--state-dir", str(state), "--max-instances", str(max(n, 1)))
        try:
            sample = measure(argv, stdout=Path(tmp) / "out.txt", env=env)
            extra = {"requests/job": requests_seen(base_url) / n}
            if db is not None:
                extra["events/job"] = events_in_pg(server, db) / n
                extra["transactions/job"] = (settled_transactions(server, db) - before) / n
            else:
                extra["events/job"] = events_in_sqlite(state) / n
        finally:
            if db is not None:
                server.drop_db(db)
        return Sample(sample.wall, sample.cpu, sample.rss, extra)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[5_000])
    ap.add_argument("--repeat", type=int, default=3, help="interleaved pairs per size; medians are shown")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between status reads")
    ap.add_argument("--quick", action="store_true", help="20 jobs, one pair, 0.05 s polling")
    args = ap.parse_args(argv)
    sizes, repeat = ([20], 1) if args.quick else (args.sizes, args.repeat)
    if args.quick:
        args.interval = 0.05
    server = pgserver.start()
    try:
        with server.admin() as conn:  # the tests' server trades durability for speed: not here
            conn.execute("ALTER SYSTEM SET fsync = on")
            conn.execute("ALTER SYSTEM SET full_page_writes = on")
            conn.execute("SELECT pg_reload_conf()")
        pgserver.make_template(server)
        results = {}
        for n in sizes:
            sides = {side: lambda side=side, n=n: run_side(side, n, server, args.interval)
                     for side in ("postgresql", "sqlite")}
            results[n] = {name: median(samples) for name, samples in interleaved(sides, repeat).items()}
    finally:
        pgserver.stop(server)
    print(table(f"renderer run: the shared PostgreSQL store vs the SQLite journal (durable commits both), each run "
                f"in its own process against `renderer sandbox` in another; median of {repeat} interleaved pair(s)",
                sizes, results, targets={"wall": "<= 1.3x"},
                extras=[("requests per job", "requests/job", "{:.2f}"), ("events per job", "events/job", "{:.2f}"),
                        ("transactions/job", "transactions/job", "{:.2f}")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
