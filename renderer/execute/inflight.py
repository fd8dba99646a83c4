"""POSTs in flight, beside the manifest: what a killed run without its journal must not send again.

The manifest reaches the disk within a second of every change (a large one less often:
``checkpoint.py``), but a POST takes less than that, and the journal that records it before it leaves
lives in ``.renderer/``, which a CI runner loses. So right before each POST, one line
naming it (instance, input hash, generation, attempt, Idempotency-Key, the body sent)
is appended to ``<manifest>.inflight`` beside the manifest: a few hundred bytes, no
rewrite of the manifest, written through the kernel (a killed process loses nothing
it wrote; the journal is the record that survives a power cut). And when the API
accepts it, a second line (``"kind": "accepted"``) names the request id it answered
(with the session id and the charge it said), the moment the journal has it: so the
request ids are on disk at once, whatever the size of the manifest, whose full rewrite
is spaced by what it costs (``checkpoint.py``).

A run that starts without a journal reads the file: an attempt the manifest does not
already account for (an entry with the same input hash at that generation and attempt,
or a later one) was accepted when an accepted line names it, and is adopted as such
(polled with its request id); otherwise it may have been processed, and is adopted as
``unknown``: settled with its key where the API honours keys, else by proof from a
listing, never sent blindly (``renderer.execute.adoption``). The file is removed once
a run's last manifest is written: every attempt in it is accounted for there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from renderer.errors import StateError
from renderer.execute.records import Submission
from renderer.manifest import Manifest
from renderer.text import utf8_safe_json

MAX_BYTES = 256 * 1024 * 1024  # a file past this is not read (nothing is adopted from it; the run says so)


@dataclass(frozen=True, slots=True)
class Intent:
    """One POST that may have left."""

    instance_id: str
    input_sha256: str
    generation: int
    attempt: int
    endpoint: str
    idempotency_key: str
    body: Any
    estimate: tuple[float | None, float | None]
    sent_at: str
    request_id: str | None = None  # the API accepted it (an accepted line names it)
    session_id: str | None = None
    credits_charged: float | None = None  # what the acceptance said it charged

    def accounted_for(self, previous: Manifest | None) -> bool:
        """The manifest knows this attempt, or a later one, of this very input."""
        entry = previous.get(self.instance_id) if previous is not None else None
        if entry is None or entry.input_sha256 != self.input_sha256:
            return False
        return (entry.generation, entry.attempts) >= (self.generation, self.attempt)

    def merged(self, other: Intent) -> Intent:
        """The same attempt named twice (its intent line and its accepted line): the body
        and estimate sent, with the request id answered."""
        sent, told = (other, self) if self.request_id is not None else (self, other)
        if told.request_id is None or sent.request_id is not None:
            return other
        return replace(sent, request_id=told.request_id, session_id=told.session_id,
                       credits_charged=told.credits_charged)


def path_for(manifest_path: Path) -> Path:
    return manifest_path.with_name(manifest_path.name + ".inflight")


class Inflight:
    """Appends one line per POST, before it leaves. Not thread-safe: the run's loop writes it."""

    def __init__(self, manifest_path: Path, scrub: Callable[[Any], Any] = lambda value: value) -> None:
        self.path = path_for(manifest_path)
        self.scrub = scrub  # the run's Scrubber.value: the file sits beside the manifest, in the repository

    def record(self, sub: Submission) -> None:
        """``sub`` (journaled, about to be sent) is on disk here; ``StateError`` when it cannot be."""
        self._append(dict(_named(sub), body=sub.body), "record a submission before sending it")

    def accepted(self, sub: Submission) -> None:
        """``sub`` was accepted (journaled with its request id): its request id is on disk here;
        ``StateError`` when it cannot be (the intent line still names it: adopted as unknown)."""
        self._append(dict(_named(sub), kind="accepted", request_id=sub.request_id, session_id=sub.session_id,
                          credits_charged=sub.credits_charged), "record an accepted request id")

    def _append(self, fields: dict[str, Any], what: str) -> None:
        line = utf8_safe_json(json.dumps(self.scrub(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))  # one write of one line: whole or, at worst, cut at the end
            finally:
                os.close(fd)
        except OSError as exc:
            raise StateError(f"{self.path}: cannot {what} ({exc.strerror or exc}); nothing further is sent") from None

    def remove(self) -> None:
        """Every attempt it names is in the manifest just written."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a later run reads it and finds every attempt accounted for


def _named(sub: Submission) -> dict[str, Any]:
    return {"instance_id": sub.instance_id, "input_sha256": sub.input_sha256, "generation": sub.generation,
            "attempt": sub.attempts, "endpoint": sub.endpoint, "idempotency_key": sub.idempotency_key,
            "estimate": [sub.estimate_min, sub.estimate_max], "sent_at": sub.sent_at}


def read(manifest_path: Path) -> list[Intent]:
    """The attempts a run recorded before sending them, and those it recorded as accepted (with
    their request ids); a line cut short by a kill is skipped."""
    path = path_for(manifest_path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return []
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return []
    return [i for i in (_intent(line) for line in text.splitlines()) if i is not None]


def _intent(line: str) -> Intent | None:
    try:
        d = json.loads(line)
        est = d.get("estimate") or [None, None]
        intent = Intent(str(d["instance_id"]), str(d["input_sha256"]), int(d["generation"]), int(d["attempt"]),
                        str(d["endpoint"]), str(d["idempotency_key"]), d.get("body"),
                        (est[0], est[1]), str(d.get("sent_at") or ""))
        if "request_id" not in d:  # an intent line (an accepted line names its request id)
            return intent
        charged, rid = d.get("credits_charged"), _text(d["request_id"])
        if rid is None:
            return None
        return replace(intent, request_id=rid, session_id=_text(d.get("session_id")),
                       credits_charged=float(charged) if isinstance(charged, (int, float)) else None)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def latest(intents: Iterable[Intent]) -> dict[tuple[str, str], Intent]:
    """The last attempt of each (instance, input), with its request id when it was accepted."""
    out: dict[tuple[str, str], Intent] = {}
    for i in intents:
        key = (i.instance_id, i.input_sha256)
        prev = out.get(key)
        if prev is None or (i.generation, i.attempt) > (prev.generation, prev.attempt):
            out[key] = i
        elif (i.generation, i.attempt) == (prev.generation, prev.attempt):
            out[key] = prev.merged(i)
    return out
