"""Text shown at a terminal or in a CI log: one line, no escapes.

Campaign values, manifest fields and API answers reach terminals and CI logs. A value's
ESC could steer the terminal, and its newline could start a `::workflow-command::` line
in a CI log, so every control character is shown as its escape (``\\x1b``, ``\\n``).
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str, keep: str = "") -> str:
    """``text`` with every control character but those in ``keep`` written as its escape."""
    return CONTROL.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1], text)


def credits(x: float) -> str:
    """Credits as people read them: ``1,215``, or ``12.50`` for a fraction."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"
