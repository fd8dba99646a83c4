"""`renderer log`: a campaign's runs (when, where, jobs sent, credits) and its journal's events,
from the SQLite journal and from the shared PostgreSQL store alike."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from helpers.runs import make_sandbox
from helpers.shared_store import checkout, cli, images, run, store_env


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_log_lists_each_run_with_its_figures_and_events(kind: str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    path = checkout(tmp_path / "repo", images([0, 1]))
    state = str(tmp_path / "repo" / ".renderer")
    with make_sandbox() as sb:
        env = store_env(sb, request.getfixturevalue("pg_url")) if kind == "postgresql" else \
            {k: v for k, v in store_env(sb, "").items() if k != "RENDERER_STATE"}
        assert run(path, env)[0] == 0
        assert run(path, env)[0] == 0  # nothing left to send
        code, out, err = cli(["log", str(path), "--json", "--state-dir", state], env)
        assert code == 0, err
        [camp] = json.loads(out)["campaigns"]
        code, text, err = cli(["log", str(path), "--state-dir", state], env)
        code_all, every, _ = cli(["log", "--all", "--runs", "--state-dir", state], env)
    first, second = camp["runs"]
    assert camp["campaign"] == "shared"
    here = f"pid {os.getpid()} on {socket.gethostname()}"
    assert (first["where"], first["sent"], first["states"], first["credits_charged"]) == (here, 2, {"completed": 2}, 100)
    assert (second["where"], second["sent"], second["credits_charged"], second["events"]) == (here, 0, 0, [])
    kinds = sorted(e["kind"] for e in first["events"])
    assert kinds == ["accepted"] * 2 + ["completed"] * 2 + ["intent"] * 2
    assert first["started_at"] <= first["ended_at"] <= second["started_at"]
    lines = text.splitlines()
    assert lines[0].startswith("shared  [") and lines[0].endswith(": 2 run(s)")
    assert lines[1].startswith(f"run {first['started_at']} .. ") and \
        lines[1].endswith(f"{here}: 2 sent (2 completed); charged 100 credits")
    assert len(lines) == 2 + 6 + 1 and "still[i=0]  intent  samsar/image/enhance" in text
    assert code_all == 0 and every.splitlines()[1:] == [lines[1], lines[-1]]


def test_log_of_a_campaign_that_never_ran_says_where_it_looked(tmp_path: Path) -> None:
    path = checkout(tmp_path / "repo", images([0]))
    code, out, err = cli(["log", str(path), "--state-dir", str(tmp_path / "s")], {})
    assert code == 1 and "no run state for" in err and "nothing has run yet" in err
    assert cli(["log"], {})[0] == 2


def test_an_api_error_with_terminal_escapes_is_printed_escaped(tmp_path: Path) -> None:
    import io

    from renderer.commands.log import log
    from renderer.execute.sqlitestore import SqliteJournal

    journal = SqliteJournal(tmp_path / "camp-0123456789ab.sqlite")
    sub = journal.begin(instance_id="a", endpoint="samsar/image/enhance", provider="samsar", input_sha256="s",
                        generation=0, idempotency_key="k", body={}, estimate=(1.0, 1.0))
    journal.rejected(sub, "bad\x1b]0;owned\x07\x1b[2J", 422)
    journal.close()
    out = io.StringIO()
    assert log(None, out, state_dir=str(tmp_path), all_campaigns=True) == 0
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "rejected  bad\\x1b]0;owned\\x07\\x1b[2J" in out.getvalue()
