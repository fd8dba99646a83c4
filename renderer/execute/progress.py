"""Progress for people: a live rich bar at a terminal, sparse plain lines in CI.

CI logs are read after the fact and kept forever, so the plain form prints at most
one line every ``interval`` seconds, and only when something changed, plus one
summary line at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, TextIO

from renderer.vocabulary import PUBLIC_STATUSES, JobStatus
from renderer.text import credits as credits_text

# a job in one of these needs nothing more this run; one awaiting approval is not done: it waits for a person
DONE = tuple(s for s in PUBLIC_STATUSES if s not in (JobStatus.PENDING, JobStatus.AWAITING_APPROVAL))


@dataclass(frozen=True, slots=True)
class Snapshot:
    counts: Mapping[str, int]
    total: int
    charged: float
    committed: float
    elapsed: float
    detached: bool = False
    unreported: float = 0.0  # estimates of finished jobs whose charge the API never reported

    @property
    def finished(self) -> int:
        n = sum(self.counts.get(s, 0) for s in DONE)
        return n + (self.counts.get(JobStatus.PENDING, 0) if self.detached else 0)

    def eta(self) -> float | None:
        if self.finished == 0 or self.finished >= self.total or self.elapsed <= 0:
            return None
        rate = self.finished / self.elapsed
        return (self.total - self.finished) / rate

    def line(self, eta: bool = True) -> str:
        order = (JobStatus.COMPLETED, JobStatus.PENDING, JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.WAITING,
                 JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.UNKNOWN, JobStatus.NOT_SUBMITTED,
                 JobStatus.AWAITING_APPROVAL)
        parts = [f"{self.counts[k]} {k.replace('_', ' ')}" for k in order if self.counts.get(k)]
        text = f"{self.finished}/{self.total} done"
        if parts:
            text += " (" + ", ".join(parts) + ")"
        text += f"; credits {credits_text(self.charged)} charged"
        if self.unreported:  # a provider that reports no charges: say so, not "committed"
            text += f", up to {credits_text(self.unreported)} more the API did not report"
        if self.committed > self.charged + self.unreported:
            text += f", up to {credits_text(self.committed)} committed"
        left = self.eta() if eta else None
        if left is not None:
            text += f"; eta {_duration(left)}"
        return f"[{_duration(self.elapsed)}] {text}"



def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class Reporter(Protocol):
    def update(self, snap: Snapshot) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self, snap: Snapshot) -> None: ...


class PlainReporter:
    """One line every ``interval`` seconds at most, only when something changed."""

    def __init__(self, out: TextIO, interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.interval = interval
        self.clock = clock
        self._last_at = -1e18
        self._last_line: str | None = None
        self._last_counts: dict[str, int] | None = None

    def update(self, snap: Snapshot) -> None:
        now = self.clock()
        if now - self._last_at < self.interval or dict(snap.counts) == self._last_counts:
            return
        self._last_at, self._last_counts = now, dict(snap.counts)
        self._write(snap.line())

    def note(self, text: str) -> None:
        self._write(text)

    def close(self, snap: Snapshot) -> None:
        self._write(f"run finished in {_duration(snap.elapsed)}: " + snap.line(eta=False).split("] ", 1)[-1])

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


class RichReporter:
    """A live progress bar with counts, credits and ETA (only at a terminal)."""

    def __init__(self, out: TextIO, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]run"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            TextColumn("{task.description}"), console=self.console, transient=False,
            auto_refresh=False,  # refreshed from the run's own loop: no extra thread
        )
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def update(self, snap: Snapshot) -> None:
        desc = snap.line().split("] ", 1)[-1].split(" done", 1)[-1].strip()
        self.progress.update(self.task, completed=snap.finished, description=desc)
        self.progress.refresh()

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def close(self, snap: Snapshot) -> None:
        self.update(snap)
        self.progress.stop()
        self.console.print(f"run finished in {_duration(snap.elapsed)}: " + snap.line(eta=False).split("] ", 1)[-1], markup=False)


def reporter_for(out: TextIO, total: int, interval: float) -> Reporter:
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return RichReporter(out, total)
    return PlainReporter(out, interval)
