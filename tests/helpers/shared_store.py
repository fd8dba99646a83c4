"""Runners that share a PostgreSQL store: checkouts on "machines" that share nothing but the database,
`renderer run` in this process or as a subprocess, and the store's view of a campaign."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from helpers.runs import FAST_JSON, env_for
from renderer.cli import main
from renderer.execute.identity import journal_key
from renderer.execute.pgstore import PgJournal
from renderer.execute.stateurl import parse_url

NAME = "shared"


def images(ids: list[int], *, budget: int | None = None, keys: bool = False, prefix: str = "") -> str:
    """A campaign of image jobs (50 credits each); ``keys: false``: an API that ignores Idempotency-Key,
    so that only the record can prevent a second payment."""
    money = f"budget: {{max_credits: {budget}}}\n" if budget is not None else ""
    return (f"version: 1\nname: {NAME}\n{money}providers:\n  samsar: {{idempotent_keys: {str(keys).lower()}}}\n"
            f"jobs:\n  still:\n    endpoint: samsar/image/enhance\n    matrix:\n      i: {ids}\n"
            f"    input: {{image_url: \"https://cdn.example.com/{prefix}{{{{ matrix.i }}}}.png\", resolution: 2k}}\n")


def stills(name: str, n: int, account: str = "team", budget: int | None = None) -> str:
    """``n`` image jobs of 50 credits each, spending from ``account``."""
    money = f"budget: {{account: {account}" + (f", max_credits: {budget}" if budget is not None else "") + "}\n"
    return (f"version: 1\nname: {name}\n{money}jobs:\n  still:\n    endpoint: samsar/image/enhance\n"
            f"    matrix:\n      i: {list(range(n))}\n"
            f"    input: {{image_url: \"https://cdn.example.com/{name}/{{{{ matrix.i }}}}.png\", resolution: 2k}}\n")


def checkout(root: Path, text: str, file: str = "camp.yaml") -> Path:
    """A checkout of the repository on some machine: ``<root>/.git``, ``<root>/campaigns/<file>``."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / "campaigns").mkdir(exist_ok=True)
    path = root / "campaigns" / file
    path.write_text(text, encoding="utf-8")
    return path


def cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, {**env, "RENDERER_EXEC_SETTINGS": FAST_JSON})
    return code, out.getvalue(), err.getvalue()


def run(path: Path, env: dict[str, str], *extra: str) -> tuple[int, str, str]:
    """`renderer run` from the checkout's root, its state dir in the checkout (never shared)."""
    state = path.parent.parent / ".renderer"
    return cli(["run", str(path), "--state-dir", str(state), *extra], env)


def manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))


def store_env(sb: Any, url: str) -> dict[str, str]:
    return {**env_for(sb), "RENDERER_STATE": url}


def key_of(path: Path, sb: Any, name: str = NAME) -> str:
    """The store's key of the campaign's runs against the sandbox ``sb`` (its identity and that target)."""
    return journal_key(path, name, path.with_name(f"{path.stem}.manifest.json"), f"samsar={sb.base_urls['samsar']}")


def store_of(url: str, path: Path, sb: Any, name: str = NAME) -> PgJournal:
    return PgJournal(parse_url(url), key_of(path, sb, name), name, create=False)


def wait_unlocked(url: str, path: Path, sb: Any, seconds: float = 30.0, name: str = NAME) -> None:
    """Until the server has ended the session of a killed runner (and so released its lock)."""
    store = store_of(url, path, sb, name)
    try:
        deadline = time.monotonic() + seconds
        while (store.holder() or {}).get("running"):
            assert time.monotonic() < deadline, "the server kept a dead runner's lock"
            time.sleep(0.02)  # polling a condition, with a deadline
    finally:
        store.close()


def subprocess_run(path: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    full = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env,
            "RENDERER_EXEC_SETTINGS": FAST_JSON}
    return subprocess.Popen([sys.executable, "-m", "renderer.cli", "run", str(path), *extra], cwd=path.parent.parent,
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def waiting_on(url: str, table: str) -> int:
    """Runner sessions waiting for a row lock, in a statement on ``table`` (``renderer.<table>``)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'renderer'"
                           " AND wait_event_type = 'Lock' AND query LIKE %s", (f"% renderer.{table} %",)).fetchone()
    return int(row[0]) if row else 0


def released_together(url: str, paths: list[Path], env: dict[str, str], table: str, where: str,
                      params: tuple[Any, ...], refused: int = 0) -> list[subprocess.Popen[str]]:
    """A runner process per campaign file (its state dir in its checkout), each held at its first
    write to the row of ``renderer.<table>`` that ``where`` names (the test holds it: SELECT ...
    FOR UPDATE) until all of them wait there, but for ``refused`` of them that end before it (a
    second run of a campaign, refused by its lock); then released at once (no sleep decides who
    goes first)."""
    with psycopg.connect(url) as gate:
        gate.execute(f"SELECT * FROM renderer.{table} WHERE {where} FOR UPDATE", params)
        procs = [subprocess_run(p, env, "--state-dir", str(p.parent.parent / ".renderer")) for p in paths]
        deadline = time.monotonic() + 60
        while waiting_on(url, table) < len(paths) - refused or sum(p.poll() is not None for p in procs) < refused:
            assert time.monotonic() < deadline and sum(p.poll() is not None for p in procs) <= refused, \
                [p.communicate()[0] for p in procs if p.poll() is not None]
            time.sleep(0.01)  # polling a condition, with a deadline
        gate.commit()
    return procs
