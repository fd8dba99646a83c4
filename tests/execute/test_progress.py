"""What the run and `status` say about credits: one way of writing them, and charges the
API never reported are not called "committed"."""

from __future__ import annotations

from renderer.execute.progress import Snapshot
from renderer.text import credits


def test_credits_read_as_people_write_them() -> None:
    assert [credits(x) for x in (0, 1215, 1215.0, 12.5, 1_000_000)] == ["0", "1,215", "1,215", "12.50", "1,000,000"]


def test_a_finished_run_whose_charges_went_unreported_says_so() -> None:
    # a provider that reports no charges: 33 estimated credits of finished jobs are not "held"
    snap = Snapshot({"completed": 3}, 3, charged=0, committed=33, elapsed=4, unreported=33)
    assert snap.line() == "[4s] 3/3 done (3 completed); credits 0 charged, up to 33 more the API did not report"


def test_in_flight_holds_are_still_committed() -> None:
    snap = Snapshot({"completed": 1, "pending": 1}, 2, charged=1200, committed=2400, elapsed=65)
    assert snap.line(eta=False) == "[1m05s] 1/2 done (1 completed, 1 pending); credits 1,200 charged, up to 2,400 committed"
