"""One contract, two journal stores: SQLite on disk and PostgreSQL (a real server, tests/helpers/pgserver.py).

Every method of ``JournalStore``, the durability of ``begin`` (a killed writer's intent is
there), ``StateError`` naming the store on a refused write (and the refused outcome kept
for the manifest), odd values that come back exactly, two processes writing at once, and
the one-run-at-a-time lock.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pgserver import PASSWORD
from helpers.stores import all_at_once, begin_args, child, open_store

from renderer.errors import RunLocked, StateError
from renderer.execute import records as J
from renderer.execute.store import JournalStore

Opener = Callable[..., JournalStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def where(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the store lives: a SQLite file, or a database of its own on the test server."""
    return str(tmp_path / "j.sqlite") if kind == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
def opener(kind: str, where: str) -> Iterator[Opener]:
    opened: list[JournalStore] = []

    def go(**kw: Any) -> JournalStore:
        store = open_store(kind, where, **kw)
        opened.append(store)
        return store

    yield go
    for store in opened:
        try:
            store.close()
        except Exception:  # a test that broke its connection on purpose
            pass


def integrity_error(kind: str) -> type[Exception]:
    if kind == "sqlite":
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.IntegrityError


# -- every method -------------------------------------------------------------------------------------


def test_intent_answer_outcome_come_back_as_they_were_kept(opener: Opener) -> None:
    seen: list[int] = []
    store = opener(after_commit=seen.append)
    sub = store.begin(**begin_args())
    assert sub.state == J.SENDING and sub.attempts == 1 and sub.public_status == "unknown" and sub.cost == 50
    sub = store.accepted(sub, request_id="img_1", session_id=None, credits_charged=50, response={"request_id": "img_1"})
    assert sub.public_status == "pending" and sub.session_id == "img_1" and sub.http_status == 200
    sub = store.finish(sub, J.COMPLETED, result_url="u1", result_urls=("u1", "u2"), thumbnail_url="t",
                       duration=5.5, response={"status": "COMPLETED"})
    assert seen == [1, 2, 3]  # one transition each
    again = opener()
    assert again.current("a", "s1") == sub == again.get(sub.id)  # what is in memory is what is stored
    assert again.all() == [sub] and again.latest_per_instance() == [sub]
    assert sub.credits_charged == 50 and isinstance(sub.credits_charged, int) and sub.result_urls == ("u1", "u2")
    assert again.claimed_ids() == {"img_1"}


def test_a_render_paused_for_approval_and_continued(opener: Opener) -> None:
    """awaiting (previews kept), approving (the intent before the continuing POST), approved (charges add)."""
    store = opener()
    sub = store.accepted(store.begin(**begin_args()), request_id="vid_step_1", session_id=None, credits_charged=140,
                         response=None)
    paused = store.awaiting(sub, {"paused": {"stage": "ai_video_generation"}, "previews": [{"url": "https://x/1.png"}]})
    assert paused.public_status == "awaiting_approval" and opener().get(sub.id) == paused
    going = store.approving(paused)
    assert going.public_status == "pending" and going.state == J.APPROVING and opener().get(sub.id) == going
    went = store.approved(going, 160)
    assert went.state == J.ACCEPTED and went.credits_charged == 300 and opener().get(sub.id) == went
    assert store.approved(going, None).credits_charged is None  # one part unknown: the sum is


def test_charges_as_the_api_said_them_and_what_runs_learned_of_a_family(opener: Opener) -> None:
    from renderer.manifest import PricingFamily

    store = opener()
    sub = store.begin(**begin_args())
    sub = store.accepted(sub, request_id="r1", session_id=None, credits_charged=150, response={"k": 1},
                         credits_reported={"header": 0, "body": 150})
    done = store.finish(sub, "completed", result_url="https://x/1.png")  # no new figures: the earlier ones stay
    assert done.credits_reported == {"header": 0, "body": 150} and done.credits_charged == 150
    again = opener()
    assert again.get(sub.id).credits_reported == {"header": 0, "body": 150}
    assert again.families() == {}
    store.set_family(PricingFamily("image_enhance", 3.0, "completion", 12.5))
    again.set_family(PricingFamily("image_enhance", 2.0, None, None))  # another runner learned less: kept
    assert opener().families() == {"image_enhance": PricingFamily("image_enhance", 3, "completion", 12.5)}


