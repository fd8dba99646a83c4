"""The run's tally of jobs (renderer/execute/jobs.py), on its own: it keeps the counts and the
credits still to come exactly as jobs move."""

from __future__ import annotations

from helpers.plan_jobs import ENHANCE, inst, states
from renderer.execute.jobs import Tally
from renderer.vocabulary import JobStatus, Price, Range


def test_the_tally_counts_jobs_as_they_move_and_skips_what_was_not_selected() -> None:
    tally = Tally()
    jobs = states(inst("a"), inst("b"), inst("c", action="skip"))
    for st in jobs.values():
        tally.follow(st)
    assert tally.counts() == {"waiting": 2}
    jobs["a"].status = JobStatus.QUEUED
    jobs["a"].status = JobStatus.SUBMITTING
    jobs["b"].status = JobStatus.NOT_SUBMITTED
    jobs["c"].status = JobStatus.NOT_SUBMITTED
    assert tally.counts() == {"submitting": 1, "not_submitted": 1}


def test_what_is_still_to_come_is_exact_per_provider_and_family() -> None:
    """The balance note's figure: the estimates of jobs waiting or queued, held at their family's
    factor. Sums that jobs enter and leave come back to exactly 0."""
    tally = Tally()
    jobs = states(*(inst(f"v{i}", credits=0.1) for i in range(3)), inst("e", endpoint=ENHANCE, credits=7),
                  inst("free", credits=None))
    for st in jobs.values():
        tally.follow(st)

    def hold(family: str, estimate: float) -> float:
        return estimate * (2 if family == "text_to_video" else 1)

    assert round(tally.to_come("samsar", hold), 9) == 0.6 and tally.to_come("enhancecraft", hold) == 7
    jobs["v0"].price = Price(Range(0.2, 0.3))  # its rendered body costs more: counted at its new max
    assert round(tally.to_come("samsar", hold), 9) == 1.0
    jobs["v1"].status = JobStatus.QUEUED  # still to come
    assert round(tally.to_come("samsar", hold), 9) == 1.0
    for iid in ("v0", "v1", "v2"):
        jobs[iid].status = JobStatus.SUBMITTING
    assert tally.to_come("samsar", hold) == 0.0  # not 1e-17: an account with 0 left gets no note
    jobs["e"].status = JobStatus.COMPLETED
    assert tally.to_come("enhancecraft", hold) == 0.0 and tally.to_come("nobody", hold) == 0.0
