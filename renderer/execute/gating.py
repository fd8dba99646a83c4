"""What may run, and when: the plan's DAG, the jobs the plan settles itself, list-read windows.

As dbt's ``graph/queue.py`` keeps "what may run" apart from running a node:

- ``settle_planned``: a job the plan does not run (``cancelled``, ``reuse``, ``skip``)
  is settled before the run starts, from the previous manifest.
- ``DagGate``: a job is started once every one of its ``needs`` has settled. It counts
  each job's unsettled upstreams and, when a job settles, hands back the dependents
  whose last one that was (``settled``): O(1) amortised per edge, no scan over all jobs
  per event. ``blocker`` says why a started job may not be sent at all (an upstream
  that did not complete); the runner records it as the job's verdict.
- ``ListWindows``: jobs a *windowed* list read answers for (it shows the newest N
  sessions only, see ``poller.py``) hold a slot while unfinished, so every one of
  them stays visible to the read.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import anyio

from renderer import providers
from renderer.execute.jobs import JobState
from renderer.execute.settings import PollSettings
from renderer.manifest import Manifest, ManifestEntry
from renderer.vocabulary import JobStatus, Outputs, Route


def settle_planned(st: JobState, previous: Manifest) -> None:
    """Settle ``st`` now if the plan does not run it: cancelled stays cancelled, a reused job
    has the previous run's outputs, a job left out by --select keeps a completed entry."""
    inst = st.inst
    if inst.action == "cancelled":
        st.reused = previous.get(inst.id)
        st.status, st.sha = JobStatus.CANCELLED, inst.input_sha256
        st.error = st.reused.error if st.reused is not None else None
    elif inst.action == "reuse":
        st.reused = previous.get(inst.id)
        st.outputs = Outputs.from_manifest(st.reused or ManifestEntry())
        st.status, st.sha = JobStatus.COMPLETED, inst.input_sha256
    elif inst.action == "skip":
        prev = previous.get(inst.id)
        if prev is not None and prev.completed:
            st.reused, st.outputs, st.status = prev, Outputs.from_manifest(prev), JobStatus.COMPLETED
        else:
            st.status, st.error = JobStatus.NOT_SUBMITTED, "not selected (--select)"
    else:
        return
    st.done.set()


class DagGate:
    """Which jobs may start: those whose upstreams have all settled (completed or not)."""

    def __init__(self, jobs: Mapping[str, JobState]) -> None:
        self._jobs = jobs
        self._left = {iid: len(st.inst.needs) for iid, st in jobs.items()}  # upstreams not settled yet
        self._dependents: dict[str, list[JobState]] = {}
        for st in jobs.values():  # in plan order: dependents are started in it
            for up in st.inst.needs:
                self._dependents.setdefault(up, []).append(st)

    def start(self) -> list[JobState]:
        """The jobs to start first: those the plan did not settle whose upstreams all are."""
        for st in self._jobs.values():
            if st.done.is_set():
                self.settled(st)
        return [st for st in self._jobs.values() if not st.done.is_set() and self._left[st.inst.id] == 0]

    def settled(self, st: JobState) -> list[JobState]:
        """``st`` has settled: the dependents it was the last unsettled upstream of."""
        ready = []
        for dep in self._dependents.pop(st.inst.id, ()):
            self._left[dep.inst.id] -= 1
            if self._left[dep.inst.id] == 0 and not dep.done.is_set():
                ready.append(dep)
        return ready

    def blocker(self, st: JobState) -> str | None:
        """Why ``st`` is not sent at all: its first upstream that did not complete (None: all did)."""
        bad = next((up for up in st.inst.needs if self._jobs[up].status != JobStatus.COMPLETED), None)
        if bad is None:
            return None
        first = self._jobs[bad]
        if first.status == JobStatus.PENDING:
            return f"upstream {bad} is still rendering; run again to continue"
        if first.status == JobStatus.AWAITING_APPROVAL:  # words outcome.AWAITS finds
            return f"upstream {bad} awaits approval; it is sent once that is approved and continued"
        return f"upstream {bad} is {first.status}" + (f" ({first.error})" if first.error else "")


class ListWindows:
    """A slot per unfinished job that a windowed list read answers for (``<kind>_window`` each)."""

    def __init__(self, poll: PollSettings) -> None:
        self.poll = poll
        self._windows: dict[str, anyio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, route: Route) -> AsyncIterator[None]:
        read = providers.batch_read(route)
        if read is not None and read.windowed:
            window = self._windows.get(read.kind)
            if window is None:
                size = getattr(self.poll, f"{read.kind}_window", read.window)
                window = self._windows[read.kind] = anyio.Semaphore(size)
            async with window:
                yield
        else:
            yield
