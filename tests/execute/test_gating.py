"""What may run (renderer/execute/gating.py), on its own: the DAG gate starts a job once its last
upstream settles, touching only that job's edges, and says which upstream stopped a job."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from helpers.plan_jobs import VIDEO, inst, states
from renderer.execute.gating import DagGate, settle_planned
from renderer.execute.jobs import JobState
from renderer.manifest import Manifest, ManifestEntry
from renderer.vocabulary import JobStatus


class Counted(Mapping[str, JobState]):
    """The gate's view of the jobs, counting every look it takes at one."""

    def __init__(self, jobs: dict[str, JobState]) -> None:
        self.jobs, self.looks = jobs, 0

    def __getitem__(self, key: str) -> JobState:
        self.looks += 1
        return self.jobs[key]

    def __iter__(self) -> Iterator[str]:
        self.looks += len(self.jobs)
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)


def settle(st: JobState, status: JobStatus, error: str | None = None) -> None:
    st.status, st.error = status, error
    st.done.set()


def test_a_job_starts_when_its_last_upstream_settles_in_plan_order() -> None:
    jobs = states(inst("a"), inst("b"), inst("c", "a", "b"), inst("d", "a"), inst("e", "c", "d"))
    gate = DagGate(jobs)
    assert [st.inst.id for st in gate.start()] == ["a", "b"]
    settle(jobs["a"], JobStatus.COMPLETED)
    assert [st.inst.id for st in gate.settled(jobs["a"])] == ["d"]  # c still waits for b
    settle(jobs["b"], JobStatus.FAILED, "HTTP 400")
    assert [st.inst.id for st in gate.settled(jobs["b"])] == ["c"]
    assert gate.blocker(jobs["c"]) == "upstream b is failed (HTTP 400)"
    assert gate.blocker(jobs["d"]) is None
    settle(jobs["d"], JobStatus.PENDING, "left pending")
    settle(jobs["c"], JobStatus.NOT_SUBMITTED, "upstream b is failed (HTTP 400)")
    assert gate.settled(jobs["d"]) == [] and [st.inst.id for st in gate.settled(jobs["c"])] == ["e"]
    # the first upstream in `needs` that did not complete names the reason; pending says to run again
    assert gate.blocker(jobs["e"]) == "upstream c is not_submitted (upstream b is failed (HTTP 400))"
    jobs["c"].status = JobStatus.COMPLETED
    assert gate.blocker(jobs["e"]) == "upstream d is still rendering; run again to continue"


def test_jobs_the_plan_settles_release_their_dependents_at_the_start() -> None:
    previous = Manifest("c", jobs={"r": ManifestEntry(endpoint=VIDEO, status="completed", request_id="v1",
                                                      input_sha256="sha-r")})
    jobs = states(inst("r", action="reuse"), inst("s", action="skip"), inst("x", "r"), inst("y", "s"), inst("z", "x"))
    for st in jobs.values():
        settle_planned(st, previous)
    assert jobs["r"].status == JobStatus.COMPLETED and jobs["r"].outputs is not None
    assert jobs["r"].outputs.request_id == "v1"
    assert (jobs["s"].status, jobs["s"].error) == (JobStatus.NOT_SUBMITTED, "not selected (--select)")
    assert not jobs["x"].done.is_set()
    gate = DagGate(jobs)
    assert [st.inst.id for st in gate.start()] == ["x", "y"]
    assert gate.blocker(jobs["y"]) == "upstream s is not_submitted (not selected (--select))"


def test_settling_a_job_looks_at_its_own_edges_only() -> None:
    """No scan over all jobs per event: a wide DAG of 2,000 roots and 2,000 joins costs the gate
    one look per edge, whatever the size of the run."""
    n = 2000
    plan = [inst(f"root{i}") for i in range(n)] + [inst(f"join{i}", f"root{i}", f"root{(i + 1) % n}")
                                                   for i in range(n)]
    jobs = Counted(states(*plan))
    gate = DagGate(jobs)
    assert len(gate.start()) == n
    jobs.looks = 0
    started = []
    for i in range(n):
        root = jobs.jobs[f"root{i}"]
        settle(root, JobStatus.COMPLETED)
        started += gate.settled(root)
    assert jobs.looks == 0 and len(started) == n
    for st in started:
        assert gate.blocker(st) is None
    assert jobs.looks == 2 * n  # each join looked at its two upstreams, once
