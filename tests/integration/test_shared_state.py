"""A shared PostgreSQL store (RENDERER_STATE): the record outlives any runner, and one run per campaign
runs at a time across machines. Real sandbox over loopback, a real PostgreSQL server (tests/helpers/pgserver.py),
`renderer` itself (in this process, or as a subprocess where a runner must die).

"Machines" here are separate checkouts with separate state dirs: they share nothing but the database.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from helpers.runs import CANARY, FAST, counters, env_for, make_sandbox
from helpers.runs import run as run_command
from helpers.pgserver import PASSWORD, PgServer
from helpers.shared_store import (
    NAME,
    checkout,
    cli,
    images,
    key_of,
    manifest,
    run,
    store_env,
    store_of,
    subprocess_run,
    wait_unlocked,
)

from renderer import providers
from renderer.execute.durable import RepositoryLock
from renderer.execute.stateurl import parse_url
from renderer.manifest import PricingFamily

class IgnoresKeys(httpx.AsyncBaseTransport):
    """An API that ignores Idempotency-Key, as the issue measured: the header never reaches the sandbox,
    so only the record can keep a job from being paid twice."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.pop("Idempotency-Key", None)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_ignoring_keys(path: Path, env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = run_command(str(path), out, env, state_dir=str(path.parent.parent / ".renderer"), exec_settings=FAST,
                       transports={"samsar": IgnoresKeys()})
    return code, out.getvalue()


# -- the record outlives the runner -------------------------------------------------------------------------


def test_a_fresh_checkout_with_no_local_files_adopts_what_the_store_holds(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1, 2, 3]))
    b = checkout(tmp_path / "machine-b", images([0, 1, 2, 3]))
    with make_sandbox() as sb:
        env = store_env(sb, pg_url)
        code, out, err = run(a, env, "--detach")
        assert code == 0, out + err
        assert manifest(a)["counts"] == {"pending": 4}
        # machine b: no manifest, no journal, nothing on its disk
        code, out, err = cli(["plan", str(b)], env)
        assert code == 0, out + err
        assert "4 of the jobs to run were sent already" in out and PASSWORD not in out + err
        code, out, err = run(b, env)
        c = counters(sb)
    assert code == 0, out + err
    assert manifest(b)["counts"] == {"completed": 4}
    assert c["accepted_total"] == 4 and c["duplicates_total"] == 0
    assert c["requests"]["POST /v1/image/enhance"] == 4 and c["idempotent_replays"] == 0  # polled, not sent again
    assert not (tmp_path / "machine-b" / ".renderer").exists()  # the store is the journal
    assert not (tmp_path / "machine-a" / ".renderer").exists()
    assert PASSWORD not in out + err + json.dumps(manifest(b))


def test_a_sigkilled_runners_accepted_jobs_are_adopted_by_the_next_runner_elsewhere(tmp_path: Path,
                                                                                    pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images(list(range(6)), keys=True))
    b = checkout(tmp_path / "machine-b", images(list(range(6)), keys=True))
    with make_sandbox(render_seconds=1.0) as sb:
        env = store_env(sb, pg_url)
        proc = subprocess_run(a, env)
        deadline = time.monotonic() + 30
        store = store_of(pg_url, a, sb)
        while not store.known or sum(1 for s in store.all() if s.request_id) < 3:  # a condition, not a time
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
            store.close()
            store = store_of(pg_url, a, sb)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        # machine-a's checkout (a CI runner's, gone with it) and its manifest play no part: machine-b has its own
        accepted = {s.instance_id for s in store.all() if s.request_id}
        store.close()
        assert len(accepted) >= 3
        wait_unlocked(pg_url, a, sb)
        code, out, err = run(b, env)
        c = counters(sb)
    assert code == 0, out + err
    assert "recovered a stale lock" in out and f"on {socket.gethostname()}" in out
    assert c["accepted_total"] == 6 and c["duplicates_total"] == 0  # each job paid once, whoever sent it
    jobs = manifest(b)["jobs"]
    assert all(jobs[iid]["status"] == "completed" for iid in accepted)
    assert not (tmp_path / "machine-b" / ".renderer").exists()


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 or args[0] == "pull", done.stdout + done.stderr  # a pull may stop on conflicts
    return done.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("shared", [True, False], ids=["store", "sqlite-per-checkout"])
