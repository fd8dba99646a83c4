"""Text shown at a terminal or in a CI log: one line, no escapes.

Campaign values, manifest fields and API answers reach terminals and CI logs. A value's
ESC could steer the terminal, and its newline could start a `::workflow-command::` line
in a CI log, so every control character is shown as its escape (``\\x1b``, ``\\n``).
"""

from __future__ import annotations

import re

# control characters, and lone surrogates (no UTF-8 stream takes one)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: no UTF-8 encoder takes one


def printable(text: str, keep: str = "") -> str:
    """``text`` with every control character but those in ``keep`` written as its escape."""
    return CONTROL.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1], text)


def credits(x: float) -> str:
    """Credits as people read them: ``1,215``, or ``12.50`` for a fraction."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"


def utf8_safe(text: str) -> str:
    """``text`` with each lone surrogate (an API may send ``"\\ud800"``) written as its escape,
    so that it can be stored, printed and hashed as UTF-8."""
    return text if text.isascii() else SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def utf8_safe_json(text: str) -> str:
    """``utf8_safe`` for JSON text: a raw lone surrogate inside a string literal becomes the
    escaped text ``\\ud800`` (read back as backslash-u-d-8-0-0, as ``utf8_safe`` gives)."""
    return text if text.isascii() else SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", text)
