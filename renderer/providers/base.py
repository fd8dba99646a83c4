"""The small records every provider shares (what a provider offers: ``protocol.Provider``).

Prices are ``Range`` values so that what the docs leave to the server (the length
of an image-list video, how many rollup tiles need enhancing) is carried as
``{min, max}`` instead of a guess; ``None`` means unknown, never zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

Number = int | float


def _tidy(x: Number) -> Number:
    return int(x) if isinstance(x, float) and x.is_integer() else x


@dataclass(frozen=True, slots=True)
class Range:
    """A closed interval of credits or seconds."""

    min: Number
    max: Number

    @staticmethod
    def exact(x: Number) -> "Range":
        return Range(_tidy(x), _tidy(x))

    @property
    def is_exact(self) -> bool:
        return self.min == self.max

    def __add__(self, other: "Range") -> "Range":
        return Range(_tidy(self.min + other.min), _tidy(self.max + other.max))

    def scale(self, k: Number) -> "Range":
        return Range(_tidy(self.min * k), _tidy(self.max * k))

    def times(self, other: "Range") -> "Range":
        return Range(_tidy(self.min * other.min), _tidy(self.max * other.max))

    def as_dict(self) -> dict[str, Number]:
        return {"min": self.min, "max": self.max}


ZERO = Range(0, 0)


def add_ranges(values: list[Range | None]) -> Range | None:
    """Sum of ranges; unknown if any part is unknown."""
    total = ZERO
    for v in values:
        if v is None:
            return None
        total = total + v
    return total


@dataclass(frozen=True, slots=True)
class Price:
    credits: Range | None  # None: unknown
    duration: Range | None = None  # seconds of video the job produces, when it does
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PriceContext:
    """What pricing may look at beyond the request body."""

    table: Mapping[str, Any]  # the built-in table with the campaign's `pricing` merged in
    estimate: Mapping[str, Any] = field(default_factory=dict)
    # duration of the video a body field refers to (a session id, or a pending
    # reference to an upstream instance); None when not known
    duration_of: Callable[[Any], Range | None] = lambda ref: None


@dataclass(frozen=True, slots=True)
class Pending:
    """A value known only at run time: an output of an upstream instance.

    The planner renders templates with these in place of upstream outputs, so
    the shape of a value (a list of three session ids) is known even when its
    content is not.
    """

    instance: str
    output: str

    def __str__(self) -> str:
        # How it formats inside a template string: a marker the planner finds
        # again, so "{{ needs.a.result_url }}?x=1" is known to be pending too.
        return f"\x00pending:{self.instance}.{self.output}\x00"

    def __repr__(self) -> str:
        return f"<pending {self.instance}.{self.output}>"


def is_pending(value: Any) -> bool:
    if isinstance(value, Pending):
        return True
    if isinstance(value, list):
        return any(is_pending(v) for v in value)
    if isinstance(value, dict):
        return any(is_pending(v) for v in value.values())
    return False


StatusState = Literal["pending", "completed", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Status:
    state: StatusState
    result_url: str | None = None
    result_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One API route that creates work, as a campaign names it."""

    endpoint: str  # what campaigns write: "samsar/video/text_to_video"
    provider: str  # "samsar" | "enhancecraft"
    path: str  # below the provider's base URL: "/video/text_to_video"
    schema: str  # file name under schemas/
    family: str  # pricing and status family: "text_to_video", "image_enhance", ...
    wrap_input: bool = False  # docs wrap the body as {"input": {...}}
    job_keys: tuple[str, ...] = ()  # keys the docs put beside `input`
    status_path: str = "/status"
    api_version: str = "v1"  # v2 routes live beside /v1 on the same host
    creates_session: bool = True  # cancel_render acts on an existing one
    alias_of: str | None = None  # the documented route this client-only route mirrors
    note: str = ""

    def body(self, job_input: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
        """The request body the docs show, from a job's `input` and its beside-keys."""
        if not self.wrap_input:
            return dict(job_input)
        body: dict[str, Any] = {"input": dict(job_input)}
        for key in self.job_keys:
            if extras.get(key) is not None:
                body[key] = extras[key]
        return body


@lru_cache(maxsize=1)
def builtin_prices() -> dict[str, Any]:
    """The built-in providers' price table (prices.json), by provider key."""
    data: dict[str, Any] = json.loads(resources.files("renderer.providers").joinpath("prices.json").read_text("utf-8"))
    return data


def bearer(api_key: str) -> dict[str, str]:
    """The usual auth header: ``Authorization: Bearer <key>``."""
    return {"Authorization": f"Bearer {api_key}"}


def credits_from(headers: Mapping[str, str], payload: Any, header: str = "x-credits-charged",
                 field_name: str = "creditsCharged") -> float | None:
    """Credits an answer says it cost: the header, else the body field."""
    for raw in (headers.get(header), payload.get(field_name) if isinstance(payload, Mapping) else None):
        if isinstance(raw, bool) or raw is None:
            continue
        try:
            value = float(raw)
        except OverflowError:  # an integer past float range: said (shapes.credits says why it is unusable)
            return int(raw)
        except (TypeError, ValueError):
            continue
        return int(value) if value.is_integer() else value
    return None
