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


def test_a_charge_is_known_when_said_above_0_at_acceptance_or_when_the_job_is_over(journal: SqliteJournal) -> None:
    from renderer.execute.budget import counted, said_at

    a = begin(journal, "a")
    assert said_at(a) is None  # sent, nothing said yet
    zero = journal.accepted(a, request_id="r1", session_id=None, credits_charged=0, response={})
    assert said_at(zero) is None  # a 0 for a priced job is no answer: some APIs say the charge later
    assert said_at(journal.accepted(a, request_id="r1", session_id=None, credits_charged=75, response={})) == "submission"
    done = journal.finish(zero, "completed", credits_charged=150)
    assert said_at(done) == "completion" and counted(done, 3) == 150
    b = journal.accepted(begin(journal, "b"), request_id="r2", session_id=None, credits_charged=None, response={})
    never = journal.finish(b, "completed")
    assert said_at(never) == "never" and counted(never, 3) == 150  # never said: its hold, estimate x factor
    assert counted(journal.rejected(begin(journal, "c"), "HTTP 400", 400), 3) == 0


def test_a_line_stays_at_its_hold_until_the_job_is_over(journal: SqliteJournal) -> None:
    budget = Budget(1000)
    a = begin(journal, "a")
    budget.hold(a, "image_enhance")
    budget.record(journal.accepted(a, request_id="r1", session_id=None, credits_charged=0, response={}), "image_enhance")
    assert budget.committed == 50 and not budget.knows("image_enhance")  # 0 said at submission: still held
    a = journal.accepted(a, request_id="r1", session_id=None, credits_charged=20, response={})
    budget.record(a, "image_enhance")
    assert budget.committed == 50 and budget.knows("image_enhance")  # below its estimate: held until it is over
    budget.record(journal.finish(a, "completed", credits_charged=20), "image_enhance")
    assert budget.committed == 20


def test_the_probe_keeps_its_turn_until_the_charge_is_known(journal: SqliteJournal) -> None:
    budget = Budget(1000, clock=iter([10.0, 52.5]).__next__)
    order: list[str] = []

    async def main() -> None:
        first = await budget.turn("image_enhance")
        sub = begin(journal, "a")
        budget.hold(sub, "image_enhance")
        async with anyio.create_task_group() as tg:
            async def second() -> None:
                turn = await budget.turn("image_enhance")
                order.append(f"second at {budget.factor('image_enhance'):g}x")
                turn.end()

            tg.start_soon(second)
            sub = journal.accepted(sub, request_id="r", session_id=None, credits_charged=None, response={})
            budget.record(sub, "image_enhance")  # accepted, no charge said: the others keep waiting
            await anyio.wait_all_tasks_blocked()
            assert order == []
            budget.record(journal.finish(sub, "completed", credits_charged=150), "image_enhance")
            first.end()

    anyio.run(main)
    assert order == ["second at 3x"]
    (fam,) = budget.learned_families()
    assert (fam.name, fam.factor, fam.charged_at, fam.probe_seconds) == ("image_enhance", 3, "completion", 42.5)


def test_without_the_probe_nobody_waits_and_learned_factors_hold_from_the_start(journal: SqliteJournal) -> None:
    from renderer.manifest import PricingFamily

    budget = Budget(1000, probe=False)

    async def main() -> None:
        first = await budget.turn("image_enhance")
        second = await budget.turn("image_enhance")  # does not wait for the first
        first.end()
        second.end()

    anyio.run(main)
    budget.learn([PricingFamily("image_enhance", 3.0, "completion", 40.0)])
    assert budget.hold_for("image_enhance", 50) == 150 and budget.factors() == {"image_enhance": 3.0}
