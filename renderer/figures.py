"""The figures every screen shows, and their words: defined once, here (the README's Glossary
says the same).

Credits, always of the campaign's record (the manifest) or of this run's share of it:

- **estimated**: what jobs may cost at the plan's prices, a range, always said *of what*:
  ``estimated for this run`` (the jobs a run sends) or ``estimated for the campaign``
  (every job of the manifest).
- **charged**: what the API said it charged for each job's latest submission
  (``credits.charged``).
- **held**: what may still be charged: submissions whose charge the API never said, at their
  hold (estimate x what their pricing family was charged; ``credits.held``).
- **spent**: charged or held over every run and attempt of the campaign (``credits.spent``):
  what the budget counts. Earlier attempts of a job count here, not in ``charged``.
- **this run**: what the campaign spent while this run ran: ``spent`` at its end less
  ``spent`` at its start.

Jobs: **done** counts final states only (completed, failed, cancelled). The others have
their own words: pending (accepted, still rendering), awaiting approval (stopped at its
approval point: it waits for a person), unknown (sent, fate unknown), not
submitted (never sent: held back by the budget, an error before sending, a stopped run,
or left out by ``--select``), and while a run goes on submitting, queued, waiting.

Every screen (the progress line, the final line, ``status``, ``results``, the HTML report,
JUnit, the step summary, the Markdown plan) takes its figures and labels from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, overload

from renderer.manifest import Manifest, tidy, totals
from renderer.text import credits as credits_text
from renderer.vocabulary import Range

FINAL = ("completed", "failed", "cancelled")  # "done": nothing more will happen to these jobs
# every status a screen may count, in the order screens show them
ORDER = ("completed", "failed", "cancelled", "pending", "awaiting_approval", "submitting", "queued", "waiting", "unknown",
         "not_submitted")

ESTIMATED_RUN = "estimated for this run"
ESTIMATED_CAMPAIGN = "estimated for the campaign"
CHARGED = "charged"
HELD = "held"
SPENT = "spent in all runs"
THIS_RUN = "spent by this run"


def word(status: str) -> str:
    """A status as screens write it: ``not submitted``."""
    return status.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Jobs:
    """Job counts by status: ``done`` is final states only."""

    counts: Mapping[str, int]

    @classmethod
    def of_manifest(cls, manifest: Manifest | Mapping[str, Any]) -> Jobs:
        """Counted from the entries (a manifest, or its JSON: ``jobs`` is all it reads)."""
        if isinstance(manifest, Manifest):
            statuses = [e.status for e in manifest.jobs.values()]
        else:
            statuses = [e.get("status") if isinstance(e, Mapping) else None for e in (manifest.get("jobs") or {}).values()]
        counts: dict[str, int] = {}
        for status in statuses:
            key = status if isinstance(status, str) else "unknown"
            counts[key] = counts.get(key, 0) + 1
        return cls(counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in FINAL)

    def ordered(self) -> list[tuple[str, int]]:
        known = [(s, self.counts[s]) for s in ORDER if self.counts.get(s)]
        return known + sorted((s, n) for s, n in self.counts.items() if s not in ORDER and n)

    def text(self) -> str:
        """``2/6 done (2 completed); 4 not submitted``."""
        final = [f"{n:,} {word(s)}" for s, n in self.ordered() if s in FINAL]
        rest = [f"{n:,} {word(s)}" for s, n in self.ordered() if s not in FINAL]
        text = f"{self.done:,}/{self.total:,} done" + (f" ({', '.join(final)})" if final else "")
        return text + (f"; {', '.join(rest)}" if rest else "")


@dataclass(frozen=True, slots=True)
class Credits:
    """A campaign's credits as its manifest records them, and this run's share (``before``:
    what the campaign had spent when the run started; None: not a run's screen)."""

    spent: float
    charged: float
    held: float
    estimated: Range | None  # of every job of the campaign; None when a price is unknown
    before: float | None = None

    @classmethod
    def of_manifest(cls, manifest: Manifest | Mapping[str, Any], before: float | None = None) -> Credits:
        """From a manifest, or its JSON as written (its ``credits`` block is all it reads)."""
        if isinstance(manifest, Manifest):
            block = totals(manifest.jobs.values())
            block["spent"] = manifest.charged_in_all()
        else:
            block = dict(manifest.get("credits") or {})
        return cls.of_block(block, before)

    @classmethod
    def of_block(cls, credits: Mapping[str, Any], before: float | None = None) -> Credits:
        """From a manifest's ``credits`` block; ``spent`` missing (an older manifest): charged and held."""
        charged, held = _number(credits.get("charged")), _number(credits.get("held"))
        spent = _number(credits.get("spent"), tidy(charged + held))
        est = credits.get("estimated")
        est = est if isinstance(est, Mapping) and not est.get("unknown") else {}
        lo, hi = _number(est.get("min"), None), _number(est.get("max"), None)
        return cls(spent, charged, held, Range(lo, hi) if lo is not None and hi is not None else None, before)

    @property
    def this_run(self) -> float | None:
        return None if self.before is None else max(0.0, tidy(self.spent - self.before))

    def rows(self) -> list[tuple[str, str]]:
        """(label, figure) pairs, in the order every table shows them."""
        out = [(ESTIMATED_CAMPAIGN, show_range(self.estimated)), (CHARGED, credits_text(self.charged)),
               (HELD, credits_text(self.held)), (SPENT, credits_text(self.spent))]
        if self.this_run is not None:
            out.append((THIS_RUN, credits_text(self.this_run)))
        return out

    def text(self) -> str:
        """``spent in all runs 38,000 credits (charged 37,500, held 500); spent by this run 3,000``."""
        parts = [f"{CHARGED} {credits_text(self.charged)}"] + ([f"{HELD} {credits_text(self.held)}"] if self.held else [])
        text = f"{SPENT} {credits_text(self.spent)} credits ({', '.join(parts)})"
        if self.this_run is not None:
            text += f"; {THIS_RUN} {credits_text(self.this_run)}"
        return text


def show_range(r: Range | None) -> str:
    if r is None:
        return "unknown"
    return credits_text(r.min) if r.min == r.max else f"{credits_text(r.min)}-{credits_text(r.max)}"


def final_line(manifest: Manifest | Mapping[str, Any], before: float, elapsed: float) -> str:
    """The run's last word, from its manifest: ``run finished in 3.8s: 6/6 done (...); spent ...``."""
    return (f"run finished in {duration(elapsed)}: {Jobs.of_manifest(manifest).text()}; "
            f"{Credits.of_manifest(manifest, before).text()}")


def eta(left: int, done: int, elapsed: float, to_submit: int = 0, rate_limit: float | None = None,
        least: int = 3) -> float | None:
    """Seconds until the ``left`` jobs are done, at the rate observed so far (``done`` jobs in
    ``elapsed`` seconds), never quicker than the rate limit (``rate_limit`` requests a second)
    lets the ``to_submit`` jobs not sent yet go. The observed rate counts only once ``least``
    jobs are done (or all of the few there are): one slow first render must not promise hours,
    nor one quick one seconds. None: nothing to go by yet."""
    if left <= 0:
        return 0.0
    bound = to_submit / rate_limit if rate_limit and to_submit else 0.0
    if done < min(least, done + left) or elapsed <= 0:
        return bound or None
    return max(left * elapsed / done, bound)


def spent_text(spent: float, before: float | None) -> str:
    """``spent in all runs 38,000 credits; spent by this run 3,000``: what the progress line says."""
    text = f"{SPENT} {credits_text(spent)} credits"
    return text if before is None else f"{text}; {THIS_RUN} {credits_text(max(0.0, tidy(spent - before)))}"


def duration(seconds: float) -> str:
    """``3.8s`` under ten seconds, else ``42s``, ``4m05s``, ``2h03m``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


@overload
def _number(x: Any) -> float: ...
@overload
def _number(x: Any, default: float) -> float: ...
@overload
def _number(x: Any, default: None) -> float | None: ...
def _number(x: Any, default: float | None = 0) -> float | None:
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else default


