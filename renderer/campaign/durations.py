"""Durations as people write them: ``90s``, ``30m``, ``2h``, ``1h30m``, ``1d`` (or seconds as a number)."""

from __future__ import annotations

import math
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
MAX_SECONDS = 366 * 86400.0


def parse_duration(value: object) -> float:
    """Seconds of a duration; raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 90s, 30m, 2h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(r"(\d+(\.\d+)?[smhd])+", text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration; write it like 90s, 30m, 2h or 1h30m")
    else:
        raise ValueError("a duration is a number of seconds or a string like 90s, 30m, 2h")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be more than 0 seconds, not {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is longer than a year")
    return seconds


def format_duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60 or seconds != int(seconds):
        return f"{seconds:g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, s = divmod(s, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
