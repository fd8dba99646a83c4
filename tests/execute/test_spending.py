"""``renderer.execute.spending.open_account``: a run's side of ``budget.account`` as it opens,
against the local account book (``accounts.sqlite``) and a journal on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderer.errors import BudgetExceeded
from renderer.execute.account import local_book
from renderer.execute.budget import Budget
from renderer.execute.spending import open_account
from renderer.execute.sqlitestore import SqliteJournal


def budget_with(journal: SqliteJournal, accepted: bool) -> Budget:
    """A budget that knows one submission of an earlier run: accepted (its render still to come), or
    finished."""
    sub = journal.begin(instance_id="still[i=0]", endpoint="samsar/image/enhance", provider="samsar",
                        input_sha256="s0", generation=1, idempotency_key="k0", body={}, estimate=(50, 50))
    sub = journal.accepted(journal.sending(sub), request_id="r0", session_id=None, credits_charged=50, response={})
    if not accepted:
        sub = journal.finish(sub, state="completed", credits_charged=50, result_urls=(), response={})
    budget = Budget(None)
    budget.load([sub])
    return budget


@pytest.mark.parametrize("accepted", [True, False], ids=["a-render-to-collect", "nothing-to-collect"])
def test_a_full_account_still_lets_the_run_collect_what_was_accepted(tmp_path: Path, accepted: bool) -> None:
    book = local_book(tmp_path)
    book.set("team", 100, None, "t")
    assert book.admit("team", "another-campaign", "k9", "", 100, 100)  # the account is full
    book.close()
    journal = SqliteJournal(tmp_path / "j.sqlite")
    budget = budget_with(journal, accepted)
    if not accepted:  # nothing of this campaign to poll: refused before anything is sent, as plan says
        with pytest.raises(BudgetExceeded, match="may spend up to 50 credits; account team has 0 of its 100 left"):
            open_account("team", journal, budget, {}, str(tmp_path), "mine", 50)
        return
    # a render an earlier run (a killed one) got accepted: the run opens to poll it, and sends nothing new
    gate = open_account("team", journal, budget, {}, str(tmp_path), "mine", 50)
    assert gate is not None and gate.closed is not None and "account team has 0 of its 100 left" in gate.closed
    assert gate.admit("still[i=1]", "k1", 50) == gate.closed
    assert gate.refused == {"still[i=1]": gate.closed} and gate.held_back == 50
    assert gate.book.lines("team", "mine") == {}  # nothing admitted
    assert gate.lines_said()[0].startswith("account team: held back 1 job(s) that may cost 50 credits: "
                                           "still[i=1]: over budget: the plan may spend up to 50 credits")
    gate.book.close()
    journal.close()