def test_generations_current_and_a_duplicate_intent(opener: Opener, kind: str) -> None:
    store = opener()
    first = store.begin(**begin_args())
    store.finish(first, J.FAILED, error="render failed")
    second = store.begin(**begin_args(gen=2))
    other = store.begin(**begin_args("b", "s9"))
    assert store.current("a", "s1") == second and store.current("a", "nope") is None
    assert {k: v.id for k, v in store.current_all().items()} == {("a", "s1"): second.id, ("b", "s9"): other.id}
    assert store.generation_max("a", "s1") == 2 and store.generation_max("z", "s1") == 0
    assert [s.id for s in store.latest_per_instance()] == [second.id, other.id]
    assert [s.id for s in store.all()] == [first.id, second.id, other.id]
    with pytest.raises(integrity_error(kind)):  # our bug, never a user's error: not translated
        store.begin(**begin_args(gen=2))
    assert opener().current("a", "s1") == second


def test_attempts_refusals_and_unknowns(opener: Opener) -> None:
    store = opener()
    sub = store.begin(**begin_args())
    sub = store.retryable(sub, "HTTP 503", 503)
    assert sub.state == J.PREPARED and sub.public_status == "not_submitted" and sub.cost == 0.0
    sub = store.sending(sub)
    assert sub.state == J.SENDING and sub.attempts == 2
    refused = store.rejected(sub, "HTTP 400: bad", 400)
    assert refused.public_status == "failed" and refused.cost == 0.0 and refused.finished_at
    lost = store.unknown(store.begin(**begin_args("b")), "connection reset")
    assert lost.public_status == "unknown" and lost.cost == 50
    again = opener()
    assert again.get(refused.id) == refused and again.get(lost.id) == lost
    with pytest.raises(StateError, match="vanished"):
        again.get(10**9)


def test_adopted_rows_and_claimed_ids(opener: Opener) -> None:
    store = opener()
    store.record_adopted(J.Adopted(
        instance_id="a", endpoint="samsar/image/enhance", provider="samsar", input_sha256="s1", generation=3,
        idempotency_key="k", state=J.ACCEPTED, body={"image_url": "u"}, estimate=(50, 50), request_id="img_7",
        session_id="sess_7", credits_charged=None, sent_at="2025-01-01T00:00:00.000Z", error=None))
    sub = opener().current("a", "s1")
    assert sub is not None and sub.state == J.ACCEPTED and sub.generation == 3 and sub.body == {"image_url": "u"}
    assert sub.submitted_at == "2025-01-01T00:00:00.000Z" and sub.cost == 50
    assert store.claimed_ids() == {"img_7", "sess_7"}


def test_verdicts_notes_uploads_and_meta(opener: Opener) -> None:
    store = opener()
    store.set_verdict("a", "not_submitted", "budget")
    store.set_verdict("a", "not_submitted", "budget again")
    store.set_verdict("b", "failed", None)
    assert {k: (v.status, v.reason) for k, v in opener().verdicts().items()} == {
        "a": ("not_submitted", "budget again"), "b": ("failed", None)}
    store.begin(**begin_args("a"))  # a new intent: the earlier word on it no longer holds
    assert set(opener().verdicts()) == {"b"}
    store.clear_verdicts()
    assert opener().verdicts() == {}
    store.note("reconciled", json.dumps({"request_id": "r1"}), "a")
    store.note("reconciled", json.dumps({"request_id": "r2"}), "a")
    store.note("reconciled", "not json", "b")
    store.note("resubmit_unknown", "asked", "c")
    assert opener().reconciliations() == {"a": {"request_id": "r2"}}
    store.record_upload("in/a.png", "f1", "key-1", {"ok": True})
    store.record_upload("in/a.png", "f1", "key-2", None)
    got = opener().upload("in/a.png", "f1")
    assert got is not None and got.storage_key == "key-2" and opener().upload("in/a.png", "f2") is None
    store.set_meta({"campaign": "camp", "campaign_sha256": "abc"})
    store.set_meta({"campaign_sha256": "def"})
    meta = opener().meta()
    assert {k: meta.get(k) for k in ("campaign", "campaign_sha256")} == {"campaign": "camp", "campaign_sha256": "def"}


