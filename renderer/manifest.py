"""The results manifest (campaign-format.md §4): its type, and the one reuse rule.

A ``Manifest`` is read (``load``: a regular file within a size, checked, with
located errors), consulted by ``plan`` and ``run`` (``Manifest.reusable``: the
rule that decides whether a finished job is reused), built by a run from its
journal (``renderer.execute.manifest_from_run.build_manifest``) and written (``dump``: sorted keys,
atomically: a re-run that changes nothing changes no byte).

It is committed beside the campaign, so a pull request can change it too: every
field that plan and run compute with is checked on load. An entry read from a
file keeps the JSON object it came from, so a reused entry is written back
exactly as it was read.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from renderer.errors import Invalid, LoadError, Location
from renderer.vocabulary import PUBLIC_STATUSES, JobStatus, Outputs, Range
from renderer.campaign.yamlfile import FileRefused, read_regular_file
from renderer import atomic, jsonfast
from renderer.text import utf8_safe_json

# every status an entry can have, in the order the docs list them
CHARGED_AT = ("submission", "completion", "never")  # when the API first said a family's charge
STATUSES = PUBLIC_STATUSES
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


SANDBOX_SUFFIX = ".sandbox.manifest.json"  # a rehearsal's record (`run --sandbox`): never the real one


def default_path(campaign_path: str | Path, sandbox: bool = False) -> Path:
    """Where a campaign's manifest lives: beside it, `<stem>.manifest.json`; a rehearsal's
    (``sandbox``) is `<stem>.sandbox.manifest.json`, so it never changes the real record."""
    p = Path(campaign_path)
    return p.with_name(p.stem + (SANDBOX_SUFFIX if sandbox else ".manifest.json"))


@dataclass(frozen=True, slots=True)
class PricingFamily:
    """What runs learned about the charges of one pricing family (``Route.family``).

    ``factor``: the most the API charged over the estimate's max (charged / estimate), at
    least 1: later runs hold the family's jobs at estimate x factor. ``charged_at``: when
    the API first said what a job of the family cost (``CHARGED_AT``), so ``plan`` knows
    whether the budget's probe waits for a POST's answer or for a whole render;
    ``probe_seconds``: how long that wait was. Kept in the journal and the manifest.
    """

    name: str
    factor: float = 1.0
    charged_at: str | None = None
    probe_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"factor": tidy(self.factor)}
        if self.charged_at is not None:
            out["charged_at"] = self.charged_at
        if self.probe_seconds is not None:
            out["probe_seconds"] = round(self.probe_seconds, 3)
        return out

    @classmethod
    def from_json(cls, name: str, obj: Mapping[str, Any]) -> PricingFamily:
        return cls(name, obj.get("factor") or 1.0, obj.get("charged_at"), obj.get("probe_seconds"))

    def merged(self, other: PricingFamily | None) -> PricingFamily:
        """What both records know: the larger factor; this one's timing, else the other's."""
        if other is None:
            return self
        return PricingFamily(self.name, max(self.factor, other.factor), self.charged_at or other.charged_at,
                             self.probe_seconds if self.probe_seconds is not None else other.probe_seconds)


@dataclass(frozen=True, slots=True)
class ManifestEntry(Outputs):
    """One instance's record: its outputs (status, ids, URLs, credits charged, duration, the
    answer: ``vocabulary.Outputs``) and how it got them. ``source`` is the JSON object it
    was read from, if any."""

    endpoint: str | None = None
    input_sha256: str | None = None
    credits_estimated: Range | None = None
    # sent, and the API never said what it charged: counted at its hold (estimate x factor)
    credits_held: float | None = None
    # the API's figures when its header and its body disagreed ({"header": .., "body": ..})
    credits_reported: Mapping[str, Any] | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    attempts: int = 0
    error: str | None = None
    elapsed_seconds: float | None = None
    has_response: bool = False  # completed entries record the API's final payload
    request: Any = None  # the body input_sha256 hashes, as sent (plan --show-inputs diffs against it)
    has_request: bool = False  # manifests before `request` existed lack it
    submitted: bool = False  # the journal holds a submission: `elapsed_seconds` is written
    generation: int = 1  # the submission's generation: a re-render is keyed past it (written when > 1)
    request_body: Any = None  # an `unknown` without a request id whose sent body is not `request` (an upload)
    has_request_body: bool = False
    reconciled: Mapping[str, Any] | None = None  # {by, evidence}: a lost answer proven from a listing
    target: str | None = None  # where it ran (renderer.targets): `sandbox` or the base URL; None in older manifests
    # awaiting_approval: what the render made before its approval point ({kind, url, index, start, end, text})
    previews: tuple[Mapping[str, Any], ...] = ()
    source: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def completed(self) -> bool:
        return self.status == JobStatus.COMPLETED

    def reusable_for(self, input_sha256: str | None) -> bool:
        """THE reuse rule: finished, for exactly this input (endpoint, body, local files)."""
        return bool(input_sha256) and self.completed and self.input_sha256 == input_sha256

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ManifestEntry:
        """An entry as a manifest file holds it (checked by ``problem`` first)."""
        raw = obj.get("credits")
        credits: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        est = credits.get("estimated")
        estimated = None
        if isinstance(est, Mapping) and est.get("min") is not None and est.get("max") is not None:
            estimated = Range(est["min"], est["max"])
        return cls(
            endpoint=obj.get("endpoint"), input_sha256=obj.get("input_sha256"), status=obj.get("status"),
            request_id=obj.get("request_id"), session_id=obj.get("session_id"), result_url=obj.get("result_url"),
            result_urls=tuple(obj.get("result_urls") or ()), thumbnail_url=obj.get("thumbnail_url"),
            credits_estimated=estimated, credits_charged=credits.get("charged"), credits_held=credits.get("held"),
            credits_reported=credits.get("reported") if isinstance(credits.get("reported"), Mapping) else None,
            submitted_at=obj.get("submitted_at"), finished_at=obj.get("finished_at"), duration=obj.get("duration"),
            attempts=obj.get("attempts") or 0, error=obj.get("error"), elapsed_seconds=obj.get("elapsed_seconds"),
            response=obj.get("response"), has_response="response" in obj, submitted="elapsed_seconds" in obj,
            request=obj.get("request"), has_request="request" in obj,
            generation=_generation(obj.get("generation")), request_body=obj.get("request_body"),
            has_request_body="request_body" in obj,
            reconciled=obj.get("reconciled") if isinstance(obj.get("reconciled"), Mapping) else None,
            target=obj.get("target") if isinstance(obj.get("target"), str) else None,
            previews=tuple(p for p in obj.get("previews") or () if isinstance(p, Mapping)),
            source=obj,
        )

    def to_json(self) -> dict[str, Any]:
        if self.source is not None:
            return dict(self.source)
        out: dict[str, Any] = {
            "endpoint": self.endpoint, "input_sha256": self.input_sha256, "status": self.status,
            "request_id": self.request_id, "session_id": self.session_id, "result_url": self.result_url,
            "result_urls": list(self.result_urls), "thumbnail_url": self.thumbnail_url,
            "credits": {"estimated": _estimate_json(self.credits_estimated), "charged": self.credits_charged},
            "submitted_at": self.submitted_at, "finished_at": self.finished_at, "duration": self.duration,
            "attempts": self.attempts, "error": self.error,
        }
        miss = estimate_miss(self.credits_charged, self.credits_estimated)
        if miss is not None:
            out["credits"]["estimate_miss"] = miss
        if self.credits_held is not None:
            out["credits"]["held"] = tidy(self.credits_held)
        if self.credits_reported is not None:
            out["credits"]["reported"] = dict(self.credits_reported)
        if self.submitted:
            out["elapsed_seconds"] = self.elapsed_seconds
        if self.has_response:
            out["response"] = self.response
        if self.generation > 1:
            out["generation"] = self.generation
        if self.has_request_body:
            out["request_body"] = self.request_body
        if self.reconciled is not None:
            out["reconciled"] = dict(self.reconciled)
        if self.has_request:
            out["request"] = self.request
        if self.target is not None:
            out["target"] = self.target
        if self.previews:
            out["previews"] = [dict(p) for p in self.previews]
        return out


def _generation(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def estimate_miss(charged: float | None, estimated: Range | None) -> dict[str, Any] | None:
    """A charge above the estimate's max: by how much, and how many times the estimate."""
    if charged is None or estimated is None or charged <= estimated.max:
        return None
    top = estimated.max
    return {"above_estimate": tidy(charged - top), "ratio": round(charged / top, 3) if top else None}


