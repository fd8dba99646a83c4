"""The writes after a submission's intent, the same in every journal store.

Each is one ``_set`` of a row (one transaction). A store (``renderer.execute.sqlitestore``,
``renderer.execute.pgstore``) inherits them and provides the one write they need.
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Mapping
from typing import Any

from renderer.errors import StateError
from renderer.execute import cells
from renderer.execute.records import (ACCEPTED, APPROVING, AWAITING, PREPARED, REJECTED, UNKNOWN, Submission, dump_json,
                                      now_iso)


class Transitions:
    """The transitions after the intent, the same in every store: each is one ``_set`` of a row.

    A store provides ``label`` (how messages name it: never a password), ``_unsaved``
    and ``_set(submission_id, columns)``, one transaction that raises ``StateError``
    when the store refuses it. The refused outcome is kept for ``get``.
    """

    label: str
    _unsaved: dict[int, Submission]

    def _set(self, submission_id: int, columns: dict[str, Any]) -> None:
        raise NotImplementedError

    def _update(self, sub: Submission, **fields: Any) -> Submission:
        fields["updated_at"] = now_iso()
        for k in ("credits_charged", "duration"):
            if k in fields:
                fields[k] = cells.num(fields[k])
        stored = {k: (dump_json(list(v)) if k == "result_urls" else dump_json(v)
                      if k in ("response", "credits_reported") and v is not None else v)
                  for k, v in fields.items()}
        if "result_urls" in fields:
            fields["result_urls"] = tuple(fields["result_urls"])
        new = replace(sub, **fields)
        try:
            self._set(sub.id, stored)
        except StateError:
            self._unsaved[sub.id] = new  # an id the API returned is never lost: the manifest gets it
            raise
        self._unsaved.pop(sub.id, None)
        return new

    def retryable(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        """The last attempt provably did nothing; another may follow."""
        return self._update(sub, state=PREPARED, error=error, http_status=http_status)

    def accepted(
        self,
        sub: Submission,
        *,
        request_id: str,
        session_id: str | None,
        credits_charged: float | None,
        response: Any,
        credits_reported: Mapping[str, float | None] | None = None,
    ) -> Submission:
        """The request id, right after the answer (or after a reconciliation proved it).
        ``credits_reported``: the header's and the body's figures, when they disagreed."""
        return self._update(
            sub, state=ACCEPTED, request_id=request_id, session_id=session_id or request_id,
            credits_charged=credits_charged, http_status=200, submitted_at=now_iso(), error=None, response=response,
            credits_reported=credits_reported,
        )

    def rejected(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        return self._update(sub, state=REJECTED, error=error, http_status=http_status, finished_at=now_iso())

    def unknown(self, sub: Submission, error: str) -> Submission:
        return self._update(sub, state=UNKNOWN, error=error)

    def awaiting(self, sub: Submission, response: Any) -> Submission:
        """The render stopped at its approval point; ``response``: where it stopped and its previews."""
        return self._update(sub, state=AWAITING, response=response, error=None)

    def approving(self, sub: Submission) -> Submission:
        """Approved: the POST that lets it continue leaves next (recorded before it does)."""
        return self._update(sub, state=APPROVING, error=None)

    def approved(self, sub: Submission, credits_charged: float | None) -> Submission:
        """It continues: rendering again (``accepted``), charged what it made before the stop plus what
        continuing cost (unknown when either part is)."""
        before = sub.credits_charged
        total = None if before is None or credits_charged is None else before + credits_charged
        return self._update(sub, state=ACCEPTED, credits_charged=total, error=None)

    def finish(
        self,
        sub: Submission,
        state: str,
        *,
        result_url: str | None = None,
        result_urls: tuple[str, ...] = (),
        thumbnail_url: str | None = None,
        credits_charged: float | None = None,
        duration: float | None = None,
        response: Any = None,
        error: str | None = None,
        credits_reported: Mapping[str, float | None] | None = None,
    ) -> Submission:
        """The outcome; a charge (and disagreeing figures) said only now replace what was known."""
        return self._update(
            sub, state=state, result_url=result_url, result_urls=tuple(result_urls), thumbnail_url=thumbnail_url,
            credits_charged=credits_charged if credits_charged is not None else sub.credits_charged,
            duration=duration, response=response, error=error, finished_at=now_iso(),
            credits_reported=credits_reported if credits_reported is not None else sub.credits_reported,
        )
