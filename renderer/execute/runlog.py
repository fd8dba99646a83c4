"""`renderer log`: a campaign's runs as its journal recorded them, from either store.

Each run that took the campaign's lock wrote a ``run`` event (``pid N on HOST``); the
events after it, up to the next, are that run's: every intent, attempt and answer
(the triggers of both stores write them in the transition's transaction), and the
notes runs kept (reconciliations, recovered locks). A run's figures: jobs sent (its
intents), how those ended, and what they were charged. Events older than the first
``run`` event (journals from before runs were logged) form a run of their own with
no host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from renderer import figures as F
from renderer.execute.records import Submission
from renderer.manifest import tidy
from renderer.text import credits as credits_text

ALL = 10**12  # every event


@dataclass(slots=True)
class RunRecord:
    started_at: str | None
    ended_at: str | None  # the time of its last event
    where: str | None  # "pid N on HOST"
    sent: int = 0
    states: Counter[str] = field(default_factory=Counter)  # what its submissions are now
    charged: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "ended_at": self.ended_at, "where": self.where, "sent": self.sent,
                "states": dict(sorted(self.states.items())), "credits_charged": tidy(self.charged),
                "events": self.events}

    def line(self) -> str:
        when = f"{self.started_at or '?'} .. {self.ended_at or '?'}"
        states = ", ".join(f"{n:,} {F.word(s)}" for s, n in F.Jobs(self.states).ordered())
        return (f"run {when}  {self.where or 'before runs were logged'}: {self.sent:,} sent"
                + (f" ({states})" if states else "") + f"; {F.CHARGED} {credits_text(self.charged)} credits")


def runs_of(events: Iterable[Mapping[str, Any]], subs: Iterable[Submission]) -> list[RunRecord]:
    """The journal's events grouped by run, with each run's figures."""
    by_id = {s.id: s for s in subs}
    runs: list[RunRecord] = []
    for e in events:
        event = {k: e.get(k) for k in ("at", "instance_id", "kind", "detail", "submission_id")}
        if event["kind"] == "run" or not runs:
            start = event["kind"] == "run"
            runs.append(RunRecord(event["at"] if start else None, event["at"], event["detail"] if start else None))
            if start:
                continue
        run = runs[-1]
        run.started_at = run.started_at or event["at"]
        run.ended_at = event["at"]
        run.events.append(event)
        sid = event["submission_id"]
        sub = by_id.get(int(sid)) if event["kind"] == "intent" and sid is not None else None
        if sub is not None:
            run.sent += 1
            run.states[sub.public_status] += 1
            run.charged += float(sub.credits_charged or 0.0)
    return runs


def event_line(e: Mapping[str, Any]) -> str:
    return "  ".join(str(x) for x in ("", e["at"], e["instance_id"] or "-", e["kind"], e["detail"] or "") if x is not None)
