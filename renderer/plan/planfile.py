"""The reviewed plan, saved (``plan --out``) and held against the run (``run --plan``).

A plan file records what a reviewer approved: every instance's action, body hash
and price, the campaign file's and the manifest's SHA-256, and the built-in price
tables (their dates and a hash of their content). ``run --plan`` rebuilds the plan
from the files as they are now and refuses, before anything is sent, when any of
it differs: the campaign was edited, the manifest moved on (another run, a
cancel), or the prices changed (another renderer version).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from renderer import providers
from renderer.errors import LoadError, Location, StalePlan
from renderer.plan.model import Plan
from renderer.money import credits_json
from renderer.plan.views import Summary
from renderer.campaign.yamlfile import FileRefused, read_regular_file
from renderer import atomic
from renderer import jsonfast

FORMAT = "renderer-plan/1"
MAX_PLAN_BYTES = 256 * 1024 * 1024
SHOWN = 10  # differences named one by one; the rest are counted


def _sha(data: Any) -> str:
    return hashlib.sha256(jsonfast.canonical(data)).hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes; None when there is no such file."""
    try:
        return hashlib.sha256(read_regular_file(path, MAX_PLAN_BYTES)).hexdigest()
    except FileNotFoundError:
        return None
    except (OSError, FileRefused) as exc:
        raise StalePlan(f"{path}: cannot read it to compare with the plan: {exc}") from None


def prices_record() -> dict[str, Any]:
    """The built-in price tables: each one's date, and one hash of them all."""
    table = providers.price_table()
    dates = {name: part.get("as_of") for name, part in sorted(table.items()) if isinstance(part, Mapping)}
    return {"as_of": dates, "sha256": _sha(table)}


def plan_record(plan: Plan, summary: Summary, manifest_path: Path) -> dict[str, Any]:
    campaign = plan.campaign
    return {
        "format": FORMAT,
        "campaign": campaign.name,
        "campaign_file": campaign.path,
        "campaign_sha256": campaign.sha256,
        "manifest_file": str(manifest_path),
        "manifest_sha256": file_sha256(manifest_path),
        "prices": prices_record(),
        "budget": {"max_credits": campaign.budget, "spent": summary.spent, "over": summary.over_budget},
        "targets": dict(summary.targets),
        "credits": credits_json(summary.credits) if summary.credits else {**summary.known_credits.as_dict(), "unknown": True},
        "instances": {
            i.id: {"action": i.action, "input_sha256": i.input_sha256, "credits": credits_json(i.price.credits)}
            for i in plan.instances
        },
    }


def save(path: Path, record: Mapping[str, Any]) -> None:
    """Write atomically: a half-written plan file must never be taken for a plan."""
    text = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    atomic.write_text(path, text)


def load(path: Path) -> dict[str, Any]:
    from renderer.errors import Invalid

    try:
        data = json.loads(read_regular_file(path, MAX_PLAN_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise Invalid([LoadError("plan file not found (write one with `renderer plan FILE --out PLANFILE`)",
                                 Location(str(path)))]) from None
    except (OSError, ValueError, FileRefused) as exc:
        raise Invalid([LoadError(f"plan file is not readable JSON: {exc}", Location(str(path)))]) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("instances"), dict):
        raise Invalid([LoadError(f"not a plan file of this renderer (expected format {FORMAT!r})", Location(str(path)))])
    return data


def differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What changed since the plan was reviewed, in words; empty when nothing did."""
    if saved.get("campaign") != now["campaign"]:  # not an edit: another campaign's plan; its diff is noise
        return [f"it is the plan of the campaign {saved.get('campaign')!r} ({saved.get('campaign_file')}), "
                f"not of {now['campaign']!r}"]
    out: list[str] = []
    if saved.get("campaign_sha256") != now["campaign_sha256"]:
        out.append(f"the campaign file {now['campaign_file']} changed")
    if saved.get("manifest_sha256") != now["manifest_sha256"]:
        was, is_ = saved.get("manifest_sha256"), now["manifest_sha256"]
        what = "appeared" if was is None else "is gone" if is_ is None else "changed (a run or a cancel since the plan?)"
        out.append(f"the manifest {now['manifest_file']} {what}")
    prices, now_prices = saved.get("prices") or {}, now["prices"]
    if prices.get("sha256") != now_prices["sha256"]:
        then, now_dates = prices.get("as_of"), now_prices["as_of"]
        dates = (f"dated {then} in the plan, {now_dates} now" if then != now_dates
                 else "new prices under the same dates: another renderer version?")
        out.append(f"the built-in price tables changed ({dates})")
    then_targets, now_targets = saved.get("targets"), now.get("targets")
    if isinstance(then_targets, Mapping) and then_targets and now_targets and dict(then_targets) != now_targets:
        out.append(f"it was reviewed to run against {_targets(then_targets)}, and this run is against "
                   f"{_targets(now_targets)} (plan with the base URLs the run uses, or --sandbox for a rehearsal)")
    if (saved.get("budget") or {}).get("max_credits") != now["budget"]["max_credits"]:
        out.append(f"the budget changed: {_budget((saved.get('budget') or {}).get('max_credits'))} then, "
                   f"{_budget(now['budget']['max_credits'])} now")
    out += _instance_differences(saved.get("instances") or {}, now["instances"])
    return out


def _instance_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for iid in sorted(set(saved) | set(now)):
        a, b = saved.get(iid), now.get(iid)
        if a is None:
            lines.append(f"{iid}: not in the plan")
        elif b is None:
            lines.append(f"{iid}: in the plan, no longer in the campaign")
        elif a != b:
            fields = [k for k in ("action", "input_sha256", "credits") if a.get(k) != b.get(k)]
            shown = ", ".join(f"{k} {_show(a.get(k))} then, {_show(b.get(k))} now" if k != "input_sha256"
                              else "its request body changed" for k in fields)
            lines.append(f"{iid}: {shown}")
    if len(lines) > SHOWN:
        lines = lines[:SHOWN] + [f"and {len(lines) - SHOWN:,} more instance(s)"]
    return lines


def _targets(value: Mapping[str, Any]) -> str:
    from renderer.targets import describe

    return describe({str(k): str(v) for k, v in value.items()})


def _budget(value: Any) -> str:
    """budget.max_credits as the plan shows it: 60,000, or none."""
    return "none" if value is None else f"{value:,}" if isinstance(value, (int, float)) else str(value)


def _show(value: Any) -> str:
    """An action as is; credits as the plan shows them (50, 40-60, unknown)."""
    if isinstance(value, Mapping):
        lo, hi = value.get("min"), value.get("max")
        if lo is None or hi is None:
            return "unknown"
        return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"
    return str(value)


def check(saved: Mapping[str, Any], now: Mapping[str, Any], plan_path: Path) -> None:
    diffs = differences(saved, now)
    if diffs:
        raise StalePlan(f"{plan_path}: the campaign no longer matches the reviewed plan; nothing was sent. "
                        "Plan again and review: " + "; ".join(diffs))