def test_two_branches_merged_keeping_one_side_pay_nothing_twice_with_the_store(
        tmp_path: Path, request: pytest.FixtureRequest, shared: bool) -> None:
    """The issue's case: two branches each run the campaign and commit their manifests; the merge
    keeps one side. With the store: 0 duplicates. Without (a SQLite journal per checkout): the
    dropped side's jobs and the ones both branches ran are paid again, as measured in the issue."""
    origin = tmp_path / "origin"
    (origin / "campaigns").mkdir(parents=True)
    (origin / "campaigns" / "camp.yaml").write_text(images([0, 1]), encoding="utf-8")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "campaign")
    for side in ("a", "b"):
        git(tmp_path, "clone", "-q", str(origin), side)
    a, b = (tmp_path / s / "campaigns" / "camp.yaml" for s in ("a", "b"))
    url = request.getfixturevalue("pg_url") if shared else None
    with make_sandbox() as sb:
        env = store_env(sb, url) if url else env_for(sb)
        for path, ids, side in ((a, [0, 1, 2, 3], "a"), (b, [0, 1, 4, 5], "b")):
            path.write_text(images(ids), encoding="utf-8")
            code, out = run_ignoring_keys(path, env)
            assert code == 0, out
            git(path.parent.parent, "add", "campaigns")
            git(path.parent.parent, "commit", "-qm", f"run on branch {side}")
        # merge b into a; keep a's manifest (`--ours`), write the campaign of both by hand
        git(tmp_path / "a", "pull", "-q", "--no-rebase", "--no-edit", str(tmp_path / "b"), "main")
        git(tmp_path / "a", "checkout", "--ours", "campaigns/camp.manifest.json")
        a.write_text(images([0, 1, 2, 3, 4, 5]), encoding="utf-8")
        git(tmp_path / "a", "add", "campaigns")
        git(tmp_path / "a", "commit", "-qm", "merge b, keeping our manifest")
        assert set(manifest(a)["jobs"]) == {f"still[i={i}]" for i in (0, 1, 2, 3)}  # b's side was dropped
        code, out = run_ignoring_keys(a, env)
        c = counters(sb)
    assert code == 0, out
    assert manifest(a)["counts"] == {"completed": 6} and c["idempotent_replays"] == 0
    if shared:
        assert c["accepted_total"] == 6 and c["duplicates_total"] == 0
    else:  # b paid 0 and 1 again, then the merged run paid 4 and 5 again
        assert c["accepted_total"] == 10 and c["duplicates_total"] == 4


# -- plan and run agree -------------------------------------------------------------------------------------


def test_plan_reads_the_store_so_plan_and_run_agree_on_the_budget(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1, 2, 3]))
    b = checkout(tmp_path / "machine-b", images([0, 1], budget=250, prefix="b"))  # 100 new, 200 spent elsewhere
    with make_sandbox() as sb:
        env = store_env(sb, pg_url)
        assert run(a, env)[0] == 0
        code, out, err = cli(["plan", str(b)], env_for(sb))  # without the store: 100 of 250, fine
        assert code == 0, out + err
        code, out, err = cli(["plan", str(b), "--json"], env)
        assert code == 3, out + err
        assert json.loads(out)["budget"]["spent"] == 200 and "budget.max_credits is 250" in err
        sent = counters(sb)["requests_total"]
        code, out, err = run(b, env)
        assert code == 3, out + err  # what plan fails, run refuses, before it sends anything
        assert counters(sb)["requests_total"] == sent


def test_plan_writes_nothing_to_the_store(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1, 2]))
    with make_sandbox() as sb:
        assert run(a, env_for(sb), "--detach")[0] == 0  # a manifest with pending jobs, no store
        code, out, err = cli(["plan", str(a)], store_env(sb, pg_url))
        assert code == 0, out + err
        assert "3 of the jobs to run were sent already" in out  # run would adopt them: so does plan, rolled back
    with psycopg.connect(pg_url) as conn:
        counts = [conn.execute(f"SELECT COUNT(*) FROM renderer.{t}").fetchone()[0]  # type: ignore[index]
                  for t in ("campaigns", "submissions", "events", "holders", "runs")]
    assert counts == [0, 0, 0, 0, 0]


# -- one run per campaign, across machines ---------------------------------------------------------------

