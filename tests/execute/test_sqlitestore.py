"""The journal: transitions, the lock, what survives a reopen."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from renderer.errors import StateError
from renderer.execute import records as J
from renderer.execute.identity import campaign_identity, journal_path
from renderer.execute.sqlitestore import SqliteJournal


def begin(j: SqliteJournal, iid: str = "a", sha: str = "s1", gen: int = 1) -> J.Submission:
    return j.begin(instance_id=iid, endpoint="samsar/image/enhance", provider="samsar", input_sha256=sha,
                   generation=gen, idempotency_key=f"k-{iid}-{gen}", body={"image_url": "u"}, estimate=(30, 50))


def test_intent_then_answer_then_outcome(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite")
    sub = begin(j)
    assert sub.state == J.SENDING and sub.attempts == 1 and sub.public_status == "unknown"
    sub = j.accepted(sub, request_id="img_1", session_id=None, credits_charged=50, response={"request_id": "img_1"})
    assert sub.public_status == "pending" and sub.session_id == "img_1"
    sub = j.finish(sub, J.COMPLETED, result_url="u1", result_urls=("u1",), response={"status": "COMPLETED"})
    j.close()
    again = SqliteJournal(tmp_path / "j.sqlite")
    stored = again.current("a", "s1")
    assert stored == sub  # what is in memory is what is on disk
    assert stored.credits_charged == 50 and stored.cost == 50
    kinds = [e["kind"] for e in again.events()]
    assert kinds == ["intent", "accepted", "completed"]
    assert again.transitions == 0 and j.transitions == 3


def test_generations_and_current(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite")
    first = begin(j)
    j.finish(first, J.FAILED, error="render failed")
    second = begin(j, gen=2)
    assert j.current("a", "s1").id == second.id
    assert {k: v.id for k, v in j.current_all().items()} == {("a", "s1"): second.id}
    with pytest.raises(sqlite3.IntegrityError):
        begin(j, gen=2)


def test_states_map_to_manifest_statuses() -> None:
    assert J.public_status(J.PREPARED) == "not_submitted"
    assert J.public_status(J.SENDING) == "unknown"
    assert J.public_status(J.ACCEPTED) == "pending"
    assert J.public_status(J.REJECTED, 400) == "failed"
    assert J.public_status(J.REJECTED, 402) == "not_submitted"
    assert J.public_status(J.UNKNOWN) == "unknown"


def test_cost_counts_estimates_until_charged(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite")
    sub = begin(j)
    assert sub.cost == 50  # may have been charged: the estimate's max
    assert j.rejected(sub, "HTTP 400", 400).cost == 0.0


def test_verdicts_are_cleared_by_a_new_intent(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite")
    j.set_verdict("a", "not_submitted", "budget")
    assert j.verdicts()["a"].reason == "budget"
    begin(j)
    assert "a" not in j.verdicts()


def test_lock_refuses_a_second_run_and_recovers_a_dead_one(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path)
    assert j.acquire_lock() is None
    with pytest.raises(StateError, match="in progress"):
        SqliteJournal(path).acquire_lock()
    j.close()
    # a run killed without cleaning up: its lock row stays, its flock is gone
    code = (
        "import os, sys; from pathlib import Path; from renderer.execute.sqlitestore import SqliteJournal;"
        f"j = SqliteJournal(Path({str(path)!r})); j.acquire_lock(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    note = SqliteJournal(path).acquire_lock()
    assert note and "stale lock" in note and "pid" in note


def test_unreadable_journal_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="is corrupt") as info:
        SqliteJournal(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and f"mv {path} {path}.broken" in message and "adopts" in message
    assert "start over" not in message
    assert path.read_bytes() == b"this is not sqlite" * 100  # never replaced


def test_path_is_keyed_by_the_campaigns_identity_not_where_the_checkout_lies(tmp_path: Path) -> None:
    for repo in ("one", "copy"):
        (tmp_path / repo / ".git").mkdir(parents=True)
    a = journal_path(".renderer", tmp_path / "one" / "x" / "camp.yaml", "spring")
    assert a.name.startswith("camp-") and a.suffix == ".sqlite" and a.parent == Path(".renderer")
    # another folder of the same repository, another name: another campaign
    assert journal_path(".renderer", tmp_path / "one" / "y" / "camp.yaml", "spring") != a
    assert journal_path(".renderer", tmp_path / "one" / "x" / "camp.yaml", "autumn") != a
    # the same campaign in a copy of the checkout, or named through another working directory
    assert journal_path(".renderer", tmp_path / "copy" / "x" / "camp.yaml", "spring") == a
    assert journal_path(".renderer", Path(os.path.relpath(tmp_path / "one" / "x" / "camp.yaml")), "spring") == a
    # no repository: relative to the manifest's folder
    assert campaign_identity(tmp_path / "c" / "camp.yaml", "s") == "s\ncamp.yaml"
    assert campaign_identity(tmp_path / "c" / "camp.yaml", "s", tmp_path / "m.json") == "s\nc/camp.yaml"


def test_after_commit_hook_counts_transitions(tmp_path: Path) -> None:
    seen = []
    j = SqliteJournal(tmp_path / "j.sqlite", after_commit=seen.append)
    sub = begin(j)
    j.accepted(sub, request_id="r", session_id=None, credits_charged=None, response=None)
    assert seen == [1, 2]
    assert os.path.exists(tmp_path / "j.sqlite-wal")  # WAL mode


# Runners that open one new journal at the same moment all get it (CI saw "database is locked"):
# switching a fresh file to WAL can answer "locked" without SQLite's busy handler, and the journal
# tries again within its patience. Before the fix, 4 of 180 such opens failed on one machine.
_fork = mp.get_context("fork")


def _open(path: str, start: object, results: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        SqliteJournal(Path(path)).close()
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - the failure is the test's message
        results.put(str(exc))  # type: ignore[attr-defined]


def test_six_processes_open_a_new_journal_at_once(tmp_path: Path) -> None:
    said: list[str] = []
    for round_ in range(8):
        path = str(tmp_path / f"j{round_}.sqlite")
        start, results = _fork.Event(), _fork.Queue()
        procs = [_fork.Process(target=_open, args=(path, start, results)) for _ in range(6)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        said += [results.get(timeout=10) for _ in procs]
    assert said == ["ok"] * 48
