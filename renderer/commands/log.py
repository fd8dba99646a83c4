"""`renderer log FILE [--json]`: the campaign's runs (when, where, jobs sent, credits) and every
event its journal recorded; `renderer log --all`: every campaign of the store (the shared
store, or the journals under ``--state-dir``). See ``renderer.execute.runlog``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from renderer.execute.stores import open_earlier_store
from renderer.execute.account import LOCAL_FILE
from renderer.execute.sqlitestore import SqliteJournal
from renderer.execute.runlog import ALL, event_line, runs_of
from renderer.execute.store import JournalStore
from renderer.execute.stores import state_url
from renderer.text import printable


def log(file: str | None, out: TextIO, *, env: Mapping[str, str] | None = None, state_dir: str | None = None,
        as_json: bool = False, sandbox: bool = False, all_campaigns: bool = False, events: bool = True) -> int:
    """Exit 0; a StateError (exit 1) when the campaign never ran. ``events``: each run's events too."""
    env = env or {}
    if all_campaigns:
        stores = _every_journal(env, state_dir)
    else:
        if file is None:
            from renderer.errors import UsageError

            raise UsageError("renderer log: name a campaign FILE, or pass --all")
        stores = [open_earlier_store(file, state_dir, env, sandbox)]
    found = []
    try:
        for store in stores:
            runs = runs_of(store.events(ALL), store.all())
            found.append((_name(store), store.label, runs))
    finally:
        for store in stores:
            store.close()
    if as_json:
        doc: dict[str, Any] = {"campaigns": [{"campaign": name, "store": label, "runs": [r.as_json() for r in runs]}
                                             for name, label, runs in found]}
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return 0
    for name, label, runs in found:  # an event's detail may be an API's error text: no escapes reach the terminal
        out.write(printable(f"{name}  [{label}]: {len(runs):,} run(s)") + "\n")
        for run in runs:
            out.write(printable(run.line()) + "\n")
            for e in run.events if events else ():
                out.write(printable(event_line(e)) + "\n")
    return 0


def _name(store: JournalStore) -> str:
    return getattr(store, "name", None) or store.meta().get("campaign", "?")


def _every_journal(env: Mapping[str, str], state_dir: str | None) -> list[JournalStore]:
    url = state_url(env)
    if url is not None:
        from renderer.execute.pgstore import campaign_journals

        return list(campaign_journals(url))
    folder = Path(state_dir or ".renderer")
    return [SqliteJournal(p) for p in sorted(folder.glob("*.sqlite")) if p.name != LOCAL_FILE]
