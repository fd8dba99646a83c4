"""Opening a journal store of either kind the same way, here and in child processes (the contract tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from renderer.execute.sqlitestore import SqliteJournal
from renderer.execute.stateurl import parse_url
from renderer.execute.store import JournalStore

IDENTITY = "camp\ncampaigns/camp.yaml"
TESTS = Path(__file__).resolve().parents[1]  # where the `helpers` package is found


def open_store(kind: str, where: str, **kw: Any) -> JournalStore:
    """``where``: the SQLite file, or the store's URL."""
    if kind == "sqlite":
        return SqliteJournal(Path(where), **kw)
    from renderer.execute.pgstore import PgJournal

    return PgJournal(parse_url(where), IDENTITY, "camp", **kw)


def child(kind: str, where: str, code: str) -> subprocess.Popen[str]:
    """A Python process with ``store`` open; it runs ``code`` (stdin/stdout are pipes to talk to it)."""
    prelude = (f"import os, sys, signal, json; "
               f"from helpers.stores import open_store; store = open_store({kind!r}, {where!r})\n")
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, "-c", prelude + code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path})


def all_at_once(procs: list[subprocess.Popen[str]], said: str, timeout: float = 120) -> None:
    """Children that print "ready" and wait for a line: start them together, and each must end saying ``said``."""
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0 and out.strip() == said, err


def begin_args(iid: str = "a", sha: str = "s1", gen: int = 1, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(instance_id=iid, endpoint="samsar/image/enhance", provider="samsar", input_sha256=sha,
                                generation=gen, idempotency_key=f"k-{iid}-{gen}", body={"image_url": "u"},
                                estimate=(30, 50))
    return {**args, **kw}
