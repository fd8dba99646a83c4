"""What only the shared store has to face: its server out of reach, its connection cut in the middle of a run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from helpers.runs import counters, make_sandbox
from helpers.pgserver import PgServer
from helpers.stores import begin_args, open_store
from helpers.shared_store import checkout, images, manifest, run, store_env, store_of, subprocess_run

from renderer.errors import StateError
from renderer.execute import records as J
from renderer.execute.stateurl import parse_url


def test_with_its_server_out_of_reach_the_store_answers_reads_from_what_it_saw(pg_url: str, pg_server: PgServer) -> None:
    store = open_store("postgresql", pg_url)
    first = store.accepted(store.begin(**begin_args("a")), request_id="r1", session_id=None, credits_charged=50,
                           response=None)
    store.note("reconciled", json.dumps({"request_id": "r1", "by": "list"}), "a")
    second = store.begin(**begin_args("b"))
    store.url = parse_url(pg_server.url("postgres").replace(f":{pg_server.port}/", ":1/"))  # no server there now
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._db.info.backend_pid,))
    with pytest.raises(StateError, match="the connection to the shared store was lost"):
        store.accepted(second, request_id="r2", session_id=None, credits_charged=50, response=None)
    with pytest.raises(StateError, match="the connection to the shared store was lost"):
        store.begin(**begin_args("c"))  # no new intent without the lock: none is sent
    assert store.get(second.id).request_id == "r2"  # the answer the store refused is kept for the manifest
    assert [s.id for s in store.all()] == [first.id, second.id]
    assert store.current("a", "s1") == first and store.current("b", "s1").request_id == "r2"  # type: ignore[union-attr]
    assert store.reconciliations() == {"a": {"request_id": "r1", "by": "list"}}
    assert store.claimed_ids() == {"r1", "r2"} and store.generation_max("b", "s1") == 1
    assert [s.instance_id for s in store.latest_per_instance()] == ["a", "b"]
    store.close()


def test_a_run_whose_connection_is_cut_stops_writes_its_manifest_and_the_next_run_finishes(
        tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images(list(range(8)), keys=False))
    with make_sandbox(render_seconds=1.0) as sb:
        env = store_env(sb, pg_url)
        proc = subprocess_run(a, env, "--state-dir", str(tmp_path / "state"))
        deadline = time.monotonic() + 30
        while counters(sb)["accepted_total"] < 2:  # waiting for a condition, not for time to pass
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        with psycopg.connect(pg_url, autocommit=True) as admin:  # a network cut, a failover, an admin
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'renderer'"
                          " AND pid <> pg_backend_pid()")
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1, out
        assert f"{parse_url(pg_url).label}: the connection to the shared store was lost" in out
        assert "internal error" not in out
        accepted = counters(sb)["accepted_total"]
        first = manifest(a)
        ids = {e["request_id"] for e in first["jobs"].values() if e["request_id"]}
        assert len(ids) + first["counts"].get("unknown", 0) >= accepted  # every id the API gave, or its doubt
        code, out, err = run(a, env)
        c = counters(sb)
    assert code == 0, out + err
    assert manifest(a)["counts"] == {"completed": 8}
    assert c["duplicates_total"] == 0 and c["accepted_total"] == 8
    store = store_of(pg_url, a, sb)  # an outcome the store refused stays what it last held (the manifest has it)
    assert {s.state for s in store.latest_per_instance()} <= {J.COMPLETED, J.ACCEPTED}
    store.close()
