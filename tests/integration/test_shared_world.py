"""The issue's whole scenario at once, against the sandbox over loopback and one PostgreSQL store:
4 runner processes on 2 "machines" (separate checkouts and state dirs, nothing shared but the
database): the same campaign from both machines, and 3 campaigns on one account budget, under a
rate limit the sandbox's gateway enforces; one runner SIGKILLed once the sandbox accepted some of
its jobs, its campaign run again from a third, fresh checkout with no local files at all.

Everything asserted is counted by the sandbox itself (its sessions, charges, requests, 429s) or
read from the store: 0 duplicate charges, the account held to the credit, at most one 429, and
every job the killed runner got accepted adopted (polled), none sent again."""

from __future__ import annotations

import collections
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from helpers.runs import counters, make_sandbox
from helpers.shared_store import checkout, cli, released_together, stills, store_env, store_of, wait_unlocked

from renderer.execute.pgaccount import shared_accounts
from renderer.execute.stateurl import parse_url

PRICE = 50  # samsar/image/enhance at 2k: what the plan holds, and what the sandbox charges
CAP = 7 * PRICE  # the account: x and z ask 6 jobs together, so y is admitted at least one; 9 asked in all
LIMIT = 6  # requests a window, the windows 1 s long: the runners' POSTs and polls need several


def sessions_of(sb: Any, name: str) -> dict[str, str]:
    """The sandbox's own record of a campaign's accepted jobs: session id -> the image it enhances."""
    prefix = f"https://cdn.example.com/{name}/"
    return {s.id: s.extra["echo"]["image_url"] for s in list(sb.state.sessions.values())
            if s.extra.get("echo", {}).get("image_url", "").startswith(prefix)}


def kill_when_settled(proc: subprocess.Popen[str], url: str, path: Path, name: str, sb: Any) -> None:
    """SIGKILL ``proc`` once the sandbox has accepted some of its jobs, at a moment when none of its
    POSTs is on the way: stopped (SIGSTOP), every intent it committed has the API's answer recorded
    (an intent is committed before its POST, so a stopped runner sends nothing more). Otherwise it
    goes on (SIGCONT) and the test looks again."""
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline and proc.poll() is None, "the runner ended before it could be killed"
        if sessions_of(sb, name):
            proc.send_signal(signal.SIGSTOP)
            store = store_of(url, path, sb, name)
            try:
                subs = store.all()
            finally:
                store.close()
            if subs and all(s.request_id for s in subs):
                proc.kill()
                proc.communicate(timeout=30)
                return
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.005)  # polling a condition, with a deadline


def test_four_runners_two_machines_one_account_one_rate_limit_and_a_killed_runner(tmp_path: Path,
                                                                                 pg_url: str) -> None:
    a, b, c = (tmp_path / f"machine-{m}" for m in "abc")
    same = [checkout(a, stills("camp-x", 3)), checkout(b, stills("camp-x", 3))]  # one campaign, two machines
    y = checkout(a, stills("camp-y", 3), "y.yaml")
    z = checkout(b, stills("camp-z", 3), "z.yaml")
    with make_sandbox(render_seconds=1.0, requests_per_minute={"samsar": LIMIT}, rate_limit_window=1.0,
                      clock=time.time) as sb:
        env = store_env(sb, pg_url)
        assert cli(["account", "set", "team", "--max-credits", str(CAP)], env)[0] == 0
        book = shared_accounts(parse_url(pg_url))
        book.db.query("INSERT INTO {t}account_totals (account, period_key, committed) VALUES ('team', '', 0)")
        # all four start at once; x's second run is refused by the store's lock, the other three wait at
        # their first admission to the account (the test holds its row) and are released together
        procs = released_together(pg_url, [*same, y, z], env, "account_totals", "account = %s", ("team",),
                                  refused=1)
        kill_when_settled(procs[2], pg_url, y, "camp-y", sb)
        before_kill = sessions_of(sb, "camp-y")
        reads = dict(counters(sb)["status_reads_by_id"])
        store = store_of(pg_url, y, sb, "camp-y")
        recorded = {s.request_id for s in store.all()}
        store.close()
        # the third machine: a fresh checkout of y, no manifest, no journal, no state dir
        fresh = checkout(c, stills("camp-y", 3), "y.yaml")
        assert sorted(p.name for p in c.rglob("*") if p.is_file()) == ["y.yaml"]
        wait_unlocked(pg_url, y, sb, name="camp-y")
        code, out, err = cli(["run", str(fresh), "--state-dir", str(c / ".renderer")], env)
        outs = [p.communicate(timeout=120)[0] for p in procs]
        after = counters(sb)
        every = {n: sessions_of(sb, n) for n in ("camp-x", "camp-y", "camp-z")}
        charged = [s.credits_charged for s in sb.state.sessions.values()]
        windows = dict(sb.state.limiters["samsar"].accepted_by_window)
        [acc] = book.status("team")
        book.close()
    # the same campaign from both machines: one ran, the other was refused by the store's lock (exit 2)
    ran, refused = sorted(procs[:2], key=lambda p: p.returncode == 2)
    assert refused.returncode == 2 and ran.returncode in (0, 3), outs
    assert (f"another run of campaign 'camp-x' is in progress (pid {ran.pid} on {socket.gethostname()} since 20"
            in outs[procs.index(refused)])
    assert procs[2].returncode == -signal.SIGKILL and procs[3].returncode in (0, 3), outs
    # 0 duplicates: each job the sandbox accepted once, every Idempotency-Key answered once
    images = collections.Counter(u for jobs in every.values() for u in jobs.values())
    assert images and max(images.values()) == 1 and after["duplicates_total"] == 0, images
    assert after["idempotent_replays"] == 0
    # the account held to the credit: no price moved, so no family (image/enhance) overcharged once
    assert set(charged) == {PRICE} and after["credits_charged"]["samsar"] == PRICE * len(charged) <= CAP
    assert (acc.spent, acc.held) == (PRICE * len(charged), 0) and acc.remaining == CAP - acc.spent, out + err
    # the rate limit never passed: several windows' worth of requests, at most one 429
    assert after["rate_limited"] <= 1, (after["rate_limited"], sorted(windows.items()))
    assert sum(windows.values()) > 2 * LIMIT  # more than two windows could take
    # the killed runner's accepted jobs: adopted by the fresh checkout's run, polled, none sent again
    assert code == 0 or (code == 3 and "account team: held back" in out), out + err  # as much as fits is sent
    assert before_kill and set(before_kill) == recorded, (before_kill, recorded)
    assert all(every["camp-y"][sid] == image for sid, image in before_kill.items())
    assert all(after["status_reads_by_id"][sid] > reads.get(sid, 0) for sid in before_kill)
    manifest = fresh.with_name("y.manifest.json").read_text("utf-8")
    adopted = [sid for sid in before_kill if f'"request_id": "{sid}"' in manifest]
    assert len(adopted) == len(before_kill)
    assert not (c / ".renderer").exists() and not (a / ".renderer").exists() and not (b / ".renderer").exists()
