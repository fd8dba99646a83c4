"""Progress for people: a live rich bar at a terminal, sparse plain lines in CI.

CI logs are read after the fact and kept forever, so the plain form prints at most
one line every ``interval`` seconds, and only when something changed; its ETA moves in
coarse steps. The run's final line is said once, from its manifest
(``renderer.figures.final_line``, by ``renderer.execute.post_run``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, TextIO

from renderer import figures as F


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run as the progress line shows it; its words and figures are ``renderer.figures``'."""

    counts: Mapping[str, int]  # this run's jobs by status (left out by --select: not counted)
    total: int
    spent: float  # ``credits.spent`` so far: every run and attempt of the campaign
    before: float  # what the campaign had spent when this run started
    elapsed: float
    detached: bool = False
    rate_limit: float | None = None  # requests a second the providers allow, when all of them say

    @property
    def finished(self) -> int:
        """Jobs this run is through with: done, or with --detach also those left rendering."""
        return F.Jobs(self.counts).done + (self.counts.get("pending", 0) if self.detached else 0)

    def eta(self) -> float | None:
        to_submit = sum(self.counts.get(s, 0) for s in ("queued", "waiting"))
        return F.eta(self.total - self.finished, self.finished, self.elapsed, to_submit, self.rate_limit)

    def line(self, eta: bool = True) -> str:
        text = f"{F.Jobs(self.counts).text()}; {F.spent_text(self.spent, self.before)}"
        left = self.eta() if eta else None
        if left is not None and self.finished < self.total:
            text += f"; eta {_eta_text(left)}"
        return f"[{F.duration(self.elapsed)}] {text}"


def _eta_text(seconds: float) -> str:
    """Coarse enough to stay put from one line to the next in a log: 10 s steps under two
    minutes, whole minutes under two hours, then 10 minute steps."""
    if seconds < 120:
        return f"{int(-(-seconds // 10) * 10)}s"
    if seconds < 7200:
        return f"{int(-(-seconds // 60))}m"
    return F.duration(-(-seconds // 600) * 600)


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
        """Nothing more: the run's final line is said from its manifest (``figures.final_line``)."""

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


class RichReporter:
    """A live progress bar with counts, credits and ETA (only at a terminal)."""

    def __init__(self, out: TextIO, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]run"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),  # one ETA: the line's
            TextColumn("{task.description}"), console=self.console, transient=False,
            auto_refresh=False,  # refreshed from the run's own loop: no extra thread
        )
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def update(self, snap: Snapshot) -> None:
        desc = snap.line().split("] ", 1)[-1].split(" done", 1)[-1].strip()  # after "2/6 done"
        self.progress.update(self.task, completed=snap.finished, description=desc)
        self.progress.refresh()

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def close(self, snap: Snapshot) -> None:
        self.update(snap)
        self.progress.stop()  # the final line is said from the manifest


def reporter_for(out: TextIO, total: int, interval: float) -> Reporter:
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return RichReporter(out, total)
    return PlainReporter(out, interval)