# -- durability ---------------------------------------------------------------------------------------------


def test_an_intent_is_kept_when_its_writer_dies_the_moment_begin_returns(kind: str, where: str,
                                                                         opener: Opener) -> None:
    code = ("sub = store.begin(instance_id='a', endpoint='samsar/image/enhance', provider='samsar', input_sha256='s',"
            " generation=1, idempotency_key='k-1', body={'image_url': 'x' * 5000}, estimate=(50, 50))\n"
            "os.kill(os.getpid(), signal.SIGKILL)  # where the POST would go\n")
    proc = child(kind, where, code)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    sub = opener().current("a", "s")
    assert sub is not None and sub.state == J.SENDING and sub.idempotency_key == "k-1"
    assert sub.body == {"image_url": "x" * 5000}


# -- refused writes ---------------------------------------------------------------------------------------


def _read_only(kind: str, store: Any) -> str:
    if kind == "sqlite":
        for db in {id(store._db): store._db, id(store._intent_db): store._intent_db}.values():
            db.execute("PRAGMA query_only = 1")
        return "read-only"
    store._db.execute("SET default_transaction_read_only = on")
    return "it is read-only"


def _dropped(kind: str, store: Any) -> str:
    if kind == "sqlite":
        store.max_pages = 1
        for db in {id(store._db): store._db, id(store._intent_db): store._intent_db}.values():
            db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")
        return "the disk is full"  # SQLite has no connection to lose: its refusal is a full disk
    import psycopg

    with psycopg.connect(store.url.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._db.info.backend_pid,))
    return "the connection to the shared store was lost"


@pytest.mark.parametrize("refuse", [_read_only, _dropped], ids=["read-only", "connection-lost-or-disk-full"])
def test_a_refused_write_is_a_state_error_naming_the_store_and_keeps_the_answer(
        kind: str, opener: Opener, refuse: Callable[[str, Any], str]) -> None:
    store = opener()
    sub = store.begin(**begin_args())
    said = refuse(kind, store)
    with pytest.raises(StateError) as info:
        store.accepted(sub, request_id="img_1", session_id=None, credits_charged=50, response={"pad": "x" * 20000})
    message = str(info.value)
    assert message.startswith(f"{store.label}: ") and said in message, message
    assert PASSWORD not in message and "internal error" not in message
    kept = store.get(sub.id)  # the manifest still gets the id the API gave
    assert kept.request_id == "img_1" and kept.public_status == "pending"
    with pytest.raises(StateError, match=f"^{store.label}: "):
        store.begin(**begin_args("b", body={"pad": "y" * 20000}))
    # every read the manifest is built from still answers
    assert [s.id for s in store.all()] == [sub.id] and store.current("a", "s1").id == sub.id  # type: ignore[union-attr]
    assert store.reconciliations() == {} and store.claimed_ids() <= {"img_1"}


# -- odd values ------------------------------------------------------------------------------------------

ODD = ["a\udc80b", "nul\x00inside", "\x01starts with the mark", "日本語 ☃", "\ud83d", "plain"]


def test_odd_strings_and_huge_numbers_come_back_exactly(opener: Opener) -> None:
    store = opener()
    subs = []
    for n, text in enumerate(ODD):
        sub = store.begin(**begin_args(text, f"sha-{text}", body={"prompt": text, text: [text, 10**30]},
                                       estimate=(10**400, 2**70)))
        sub = store.accepted(sub, request_id=f"r-{text}", session_id=f"s-{text}", credits_charged=10**30,
                             response={"echo": text})
        sub = store.finish(sub, J.FAILED if n % 2 else J.COMPLETED, result_url=f"https://x/{text}",
                           result_urls=(text,), error=f"the API said {text}", duration=1e308,
                           credits_charged=math.inf if n == 0 else float("nan") if n == 1 else 2**53 + 1)
        subs.append(sub)
        store.set_verdict(f"v-{text}", "not_submitted", f"because {text}")
        store.record_upload(f"in/{text}.png", text, f"key-{text}", {"k": text})
        store.note("reconciled", json.dumps({"why": text}), text)
    store.set_meta({"odd": ODD[0]})
    again = opener()
    for text, sub in zip(ODD, subs):
        got = again.current(text, f"sha-{text}")
        assert got == sub, text
        assert got.body == {"prompt": text, text: [text, 10**30]} and got.estimate_min == math.inf
        assert got.estimate_max == float(2**70) and got.duration == 1e308
        assert again.get(sub.id) == sub
        assert again.upload(f"in/{text}.png", text).storage_key == f"key-{text}"  # type: ignore[union-attr]
    assert subs[0].credits_charged == math.inf and subs[1].credits_charged is None  # NaN is no figure
    assert subs[2].credits_charged == float(2**53 + 1)
    assert {s.instance_id for s in again.latest_per_instance()} == set(ODD)
    assert {f"r-{t}" for t in ODD} | {f"s-{t}" for t in ODD} == again.claimed_ids()
    assert {k: v.reason for k, v in again.verdicts().items()} == {f"v-{t}": f"because {t}" for t in ODD}
    assert again.reconciliations() == {t: {"why": t} for t in ODD}
    assert again.meta()["odd"] == ODD[0]


