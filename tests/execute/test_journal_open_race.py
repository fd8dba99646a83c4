"""Runners that open one new journal at the same moment all get it (CI saw "database is locked").

Switching a fresh file to WAL can answer "locked" without SQLite's busy handler; the journal
tries again within its patience. Before the fix, 4 of 180 such opens failed on this machine.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from renderer.execute.journal import Journal

_ctx = mp.get_context("fork")


def _open(path: str, start: object, results: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        Journal(Path(path)).close()
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - the failure is the test's message
        results.put(str(exc))  # type: ignore[attr-defined]


def test_six_processes_open_a_new_journal_at_once(tmp_path: Path) -> None:
    said: list[str] = []
    for round_ in range(8):
        path = str(tmp_path / f"j{round_}.sqlite")
        start, results = _ctx.Event(), _ctx.Queue()
        procs = [_ctx.Process(target=_open, args=(path, start, results)) for _ in range(6)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        said += [results.get(timeout=10) for _ in procs]
    assert said == ["ok"] * 48