def _estimate_json(r: Range | None) -> dict[str, Any] | None:
    return None if r is None else {"min": r.min, "max": r.max}


@dataclass(frozen=True, slots=True)
class Manifest:
    campaign: str | None = None
    campaign_sha256: str | None = None
    renderer_version: str | None = None
    jobs: Mapping[str, ManifestEntry] = field(default_factory=dict)
    # what the campaign was charged across every run and attempt (`credits.spent`), a charge
    # the API never said counted at its hold; None in manifests written before it was recorded
    spent: float | None = None
    # entries of another target, set aside by ``renderer.targets.seen_from``: never reused,
    # adopted or polled here; the plan says why they run again. Empty in a manifest as read.
    elsewhere: Mapping[str, ManifestEntry] = field(default_factory=dict)
    families: Mapping[str, PricingFamily] = field(default_factory=dict)  # `credits.families`

    def get(self, instance_id: str) -> ManifestEntry | None:
        return self.jobs.get(instance_id)

    def charged_in_all(self) -> float:
        """``spent``, or for an older manifest what its entries were charged (or held)."""
        if self.spent is not None:
            return self.spent
        return tidy(sum(_counted(e) for e in self.jobs.values()))

    def reusable(self, instance_id: str, input_sha256: str | None) -> ManifestEntry | None:
        """The entry a job with this input reuses instead of running, if there is one."""
        entry = self.jobs.get(instance_id)
        return entry if entry is not None and entry.reusable_for(input_sha256) else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        jobs = data.get("jobs") or {}
        credits = data.get("credits")
        spent = credits.get("spent") if isinstance(credits, Mapping) else None
        fams = credits.get("families") if isinstance(credits, Mapping) else None
        families = {k: PricingFamily.from_json(k, v) for k, v in fams.items()} if isinstance(fams, Mapping) else {}
        return cls(data.get("campaign"), data.get("campaign_sha256"), data.get("renderer_version"),
                   {iid: ManifestEntry.from_json(e) for iid, e in jobs.items()},
                   spent if _number(spent) else None, families=families)

    @classmethod
    def coerce(cls, value: Manifest | Mapping[str, Any] | None) -> Manifest:
        """A manifest from what a caller holds: one already, its JSON, or nothing (empty)."""
        if value is None:
            return cls()
        return value if isinstance(value, Manifest) else cls.from_json(value)

    def to_json(self, shown: Mapping[str, Any] | None = None, sums: Totals | None = None) -> dict[str, Any]:
        """The manifest as written; ``shown``: the entries' JSON when the caller has it already;
        ``sums``: the entries' totals when the caller keeps them (then ``jobs`` is not read)."""
        jobs = dict(shown) if shown is not None else {iid: e.to_json() for iid, e in self.jobs.items()}
        credits = sums.credits() if sums is not None else totals(self.jobs.values())
        if self.spent is not None:
            credits["spent"] = tidy(self.spent)
        if self.families:
            credits["families"] = {k: f.to_json() for k, f in sorted(self.families.items())}
        return {
            "campaign": self.campaign,
            "campaign_sha256": self.campaign_sha256,
            "renderer_version": self.renderer_version,
            "jobs": jobs,
            "credits": credits,
            "counts": sums.counts() if sums is not None else counts(self.jobs.values()),
        }