# -- two processes ---------------------------------------------------------------------------------------

WRITER = """
print("ready", flush=True)
sys.stdin.readline()
for n in range(COUNT):
    iid = f"{TAG}-{n}"
    sub = store.begin(instance_id=iid, endpoint="samsar/image/enhance", provider="samsar", input_sha256="s",
                      generation=1, idempotency_key="k-" + iid, body={"n": n}, estimate=(10, 10))
    sub = store.accepted(sub, request_id="r-" + iid, session_id=None, credits_charged=10, response=None)
    store.finish(sub, "completed", result_url="u")
print("done", flush=True)
"""


def test_two_processes_write_at_once_and_lose_nothing(kind: str, where: str, opener: Opener) -> None:
    count = 40
    procs = [child(kind, where, f"COUNT, TAG = {count}, {tag!r}\n" + WRITER) for tag in ("left", "right")]
    all_at_once(procs, "done")
    subs = opener().all()
    assert len(subs) == 2 * count and len({s.id for s in subs}) == 2 * count
    assert all(s.state == J.COMPLETED and s.request_id == "r-" + s.instance_id for s in subs)
    for tag in ("left", "right"):  # each writer's rows in its own order
        mine = [s for s in subs if s.instance_id.startswith(tag)]
        assert [s.instance_id for s in mine] == [f"{tag}-{n}" for n in range(count)]


# -- one run at a time -----------------------------------------------------------------------------------

HOLDER = """
store.acquire_lock()
print(os.getpid(), flush=True)
sys.stdin.readline()
"""


def test_the_lock_names_its_holder_and_is_recovered_from_a_killed_one(kind: str, where: str,
                                                                      opener: Opener) -> None:
    holder = child(kind, where, HOLDER)
    assert holder.stdout is not None
    line = holder.stdout.readline().strip()
    assert line.isdigit(), holder.stderr.read() if holder.stderr else ""
    pid = int(line)
    store = opener()
    try:
        with pytest.raises(RunLocked) as info:
            store.acquire_lock()
        assert info.value.exit_code == 2
        message = str(info.value)
        assert message.startswith(f"{store.label}: ") and "in progress" in message
        assert f"(pid {pid} on {socket.gethostname()} since 20" in message
        assert store.holder() == {**store.holder(), "pid": pid, "running": True}  # type: ignore[dict-item]
    finally:
        holder.kill()  # SIGKILL: no clean-up of its own
        holder.communicate(timeout=30)
    note = _acquire_within(store, 30.0)  # the kernel (SQLite) or the server (PostgreSQL) let go
    assert note is not None and "stale lock" in note and f"pid {pid}" in note
    assert store.holder() == {**store.holder(), "pid": os.getpid(), "running": True}  # type: ignore[dict-item]


def _acquire_within(store: JournalStore, seconds: float) -> str | None:
    """A server notices a dead client's connection at once, but in its own process: poll until it has."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return store.acquire_lock()
        except RunLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_a_closed_store_lets_go_of_its_lock_without_a_trace(opener: Opener) -> None:
    first = opener()
    assert first.acquire_lock() is None and first.holder()["running"] is True  # type: ignore[index]
    first.close()
    again = opener()
    assert again.holder() is None
    assert again.acquire_lock() is None  # no stale lock to recover: the first run ended cleanly
