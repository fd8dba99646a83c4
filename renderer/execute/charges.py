"""What an answer says a job cost, read from its header and its body apart.

A provider reads a charge from an answer's headers and its JSON body
(``Provider.credits_charged(headers, payload)``: an ``x-credits-charged`` header, else
``creditsCharged``). The two may disagree: a gateway that says ``0`` in the header while
the body says ``150``. The budget must not believe the smaller one, so each source is
read on its own (the provider's own function, given only the headers, then only the
body) and the larger figure counts; both are recorded when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from renderer.providers import shapes
from renderer.providers.protocol import Registered


@dataclass(frozen=True, slots=True)
class Charge:
    """The figure that counts (None: not said, or not a usable number), and why not."""

    credits: float | None
    problem: str | None = None
    reported: Mapping[str, float | None] | None = None  # {"header", "body"} when they disagree


def read_charge(provider: Registered, headers: Mapping[str, str], payload: Any) -> Charge:
    header, p1 = shapes.credits(provider.credits_charged(headers, None))
    body, p2 = shapes.credits(provider.credits_charged({}, payload))
    problem = p1 or p2
    said = [x for x in (header, body) if x is not None]
    if not said:
        return Charge(None, problem)
    reported = {"header": header, "body": body} if header is not None and body is not None and header != body else None
    return Charge(max(said), problem, reported)
