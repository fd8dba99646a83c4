"""Does the account hold what the plan may spend?

Where a provider tells the balance (its ``BALANCE`` capability: a GET that answers
the credits left), ``run`` reads it once before sending anything and warns when the
plan's maximum for that provider is above it. Answers that carry
``x-credits-remaining`` tell it again during the run: the first that is below what
the jobs still to submit may cost is noted. A provider that cannot say (no route,
an error) is not a reason to stop: the 402 answer still is.
"""

from __future__ import annotations

from collections.abc import Mapping

from renderer import providers
from renderer.execute.client import ProviderClient
from renderer.plan.model import Plan
from renderer.text import credits as credits_text


def plan_max_by_provider(plan: Plan) -> dict[str, float]:
    out: dict[str, float] = {}
    for inst in plan.to_run:
        route = providers.route(inst.endpoint)
        if route is not None and inst.price.credits is not None:
            out[route.provider] = out.get(route.provider, 0.0) + inst.price.credits.max
    return out


async def balance_warnings(plan: Plan, clients: Mapping[str, ProviderClient]) -> list[str]:
    warnings = []
    for name, need in sorted(plan_max_by_provider(plan).items()):
        client = clients.get(name)
        provider = providers.PROVIDERS.get(name)
        balance = provider.BALANCE if provider is not None else None
        if client is None or balance is None or need <= 0:
            continue
        answer = await client.send("GET", client.base_url.rstrip("/") + balance.path, label="balance")
        have = balance.remaining(answer.payload) if answer.ok else None
        if have is not None and need > have:
            warnings.append(f"warning: the plan may spend up to {credits_text(need)} {name} credits and the account has "
                            f"{credits_text(have)} left: submissions will stop at the first 402")
    return warnings


def remaining_credits(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("x-credits-remaining")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def remaining_note(provider: str, left: float, to_come: float) -> str | None:
    if to_come <= left:
        return None
    return (f"{provider} said {credits_text(left)} credits were left (x-credits-remaining) while the jobs then still to "
            f"submit might cost up to {credits_text(to_come)}: submissions stop at the first 402")