def _counted(e: ManifestEntry) -> float:
    """What an entry counts for in ``credits.spent``: its charge, else its hold."""
    if e.credits_charged is not None:
        return e.credits_charged
    return e.credits_held or 0.0


def totals(entries: Iterable[ManifestEntry]) -> dict[str, Any]:
    lo = hi = charged = held = 0.0
    unknown = False
    for e in entries:
        if e.credits_estimated is not None:
            lo += e.credits_estimated.min
            hi += e.credits_estimated.max
        else:
            unknown = True
        if e.credits_charged is not None:
            charged += e.credits_charged
        elif e.credits_held is not None:
            held += e.credits_held
    return _credits_json(lo, hi, unknown, charged, held)


def _credits_json(lo: float, hi: float, unknown: bool, charged: float, held: float) -> dict[str, Any]:
    estimated: dict[str, Any] = Range(tidy(lo), tidy(hi)).as_dict()
    if unknown:
        estimated["unknown"] = True
    out: dict[str, Any] = {"estimated": estimated, "charged": tidy(charged)}
    if held:
        out["held"] = tidy(held)  # charges the API never said, counted at their holds
    return out


class ExactSum:
    """A sum that numbers enter and leave (``add(x, -1)``) exactly, as fractions: what left
    comes back to 0, not to 1e-17. Numbers no fraction holds (inf, nan) are counted apart
    and make the sum one of them, as a float sum would."""

    __slots__ = ("_whole", "_total", "_odd")

    def __init__(self) -> None:
        self._whole = 0  # whole numbers, the usual credits: Python's ints are exact and cheap
        self._total = Fraction(0)
        self._odd: Counter[str] = Counter()

    def add(self, x: float, sign: int = 1) -> None:
        if isinstance(x, int) or (isinstance(x, float) and x.is_integer()):
            self._whole += sign * int(x)
        elif math.isfinite(x):
            self._total += sign * Fraction(x)
        else:
            self._odd[str(x)] += sign

    def value(self) -> float:
        return float(self._whole + self._total) + sum((float(x) for x, n in self._odd.items() if n > 0), 0.0)


