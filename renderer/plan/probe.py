"""The price of budget safety, for the plan: the probe's wait, or the risk of going without it.

With a budget, a run sends the first job of each pricing family alone and holds the
others back until the API says what it charged (``renderer.execute.budget``). When an
API says a charge only at completion, that wait is a whole render, paid in wall time
by every job of the family. The plan says so, and adds the wait earlier runs measured
(``credits.families`` of the manifest) to the least wall time. A campaign that sets
``budget.probe: false`` trades the wait for a risk the plan names.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from renderer import providers
from renderer.manifest import PricingFamily
from renderer.money import family
from renderer.plan.model import Instance, Plan

RISK = ("budget.probe is false: the jobs of a pricing family go without waiting for the first one's charge; "
        "an API that charges more than its docs can pass budget.max_credits by what every job sent before a "
        "charge is known was overcharged")


def probe_json(plan: Plan, run: Iterable[Instance], budget: float | None,
               known: Mapping[str, PricingFamily]) -> dict[str, Any] | None:
    """``budget.probe`` of ``plan --json``: the families whose first job goes alone, and what
    earlier runs measured of the wait (None without a budget or with ``budget.probe: false``)."""
    if budget is None or not plan.campaign.budget_probe:
        return None
    jobs = Counter(family(i) for i in run)
    families: dict[str, Any] = {}
    for name, n in sorted(jobs.items()):
        if n < 2:
            continue  # a lone job waits for nobody
        fam = known.get(name)
        entry: dict[str, Any] = {"jobs": n}
        if fam is not None and fam.charged_at is not None:
            entry["charged_at"] = fam.charged_at
        if fam is not None and fam.probe_seconds is not None:
            entry["wait_seconds"] = math.ceil(fam.probe_seconds)
        families[name] = entry
    if not families:
        return None
    return {"families": families}


def provider_waits(run: Iterable[Instance], probe: Mapping[str, Any] | None) -> dict[str, int]:
    """The longest measured probe wait of each provider's families (families probe side by side)."""
    waits = {name: fam["wait_seconds"] for name, fam in (probe or {}).get("families", {}).items()
             if "wait_seconds" in fam}
    out: dict[str, int] = {}
    for inst in run:
        wait = waits.get(family(inst))
        if wait:
            name = providers.provider_of(inst.endpoint)
            out[name] = max(out.get(name, 0), wait)
    return out


def probe_lines(probe: Mapping[str, Any] | None, probe_on: bool, budget: float | None) -> list[str]:
    """What the plan says of the probe (or of going without it), in words."""
    if budget is not None and not probe_on:
        return [f"risk: {RISK}"]
    if not probe:
        return []
    parts = []
    for name, fam in probe["families"].items():
        when = {"completion": "the API said its charge only at completion: a whole render",
                "submission": "the API said its charge when it accepted the job",
                "never": "the API never said its charge (each job is held at its estimate)",
                }.get(fam.get("charged_at", ""), "not measured yet: up to a whole render")
        wait = f", ~{fam['wait_seconds']:,} s last time" if "wait_seconds" in fam else ""
        parts.append(f"{name} ({fam['jobs']:,} jobs; {when}{wait})")
    return ["budget probe: the first job of each pricing family goes alone until the API says what it charged, "
            "the others wait: " + "; ".join(parts) + ". budget.probe: false skips the wait at a risk"]
