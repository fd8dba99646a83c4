"""What a reviewer approves: the exact request bodies, and what changed since the manifest.

``plan --show-inputs`` writes every body that will be sent; for an instance the
manifest already holds (its ``request``, as the run recorded it) it names the
fields that differ. A value known only at run time (an upstream output) is shown
as ``<pending INSTANCE.OUTPUT>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from renderer.manifest import Manifest, ManifestEntry
from renderer.plan.model import Instance, Plan
from renderer.vocabulary import JobStatus, Pending
from renderer.text import printable

_MISSING = object()
MAX_SHOWN = 200  # characters of one old/new value in the text view


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "input.prompt", "image_urls[0]"
    old: Any  # _MISSING when the field is new
    new: Any  # _MISSING when the field is gone

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.path}
        if self.old is not _MISSING:
            out["old"] = self.old
        if self.new is not _MISSING:
            out["new"] = shown_body(self.new)
        return out


@dataclass(frozen=True, slots=True)
class Change:
    """Why an instance the manifest holds is not reused."""

    reason: str
    fields: tuple[FieldChange, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "fields": [f.as_json() for f in self.fields]}


def shown_body(value: Any) -> Any:
    """A body as JSON: pending values as "<pending INSTANCE.OUTPUT>"."""
    if isinstance(value, Pending):
        return f"<pending {value.instance}.{value.output}>"
    if isinstance(value, list):
        return [shown_body(v) for v in value]
    if isinstance(value, dict):
        return {k: shown_body(v) for k, v in value.items()}
    return value


def change_of(inst: Instance, old: ManifestEntry | None, elsewhere: str | None = None) -> Change | None:
    """Why ``inst`` is run again though the manifest holds it; None when it is new or reused.

    ``elsewhere``: the entry ran against another target; this says where (and it is the reason)."""
    if inst.action != "run" or old is None:
        return None
    if elsewhere is not None:
        return Change(elsewhere, tuple(diff(old.request, inst.body)) if old.has_request and old.request is not None else ())
    status = old.status
    if not old.has_request or old.request is None:
        why = "the manifest does not record its request (written by an older renderer, or never sent)"
        return Change(why if status == JobStatus.COMPLETED else f"it is {status} in the manifest")
    fields = tuple(diff(old.request, inst.body))
    if status != JobStatus.COMPLETED:
        reason = f"it is {status} in the manifest" + ("; its request changed" if fields else "; same request")
    elif fields:
        reason = _why_changed(fields)
    else:  # same body, another hash: a local file it uploads changed
        reason = "a file it uploads changed" if inst.input_sha256 != old.input_sha256 else "its input changed"
    return Change(reason, fields)


def _why_changed(fields: tuple[FieldChange, ...]) -> str:
    """"its request changed", or, when only values an upstream makes differ, which upstreams run again."""
    upstream: dict[str, None] = {}
    for f in fields:
        found = list(_pending_in(f.new))
        if not found:
            return "its request changed"
        upstream.update(dict.fromkeys(found))
    names = list(upstream)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")
    return f"it takes outputs of {shown}, which run again"


def _pending_in(value: Any) -> Iterator[str]:
    if isinstance(value, Pending):
        yield value.instance
    elif isinstance(value, list):
        for v in value:
            yield from _pending_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _pending_in(v)


def diff(old: Any, new: Any, path: str = "") -> Iterator[FieldChange]:
    """The leaves where ``new`` differs from ``old``; a pending value is a change."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                yield FieldChange(sub, old[key], _MISSING)
            elif key not in old:
                yield FieldChange(sub, _MISSING, new[key])
            else:
                yield from diff(old[key], new[key], sub)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from diff(a, b, f"{path}[{i}]")
    elif not _same(old, new):
        yield FieldChange(path or "(body)", old, new)


def _same(a: Any, b: Any) -> bool:
    # JSON equality: 1 and 1.0 are one number, true is not 1
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b
    )


def inputs_text(plan: Plan, manifest: Manifest, elsewhere: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The bodies of the instances to run, each with what changed against the manifest;
    ``elsewhere``: why jobs the manifest holds from another target run again (``Summary.elsewhere``)."""
    old, away = manifest.jobs, manifest.elsewhere
    run = plan.to_run
    lines = [f"Inputs of the {len(run):,} job(s) to run:"]
    for inst in run:
        state = "changed" if inst.id in old or inst.id in away else "added"
        lines += ["", f"{inst.id}  {inst.endpoint}  ({state})"]
        why = (elsewhere or {}).get(inst.id)
        change = change_of(inst, old.get(inst.id) or away.get(inst.id), why["reason"] if why else None)
        if change is not None:
            lines.append(f"  why: {change.reason}")
            for f in change.fields:
                lines.append(f"  ~ {f.path}: {_short(f.old)} -> {_short(f.new)}")
        body = json.dumps(shown_body(inst.body), indent=2, ensure_ascii=False, sort_keys=False)
        lines += ["  " + printable(ln) for ln in body.split("\n")]  # JSON leaves C1 controls and U+2028 raw
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    text = printable(json.dumps(shown_body(value), ensure_ascii=False))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