class Totals:
    """``totals`` and ``counts`` of entries that come and go (``add(entry, -1)`` when an entry is
    replaced), so that a run's checkpoints cost what changed, not every entry
    (``renderer.execute.manifest.Snapshots``)."""

    def __init__(self) -> None:
        self.lo, self.hi, self.charged, self.held = ExactSum(), ExactSum(), ExactSum(), ExactSum()
        self.unknown = 0  # entries with no estimate
        self.statuses: Counter[str] = Counter()

    def add(self, e: ManifestEntry, sign: int = 1) -> None:
        if e.credits_estimated is not None:
            self.lo.add(e.credits_estimated.min, sign)
            self.hi.add(e.credits_estimated.max, sign)
        else:
            self.unknown += sign
        if e.credits_charged is not None:
            self.charged.add(e.credits_charged, sign)
        elif e.credits_held is not None:
            self.held.add(e.credits_held, sign)
        self.statuses[e.status if e.status is not None else "?"] += sign

    def credits(self) -> dict[str, Any]:
        return _credits_json(self.lo.value(), self.hi.value(), self.unknown > 0, self.charged.value(),
                             self.held.value())

    def counts(self) -> dict[str, int]:
        return {k: n for k, n in sorted(self.statuses.items()) if n}


def counts(entries: Iterable[ManifestEntry]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        status = e.status if e.status is not None else "?"
        out[status] = out.get(status, 0) + 1
    return dict(sorted(out.items()))


def tidy(x: float) -> float:
    """A whole number of credits as an int (``100``, not ``100.0``), else rounded to 6 places."""
    return int(x) if float(x).is_integer() else round(x, 6)


# -- reading --------------------------------------------------------------------------


def load(path: Path | None, required: bool, max_bytes: int = MAX_MANIFEST_BYTES) -> Manifest | None:
    """A previous results manifest, or None when there is none yet.

    Reads a regular file only (not a symlink to /dev/zero), within a size, and
    checks the fields that plan and run compute with.
    """
    if path is None:
        return None
    where = Location(str(path))
    try:
        data = json.loads(read_regular_file(path, max_bytes).decode("utf-8"))
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # "\ud800": no stream could print it
    except FileNotFoundError:
        if required:
            raise Invalid([LoadError("manifest not found", where)]) from None
        return None
    except FileRefused as exc:
        raise Invalid([LoadError(f"manifest: {exc}", where)]) from None
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise Invalid([LoadError(f"manifest is not readable JSON: {exc}", where)]) from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise Invalid([LoadError("manifest must be a JSON object with a `jobs` mapping", where)])
    found = problem(data["jobs"])
    credits = data.get("credits")
    if not found and isinstance(credits, dict) and not _number(credits.get("spent")):
        found = "credits.spent must be a number"
    if not found and isinstance(credits, dict):
        found = _families_problem(credits.get("families"))
    if found:
        raise Invalid([LoadError(f"manifest: {found}", where)])
    return Manifest.from_json(data)


def problem(jobs: Mapping[str, Any]) -> str | None:
    """What is wrong with a manifest's `jobs`, or None."""
    for iid, entry in jobs.items():
        found = _entry_problem(iid, entry)
        if found:
            return found
    return None


def _number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _families_problem(families: Any) -> str | None:
    if families is None:
        return None
    if not isinstance(families, dict):
        return "credits.families must be an object"
    for name, fam in families.items():
        where = f"credits.families[{name!r}]"
        if not isinstance(fam, dict):
            return f"{where} must be an object"
        factor = fam.get("factor")
        if not (_number(factor) and factor is not None and 1 <= factor < 2**53):
            return f"{where}.factor must be a number of at least 1"
        if fam.get("charged_at") is not None and fam["charged_at"] not in CHARGED_AT:
            return f"{where}.charged_at must be one of {', '.join(CHARGED_AT)}"
        if not _number(fam.get("probe_seconds")):
            return f"{where}.probe_seconds must be a number"
    return None


def _entry_problem(iid: str, entry: Any) -> str | None:
    where = f"jobs[{iid!r}]"
    if any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in iid):
        return f"{where}: an instance id holds control characters"
    if not isinstance(entry, dict):
        return f"{where} must be an object"
    for key in ("status", "input_sha256", "endpoint", "target"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"{where}.{key} must be a string"
    if entry.get("status") is not None and entry["status"] not in STATUSES:
        return f"{where}.status is {entry['status']!r}, not one of {', '.join(STATUSES)}"
    urls = entry.get("result_urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        return f"{where}.result_urls must be a list of strings"
    if not _number(entry.get("duration")):
        return f"{where}.duration must be a number"
    previews = entry.get("previews")
    if previews is not None and not (isinstance(previews, list) and all(
            isinstance(p, dict) and isinstance(p.get("url"), str) for p in previews)):
        return f"{where}.previews must be a list of objects with a string url"
    files = entry.get("files")  # downloaded outputs (renderer.results): the report and `results` read them
    if files is not None and not (isinstance(files, list) and all(
            isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("url", "path", "sha256"))
            and isinstance(f.get("size"), int) for f in files)):
        return f"{where}.files must be a list of objects with strings url, path, sha256 and an integer size"
    credits = entry.get("credits")
    if credits is None:
        return None
    if not isinstance(credits, dict) or not _number(credits.get("charged")):
        return f"{where}.credits must be an object with a number `charged`"
    if not _number(credits.get("held")):
        return f"{where}.credits.held must be a number"
    est = credits.get("estimated")
    if est is not None and not (isinstance(est, dict) and _number(est.get("min")) and _number(est.get("max"))):
        return f"{where}.credits.estimated must be an object with numbers `min` and `max`"
    return None


# -- writing --------------------------------------------------------------------------


def dump(path: Path, manifest: Manifest | Mapping[str, Any], fsync: bool = True) -> None:
    """Atomically replace ``path`` with the manifest as sorted JSON (temp file, fsync, rename)."""
    data = manifest.to_json() if isinstance(manifest, Manifest) else manifest
    # strict JSON: a NaN or Infinity here is a bug to report, not a file to write
    # a lone surrogate an answer held (no UTF-8 file takes it) is written as its visible escape
    atomic.write_text(path, (utf8_safe_json(jsonfast.sorted_indented(data)), "\n"), fsync)
