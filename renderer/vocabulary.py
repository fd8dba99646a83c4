"""The shared vocabulary: the records campaign, plan, execution, manifest and providers all speak.

- ``Range``: a closed interval of credits or seconds. Prices are ranges so that what the
  docs leave to the server (the length of an image-list video, how many rollup tiles
  need enhancing) is carried as ``{min, max}`` instead of a guess; ``None`` means
  unknown, never zero.
- ``Price`` / ``PriceContext``: what a provider's ``price`` answers, and what it may look at.
- ``Pending``: an upstream output known only at run time.
- ``Route``: one API route that creates work, as a campaign names it.
- ``ApiState`` / ``Status``: what an API says of a job, normalised.
- ``JobStatus``: where a job is during a run (``PUBLIC_STATUSES``: the manifest's words);
  ``SubmissionState``: where a submission is, as the journal records it; ``public_status``
  maps the one onto the other. StrEnums: they compare, hash and serialise as their strings,
  so what they write (manifests, journals, JSON) is the text it always was.
- ``Outputs``: what a finished job gives its dependants (``needs.<job>.<field>``).
- ``Preview`` / ``Paused``: what a render that stopped for approval shows, and says of its stop.

It imports nothing of ours: every layer may use it (``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

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
    """Sum of ranges; unknown if any part is unknown. (``Range.__add__`` step by step, one
    Range at the end: a plan sums 100,000 of them.)"""
    lo: Number = 0
    hi: Number = 0
    for v in values:
        if v is None:
            return None
        lo, hi = lo + v.min, hi + v.max
        if lo.__class__ is float and lo.is_integer():  # _tidy, inline
            lo = int(lo)
        if hi.__class__ is float and hi.is_integer():
            hi = int(hi)
    return Range(lo, hi)


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


class ApiState(StrEnum):
    """Where a job is, as an API's status answer says (every provider's words map onto these)."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobStatus(StrEnum):
    """Where one job is during a run. The first three are the run's own; the rest are the
    manifest's ``status`` (``PUBLIC_STATUSES``, campaign-format.md section 4)."""

    WAITING = "waiting"  # for its upstreams (or for its turn to be looked at)
    QUEUED = "queued"  # admitted: waiting for its pricing family's turn, an upload, a slot
    SUBMITTING = "submitting"  # its intent is journaled and its POST is on the wire
    PENDING = "pending"  # accepted and rendering (or left so: a later run collects it)
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_SUBMITTED = "not_submitted"  # nothing of it was processed: free to send later
    UNKNOWN = "unknown"  # sent, and no answer says what became of it: it may be charged
    # an `approve: manual` render stopped at its approval point: not done; nothing more is sent until approved
    AWAITING_APPROVAL = "awaiting_approval"


# The manifest's statuses, in the order the docs list them.
PUBLIC_STATUSES: tuple[JobStatus, ...] = (
    JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING, JobStatus.NOT_SUBMITTED,
    JobStatus.UNKNOWN, JobStatus.AWAITING_APPROVAL,
)
UNSETTLED = frozenset({JobStatus.WAITING, JobStatus.QUEUED, JobStatus.SUBMITTING})  # the run's own words


class SubmissionState(StrEnum):
    """Where one submission is, as the journal records it (``Submission.state``)."""

    PREPARED = "prepared"  # known not processed (a retryable answer): may be sent again
    SENDING = "sending"  # a POST is, or may have been, on the wire
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # the API refused it; nothing was processed
    UNKNOWN = "unknown"  # sent, answer lost, fate not established
    # stopped at its approval point (accepted, charged what it made so far: renderer.execute.approval)
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVING = "approving"  # approved: the POST that lets it continue is, or may have been, on the wire


def public_status(state: str, http_status: int | None = None) -> JobStatus:
    """The manifest's status for a journal state (a refusal of the key or of payment, or one
    without an HTTP status, left the job free to send again: ``not_submitted``)."""
    if state == SubmissionState.PREPARED:
        return JobStatus.NOT_SUBMITTED
    if state == SubmissionState.SENDING:
        return JobStatus.UNKNOWN
    if state in (SubmissionState.ACCEPTED, SubmissionState.APPROVING):
        return JobStatus.PENDING
    if state == SubmissionState.REJECTED:
        return JobStatus.NOT_SUBMITTED if http_status in (401, 402, 403, None) else JobStatus.FAILED
    return JobStatus(state) if state in _SAME_WORD else JobStatus.UNKNOWN  # a state no run writes: not established


