"""The records the sandbox keeps: accepted work (``Session``), replayable answers (``Stored``), accounts.

Stand-ins create sessions and read their status; ``state`` holds them, ``persist`` saves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

Number = int | float

PENDING, COMPLETED, FAILED, CANCELLED = "PENDING", "COMPLETED", "FAILED", "CANCELLED"


def owner_of(api_key: str) -> str:
    """A stable account id for a key; the key itself is never stored."""
    return "acct_" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Session:
    """One unit of accepted work, as every status route sees it."""

    id: str
    owner: str
    endpoint: str
    kind: str  # what the stand-in calls it: "video", "image", ... (status routes filter by it)
    created_at: float  # sandbox clock
    ready_at: float
    created_wall: float
    fail: bool = False  # a render_failure fault hit it
    cancelled: bool = False
    duration: Number | None = None  # seconds of video
    aspect_ratio: str = "16:9"
    language: str = "en"
    has_subtitles: bool | None = None
    provider: str | None = None
    case_type: str | None = None
    result_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    credits_charged: Number = 0
    external: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        if self.cancelled:
            return CANCELLED
        if now < self.ready_at:
            return PENDING
        return FAILED if self.fail else COMPLETED


@dataclass(slots=True)
class Stored:
    """The first answer to an Idempotency-Key, replayed verbatim."""

    fingerprint: tuple[str, str]  # (endpoint, body sha256)
    status: int
    body: bytes
    headers: dict[str, str]