HOLD = """
import sys
from renderer.execute.pgstore import PgJournal
from renderer.execute.stateurl import parse_url
from renderer.manifest import PricingFamily
store = PgJournal(parse_url(sys.argv[1]), sys.argv[2], sys.argv[3])
store.acquire_lock()
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_second_run_on_another_machine_is_refused_naming_the_holder(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1]))
    b = checkout(tmp_path / "machine-b", images([0, 1]))
    with make_sandbox() as sb:  # one API for both: the lock is the campaign's runs against it
        holder = subprocess.Popen([sys.executable, "-c", HOLD, pg_url, key_of(a, sb), NAME], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            code, out, err = run(b, store_env(sb, pg_url))
            assert code == 2, out + err
            label = parse_url(pg_url).label
            assert f"{label}: another run of campaign 'shared' is in progress " \
                   f"(pid {holder.pid} on {socket.gethostname()} since 20" in err
            assert counters(sb)["requests_total"] == 0 and PASSWORD not in err
            code, out, err = cli(["status", str(b), "--state", pg_url], env_for(sb))
            assert code == 0 and f"run in progress: pid {holder.pid} on {socket.gethostname()}" in out
        finally:
            holder.kill()
            holder.communicate(timeout=30)
        wait_unlocked(pg_url, a, sb)
        code, out, err = run(b, store_env(sb, pg_url))
    assert code == 0, out + err
    assert f"recovered a stale lock: the run of pid {holder.pid}" in out


def test_the_store_lock_replaces_the_lock_beside_git(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0]))
    held = RepositoryLock(a, NAME)  # another run of this checkout without the store
    held.acquire()
    try:
        with make_sandbox() as sb:
            code, out, err = run(a, store_env(sb, pg_url))
    finally:
        held.release()
    assert code == 0, out + err


# -- seeing it --------------------------------------------------------------------------------------------


def test_status_all_lists_every_campaign_of_the_store(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "repo", images([0, 1, 2]))
    other = a.with_name("other.yaml")
    other.write_text(images([7], prefix="o").replace(f"name: {NAME}", "name: autumn"), encoding="utf-8")
    with make_sandbox() as sb:
        env = store_env(sb, pg_url)
        assert run(a, env)[0] == 0
        assert run(a, env)[0] == 0  # a second run: nothing to send
        assert cli(["run", str(other), "--state-dir", str(tmp_path / "s"), "--detach"], env)[0] == 0
    store = store_of(pg_url, a, sb)  # a POST whose answer never came: held at its estimate x what its family
    store.begin(instance_id="still[i=9]", endpoint="samsar/image/enhance", provider="samsar", input_sha256="x",
                generation=1, idempotency_key="k", body={}, estimate=(50, 50))  # was charged: 3x, the budget's hold
    store.set_family(PricingFamily(providers.family("samsar/image/enhance"), 3.0, "completion", None))
    store.close()
    code, out, err = cli(["status", "--all", "--json", "--state", pg_url], {})
    assert code == 0, err
    data = json.loads(out)
    assert data["store"] == parse_url(pg_url).label and PASSWORD not in out
    shown = {c["name"]: {k: c[k] for k in ("path", "target", "runs", "jobs", "charged", "held")}
             for c in data["campaigns"]}
    target = f"samsar={sb.base_urls['samsar']}"  # each campaign's runs against that API
    assert shown == {
        "autumn": {"path": "campaigns/other.yaml", "target": target, "runs": 1, "jobs": {"pending": 1}, "charged": 50,
                   "held": 0},
        "shared": {"path": "campaigns/camp.yaml", "target": target, "runs": 2, "jobs": {"completed": 3, "unknown": 1},
                   "charged": 150, "held": 150},
    }
    assert [c["holder"] for c in data["campaigns"]] == [None, None]  # both runs ended and let go
    code, out, err = cli(["status", "--all"], {"RENDERER_STATE": pg_url})
    assert code == 0, err
    assert out.splitlines() == [
        f"{parse_url(pg_url).label}: 2 campaign(s)",
        f"autumn  campaigns/other.yaml  against {target}", out.splitlines()[2], "  0/1 done; 1 pending; charged 50 credits, held 0",
        f"shared  campaigns/camp.yaml  against {target}", out.splitlines()[5],
        "  3/4 done (3 completed); 1 unknown; charged 150 credits, held 150",
    ]
    assert out.splitlines()[5].startswith("  2 run(s), last 20")
    code, out, err = cli(["status", "--all"], {})
    assert code == 2 and "set RENDERER_STATE (or pass --state URL)" in err


def test_status_from_another_machine_and_when_the_store_has_nothing(tmp_path: Path, pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1]))
    b = checkout(tmp_path / "machine-b", images([0, 1]))
    with make_sandbox() as sb:
        code, out, err = cli(["status", str(b), "--state", pg_url], env_for(sb))
        assert code == 1 and f"no run state for {b} against {sb.base_urls['samsar']} in the store " \
                              f"{parse_url(pg_url).label}" in err
        assert run(a, store_env(sb, pg_url), "--detach")[0] == 0
        code, out, err = cli(["status", str(b), "--json"], {**env_for(sb), "RENDERER_STATE": pg_url})
        assert code == 0, err
        data = json.loads(out)
        assert data["counts"] == {"pending": 2} and data["journal"] == parse_url(pg_url).label
        assert data["running"] is None and PASSWORD not in out  # the run ended and let go of its lock
        # b pulls a's manifest (2 pending); a's next run finishes them: b's results read the store
        shutil.copy(a.with_name("camp.manifest.json"), b.with_name("camp.manifest.json"))
        assert run(a, store_env(sb, pg_url))[0] == 0
    code, out, err = cli(["results", str(b), "--json"], {})
    assert {j["status"] for j in json.loads(out)["jobs"].values()} == {"pending"}
    code, out, err = cli(["results", str(b), "--json", "--state", pg_url], env_for(sb))  # that API's record
    assert code == 0, err
    jobs = json.loads(out)["jobs"]
    assert {j["status"] for j in jobs.values()} == {"completed"} and all(j["result_urls"] for j in jobs.values())


# -- the URL is a secret ------------------------------------------------------------------------------------


def test_the_url_and_its_password_never_show(tmp_path: Path, pg_server: PgServer, pg_db: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1]))
    url = pg_server.url(pg_db)
    label = pg_server.label(pg_db)
    assert parse_url(url).label == label
    assert parse_url("postgres://u:p%40ss@db.example.com/x?sslmode=require&password=zz").label == \
        "postgresql://u@db.example.com:5432/x?sslmode=require"
    from renderer.execute.scrub import secrets_from_env

    assert {url, PASSWORD} <= set(secrets_from_env({"RENDERER_STATE": url}))
    # a refused login: named without the password, exit 1, nothing sent
    wrong = pg_server.url(pg_db, password="Wrong-Passw0rd-9")
    with make_sandbox(faults={"schedule": {1: "long_error_key"}}) as sb:
        code, out, err = cli(["run", str(a), "--state", wrong], env_for(sb))
        assert code == 1 and f"{label}: the store refused the login" in err, err
        assert "Wrong-Passw0rd-9" not in out + err and counters(sb)["requests_total"] == 0
        # nobody listening
        code, out, err = cli(["status", str(a)], {"RENDERER_STATE": f"postgresql://renderer:{PASSWORD}@127.0.0.1:1/x"})
        assert code == 1 and "postgresql://renderer@127.0.0.1:1/x: cannot reach the shared store" in err
        assert PASSWORD not in out + err
        # not a PostgreSQL URL: usage, and the URL is not echoed
        code, out, err = cli(["plan", str(a), "--state", f"mysql://root:{PASSWORD}@h/db"], {})
        assert code == 2 and "it is a 'mysql' URL" in err and PASSWORD not in out + err
        # a real run, an API that quotes the key back: neither the key nor the store's secrets are kept
        code, out, err = cli(["run", str(a), "--state", url], env_for(sb))
        assert code == 1, out + err
    written = out + err + a.with_name("camp.manifest.json").read_text("utf-8")
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'renderer' ORDER BY 1")]
        assert {"submissions", "families", "rate_windows"} <= set(tables)  # every migration's tables, too
        for table in tables:
            written += json.dumps(conn.execute(f"SELECT * FROM renderer.{table}").fetchall(), default=str)
    assert url not in written and PASSWORD not in written and CANARY not in written
    assert "key=[red" in written  # the quoted key was there, scrubbed (then cut at the error's length)


def test_a_sandbox_rehearsal_keeps_its_state_local_and_the_shared_record_untouched(tmp_path: Path,
                                                                                   pg_url: str) -> None:
    a = checkout(tmp_path / "machine-a", images([0, 1]))
    code, out, err = cli(["run", str(a), "--sandbox", "--state-dir", str(tmp_path / "state")],
                         {"RENDERER_STATE": pg_url})
    assert code == 0, out + err
    assert f"--sandbox keeps its run state under {tmp_path / 'state'}, not in the shared store " \
           f"{parse_url(pg_url).label}" in out
    assert list((tmp_path / "state").glob("*.sqlite"))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM renderer.campaigns").fetchone() == (0,)