_SAME_WORD = frozenset({SubmissionState.COMPLETED, SubmissionState.FAILED, SubmissionState.CANCELLED,
                        SubmissionState.UNKNOWN, SubmissionState.AWAITING_APPROVAL})


@dataclass(frozen=True, slots=True)
class Status:
    """A status answer, normalised by the provider's ``parse_status``."""

    state: ApiState
    result_url: str | None = None
    result_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One API route that creates work, as a campaign names it."""

    endpoint: str  # what campaigns write: "<provider>/<route>", e.g. "<provider>/video/text_to_video"
    provider: str  # the provider's NAME
    path: str  # below the provider's base URL: "/video/text_to_video"
    schema: str  # the file name of its request schema (the provider's ``schemas()``)
    family: str  # pricing and status family: "text_to_video", "image_enhance", ...
    wrap_input: bool = False  # docs wrap the body as {"input": {...}}
    job_keys: tuple[str, ...] = ()  # keys the docs put beside `input`
    status_path: str = "/status"
    api_version: str = "v1"  # v2 routes live beside /v1 on the same host
    # False: the answer to the submission is the outcome (cancel_render acts on an existing
    # session; a synchronous route answers its result at once): nothing to poll
    creates_session: bool = True
    alias_of: str | None = None  # the documented route this client-only route mirrors
    note: str = ""
    requires: tuple[str, ...] = ()  # job keys (of ``job_keys``) a job of this route must give
    # fields the route always sends beside `input`, with their values unless the job's extras
    # give others (a step render's controls: a straight render unless an approval asks to stop)
    beside: tuple[tuple[str, Any], ...] = ()

    def body(self, job_input: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
        """The request body the docs show, from a job's `input` and its beside-keys."""
        if not self.wrap_input:
            return dict(job_input)
        body: dict[str, Any] = {"input": dict(job_input)}
        for key, value in self.beside:
            value = extras.get(key, value)
            body[key] = list(value) if isinstance(value, tuple) else value
        for key in self.job_keys:
            if extras.get(key) is not None:
                body[key] = extras[key]
        return body


@dataclass(frozen=True, slots=True)
class Preview:
    """One thing a render made before it stopped for approval: a scene's still, its speech."""

    kind: str  # "image" | "audio" | "video"
    url: str
    index: int | None = None  # the scene (or audio layer) it belongs to
    start: float | None = None  # seconds into the video
    end: float | None = None
    text: str | None = None  # the prompt it was made from, when the API says

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "index": self.index, "start": self.start, "end": self.end,
                "text": self.text}


@dataclass(frozen=True, slots=True)
class Paused:
    """A status answer saying the render waits for an approval before its next (costly) stage."""

    stage: str | None  # the stage it waits to run ("ai_video_generation"), when the API names it
    label: str | None = None  # how the API words where it stopped


@dataclass(frozen=True, slots=True)
class Outputs:
    """The outputs of a finished instance, as templates see them under ``needs.<job>``.

    The one record of these fields: a manifest entry is one (``ManifestEntry`` extends it).
    """

    request_id: str | None = None
    session_id: str | None = None
    status: str | None = None
    result_url: str | None = None
    result_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    credits_charged: float | None = None
    duration: float | None = None
    response: Any = None

    @classmethod
    def from_manifest(cls, entry: Outputs) -> Outputs:
        """The outputs part of a record that holds them (a ``ManifestEntry`` is one)."""
        return cls(entry.request_id, entry.session_id, entry.status, entry.result_url, entry.result_urls,
                   entry.thumbnail_url, entry.credits_charged, entry.duration, entry.response)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "session_id": self.session_id, "status": self.status,
            "result_url": self.result_url, "result_urls": list(self.result_urls),
            "thumbnail_url": self.thumbnail_url, "credits_charged": self.credits_charged,
            "duration": self.duration, "response": self.response,
        }


OUTPUT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Outputs))
