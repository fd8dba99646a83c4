"""A sandbox that remembers: sessions, balances, idempotency answers and ids, in one SQLite file.

`renderer run --sandbox` keeps this under ``<state-dir>/sandbox/``, and
`renderer sandbox --state DIR` under DIR, so a later run finds the sessions an
earlier one created, as it would against the real API: edit-and-re-run, resume
after an interrupt, and ``--detach`` then ``run`` all work, and ids stay unique
across runs.

Render progress is time-based: a session's creation and readiness are stored as
wall-clock times and mapped back onto the sandbox clock when loaded, so sessions
that were rendering when the last sandbox stopped are finished once their time
has passed. Changes are written after every request, before its answer leaves.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from renderer.errors import ConfigError
from renderer.sandbox.session import Session, Stored

if TYPE_CHECKING:
    from renderer.sandbox.state import SandboxState

FILE_NAME = "sandbox.sqlite"

_DDL = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (owner TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (owner, key));
CREATE TABLE IF NOT EXISTS seen (owner TEXT NOT NULL, endpoint TEXT NOT NULL, sha TEXT NOT NULL, n INTEGER NOT NULL,
                                 PRIMARY KEY (owner, endpoint, sha));
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def session_ids(folder: Path) -> set[str]:
    """The ids of the sessions a sandbox kept in ``folder`` (empty when it kept none, or unreadable)."""
    path = folder / FILE_NAME
    if not path.exists():
        return set()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {r for (r,) in db.execute("SELECT id FROM sessions")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()


class SandboxStore:
    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_DDL)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"{self.path}: cannot keep the sandbox's state here ({exc}); "
                              "pass another --state-dir (or remove this file to start the sandbox afresh)") from None

    def close(self) -> None:
        self.db.close()

    # -- loading -------------------------------------------------------------------

    def load(self, state: SandboxState) -> None:
        try:
            now, wall = state.now(), state.config.wall_clock()
            for (text,) in self.db.execute("SELECT data FROM sessions"):
                data = json.loads(text)
                created_wall, ready_wall = data.pop("created_wall"), data.pop("ready_wall")
                data["result_urls"] = tuple(data["result_urls"])
                s = Session(**data, created_wall=created_wall, created_at=now - (wall - created_wall),
                            ready_at=now + (ready_wall - wall))
                state.sessions[s.id] = s
            for owner, key, text in self.db.execute("SELECT owner, key, data FROM answers"):
                d = json.loads(text)
                state.idempotency[(owner, key)] = Stored(tuple(d["fingerprint"]), d["status"],
                                                         base64.b64decode(d["body"]), d["headers"])
            for owner, endpoint, sha, n in self.db.execute("SELECT owner, endpoint, sha, n FROM seen"):
                state.bodies_seen[(owner, endpoint, sha)] = n
            kv = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM kv")}
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{self.path}: the sandbox's saved state is not readable ({exc}); "
                              "remove the file to start the sandbox afresh") from None
        state.balances.update({(p, o): v for p, o, v in kv.get("balances", [])})
        state.uploads.update(kv.get("uploads", {}))
        state.origins.update(o for o in kv.get("origins", []) if isinstance(o, str))
        if "ids" in kv:
            version, internal, gauss = kv["ids"]
            state._ids.setstate((version, tuple(internal), gauss))

    # -- saving --------------------------------------------------------------------

    def save(self, state: SandboxState, sessions: set[str], answers: set[tuple[str, str]],
             seen: set[tuple[str, str, str]], kv: bool) -> None:
        """Write what changed in one transaction."""
        wall, now = state.config.wall_clock(), state.now()
        db = self.db
        db.execute("BEGIN")
        try:
            for sid in sessions:
                s = state.sessions.get(sid)
                if s is None:
                    continue
                data = dataclasses.asdict(s)
                data.pop("created_at"), data.pop("ready_at")
                data["ready_wall"] = wall + (s.ready_at - now)
                db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (sid, json.dumps(data)))
            for owner, key in answers:
                st = state.idempotency[(owner, key)]
                d = {"fingerprint": list(st.fingerprint), "status": st.status,
                     "body": base64.b64encode(st.body).decode("ascii"), "headers": st.headers}
                db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (owner, key, json.dumps(d)))
            for key3 in seen:
                db.execute("INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?)", (*key3, state.bodies_seen[key3]))
            if kv:
                for key, value in _kv(state).items():
                    db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(value)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _kv(state: SandboxState) -> dict[str, Any]:
    version, internal, gauss = state._ids.getstate()
    return {
        "balances": [[p, o, v] for (p, o), v in state.balances.items()],
        "uploads": dict(state.uploads),
        "origins": sorted(state.origins),
        "ids": [version, list(internal), gauss],
    }
