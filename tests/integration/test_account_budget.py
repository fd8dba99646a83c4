"""Account budgets (``budget.account``) end to end: plan and run agree on what the account has left,
and two runner processes on two "machines" (separate checkouts, one PostgreSQL store) never pass
the account together (exact credits, the charges the sandbox saw)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.runs import counters, make_sandbox
from helpers.shared_store import checkout, cli, manifest, released_together, run, stills, store_env

from renderer.execute.pgaccount import shared_accounts
from renderer.execute.stateurl import parse_url


def test_plan_and_run_agree_on_what_the_account_has_left_locally(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    a = checkout(tmp_path / "repo", stills("camp-a", 4))
    monkeypatch.chdir(tmp_path / "repo")  # the local book: .renderer/accounts.sqlite where the commands run
    state = ".renderer"
    with make_sandbox() as sb:
        env = store_env(sb, "")
        env.pop("RENDERER_STATE")
        code, out, err = cli(["plan", str(a)], env)
        assert code == 2 and "budget.account 'team' is not set" in err, out + err
        cli(["account", "set", "team", "--max-credits", "250", "--state-dir", state], {})
        code, out, err = cli(["plan", str(a)], env)
        assert code == 0 and "account team: 250 of 250 credits left (spent 0, held 0" in out, out + err
        assert "this plan may spend up to 200 more" in out
        code, out, err = run(a, env)
        assert code == 0, out + err
        b = a.with_name("b.yaml")  # another campaign of the same checkout (the same state dir)
        b.write_text(stills("camp-b", 2), encoding="utf-8")
        code, out, err = cli(["plan", str(b)], env)
        assert code == 3 and "account team has 50 of its 250 left" in out + err, out + err
        code, out, err = cli(["run", str(b), "--state-dir", state], env)
        c = counters(sb)
    assert code == 3 and "account team has 50 of its 250 left" in out + err, out + err
    assert c["accepted_total"] == 4 and c["requests"]["POST /v1/image/enhance"] == 4  # b sent nothing
    code, out, _ = cli(["account", "show", "team", "--json", "--state-dir", state], {})
    [acc] = json.loads(out)["accounts"]
    assert (acc["spent"], acc["held"], acc["remaining"], acc["campaigns"]) == (200, 0, 50, 1)


def test_three_campaigns_on_three_machines_never_pass_the_account_together(tmp_path: Path, pg_url: str) -> None:
    # each campaign fits the account alone (300 of 400) and its own budget; together they ask 900
    paths = [checkout(tmp_path / f"machine-{m}", stills(f"camp-{m}", 6, budget=1000)) for m in "abc"]
    with make_sandbox() as sb:
        env = store_env(sb, pg_url)
        assert cli(["account", "set", "team", "--max-credits", "400"], env)[0] == 0
        book = shared_accounts(parse_url(pg_url))
        book.db.query("INSERT INTO {t}account_totals (account, period_key, committed) VALUES ('team', '', 0)")
        # every runner waits at its first admission (the test holds the account's row), then all go at once
        procs = released_together(pg_url, paths, env, "account_totals", "account = %s", ("team",))
        outs = [p.communicate(timeout=120)[0] for p in procs]
        c = counters(sb)
        [acc] = book.status("team")
        book.close()
    codes = sorted(p.returncode for p in procs)
    assert c["accepted_total"] == 8 and c["credits_charged"]["samsar"] == 400, (c, outs)  # the account, to the credit
    assert c["requests"]["POST /v1/image/enhance"] == 8 and c["duplicates_total"] == 0
    assert (acc.spent, acc.held, acc.remaining) == (400, 0, 0) and acc.campaigns >= 2
    assert 3 in codes and all(code in (0, 3) for code in codes), outs
    done = [manifest(p)["counts"].get("completed", 0) for p in paths]
    assert sum(done) == 8, done
    held = sum(int(o.split("account team: held back ")[1].split(" ")[0]) for o in outs if "held back" in o)
    assert held == 10, outs  # 18 jobs asked, 8 fit
    code, out, _ = cli(["status", "--all", "--json", "--state", pg_url], {})
    assert code == 0 and [(x["name"], x["spent"], x["remaining"]) for x in json.loads(out)["accounts"]] == \
        [("team", 400, 0)]
