"""A circuit breaker per provider: stop submitting to an API that looks down.

A gateway storm (every POST answered by an HTML 502, or connections cut after the
request left) makes each submission *ambiguous*: it may have been processed. Only
ambiguous outcomes without a JSON answer count (a 500 with the API's own error body
comes from a server that is up). Sending
the rest of the campaign into that only turns more jobs into ``unknown``. After
``threshold`` ambiguous answers in a row from one provider, the breaker opens: no
further submissions to it in this run (jobs never sent stay ``not_submitted``, free
to retry), while what it accepted is still polled. Any clear answer (accepted,
refused) closes the count again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Breaker:
    threshold: int = 3
    in_a_row: dict[str, int] = field(default_factory=dict)
    opened: dict[str, str] = field(default_factory=dict)  # provider -> why

    def success(self, provider: str) -> None:
        self.in_a_row[provider] = 0

    def failure(self, provider: str, error: str) -> str | None:
        """Count one ambiguous answer; the reason to stop when this one opens the breaker."""
        n = self.in_a_row.get(provider, 0) + 1
        self.in_a_row[provider] = n
        if n >= self.threshold and provider not in self.opened:
            self.opened[provider] = (
                f"{provider} looks down: {n} submissions in a row got no clear answer (last: {error}); "
                f"no further {provider} submissions in this run. Jobs not sent stay not_submitted: "
                "run again once the provider is back")
            return self.opened[provider]
        return None
