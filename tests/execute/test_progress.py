"""What the run says while it goes: one way of writing credits, "done" for final states only,
the campaign's spent and this run's share, and one ETA that holds still in a log."""

from __future__ import annotations

import io

from renderer.execute.progress import PlainReporter, Snapshot
from renderer.text import credits


def test_credits_read_as_people_write_them() -> None:
    assert [credits(x) for x in (0, 1215, 1215.0, 12.5, 1_000_000)] == ["0", "1,215", "1,215", "12.50", "1,000,000"]


def test_done_counts_final_states_only() -> None:
    """The issue's "6/6 done (2 completed, 4 not submitted)": jobs never sent are not done."""
    snap = Snapshot({"completed": 2, "not_submitted": 4}, 6, spent=100, before=0, elapsed=4)
    assert snap.line() == "[4.0s] 2/6 done (2 completed); 4 not submitted; spent in all runs 100 credits; " \
                          "spent by this run 100"


def test_a_resumed_run_shows_the_campaigns_spent_and_its_share() -> None:
    snap = Snapshot({"completed": 1, "pending": 1}, 2, spent=38_000, before=35_000, elapsed=65)
    assert snap.line(eta=False) == "[1m05s] 1/2 done (1 completed); 1 pending; spent in all runs 38,000 credits; " \
                                   "spent by this run 3,000"


def test_the_eta_holds_still_in_a_log() -> None:
    """In CI the plain line is kept forever: its ETA moves in coarse steps, and the first lines
    (one job of 302 done) carry none rather than 25 minutes."""
    out = io.StringIO()
    clock = iter(range(0, 10_000, 10))
    reporter = PlainReporter(out, interval=5, clock=lambda: float(next(clock)))
    for done, elapsed in ((1, 4.0), (2, 5.0), (150, 100.0), (151, 101.0), (152, 101.5)):
        reporter.update(Snapshot({"completed": done, "waiting": 302 - done}, 302, spent=0, before=0, elapsed=elapsed))
    lines = out.getvalue().splitlines()
    assert "eta" not in lines[0] and "eta" not in lines[1]
    assert [line.rsplit("; eta ", 1)[1] for line in lines[2:]] == ["110s", "110s", "110s"]
    assert sum("eta" in line for line in lines) == 3  # one ETA a line, never two
