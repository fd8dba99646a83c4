"""The budget's admission, its pricing families and its ledger, over a real journal on disk."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from renderer.execute.budget import Budget
from renderer.execute.sqlitestore import SqliteJournal


@pytest.fixture
def journal(tmp_path: Path):
    j = SqliteJournal(tmp_path / "j.sqlite", durable_intents=False)
    yield j
    j.close()


def begin(journal: SqliteJournal, iid: str, estimate: float = 50, generation: int = 1):
    return journal.begin(instance_id=iid, endpoint="samsar/image/enhance", provider="samsar", input_sha256="s" + iid,
                         generation=generation, idempotency_key=f"k-{iid}-{generation}", body={},
                         estimate=(estimate, estimate))


def test_admission_counts_charges_and_holds_up_to_the_limit(journal: SqliteJournal) -> None:
    budget = Budget(150)
    a = begin(journal, "a")
    assert budget.admit("a", "image_enhance", 50) is None
    budget.hold(a, "image_enhance")
    b = begin(journal, "b")
    assert budget.admit("b", "image_enhance", 50) is None
    budget.hold(b, "image_enhance")
    budget.record(journal.accepted(a, request_id="r1", session_id=None, credits_charged=50, response={}), "image_enhance")
    assert budget.committed == 100
    assert budget.admit("c", "image_enhance", 50) is None  # exactly at the limit
    assert budget.admit("c", "image_enhance", 51) == (
        "it may cost 51 credits and 100 are charged or held: that would pass budget.max_credits 150")
    assert budget.admit("d", "image_enhance", None).startswith("its price is unknown")
    assert set(budget.refused) == {"c", "d"}
    budget.record(journal.rejected(b, "HTTP 400", 400), "image_enhance")  # refused: nothing charged
    assert budget.committed == 50


def test_a_charge_above_the_estimate_raises_its_familys_holds(journal: SqliteJournal) -> None:
    budget = Budget(1000)
    a = begin(journal, "a")
    budget.hold(a, "image_enhance")
    budget.record(journal.accepted(a, request_id="r1", session_id=None, credits_charged=125, response={}), "image_enhance")
    assert budget.factor("image_enhance") == 2.5 and budget.hold_for("image_enhance", 50) == 125
    assert budget.hold_for("text_to_video", 50) == 50  # another family is not touched
    miss = budget.misses["a"]
    assert (miss.estimated, miss.charged) == (50, 125)


def test_the_first_of_a_family_goes_alone(journal: SqliteJournal) -> None:
    budget = Budget(1000)
    order: list[str] = []

    async def main() -> None:
        first = await budget.turn("image_enhance")
        async with anyio.create_task_group() as tg:
            async def second() -> None:
                turn = await budget.turn("image_enhance")  # waits for the first's answer
                order.append("second")
                turn.end()

            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            order.append("first answered")
            sub = begin(journal, "a")
            budget.hold(sub, "image_enhance")
            budget.record(journal.accepted(sub, request_id="r", session_id=None, credits_charged=50, response={}),
                          "image_enhance")
            first.end()
        other = await budget.turn("text_to_video")  # its own family: its own first
        other.end()

    anyio.run(main)
    assert order == ["first answered", "second"]


def test_a_first_that_was_not_accepted_hands_the_turn_on(journal: SqliteJournal) -> None:
    budget = Budget(1000)

    async def main() -> bool:
        first = await budget.turn("image_enhance")
        first.end()  # refused or not sent: the family learned nothing
        second = await budget.turn("image_enhance")
        waiting = budget.families["image_enhance"].probe is not None  # the second is the new first
        second.end()
        return waiting

    assert anyio.run(main) is True
    assert Budget(None).admit("x", "image_enhance", None) is None  # no budget: nothing is refused


def test_the_ledger_counts_every_earlier_submission(journal: SqliteJournal) -> None:
    failed = begin(journal, "a")
    failed = journal.accepted(failed, request_id="r1", session_id=None, credits_charged=50, response={})
    journal.finish(failed, "failed", error="render failed")
    again = begin(journal, "a", generation=2)
    journal.retryable(again, "HTTP 429", 429)  # provably not processed: nothing held
    pending = begin(journal, "b", estimate=80)  # sent, answer lost: its estimate is held
    budget = Budget(300, spent_outside=20)
    budget.load(journal.all())
    assert budget.committed == 20 + 50 + 0 + 80
    assert pending.id in budget.ledger


def test_fractional_prices_fill_the_budget_exactly(journal: SqliteJournal) -> None:
    budget = Budget(0.3)
    for i in range(3):  # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in floats
        sub = begin(journal, f"i{i}", estimate=0.1)
        assert budget.admit(sub.instance_id, "image_enhance", 0.1) is None
        budget.hold(sub, "image_enhance")
    assert budget.admit("i3", "image_enhance", 0.1) is not None
    assert budget.committed == pytest.approx(0.3)
