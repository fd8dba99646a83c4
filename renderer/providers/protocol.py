"""What a provider is: a small required core (``Provider``), and optional parts that default to absent.

In the style of pre-commit's ``Language`` and its ``lang_base``: a provider is a plain
module (or any object). It must define the core: who it is, its routes and their
request schemas, how a request is priced, and how its answers read. Every other part
is optional; ``renderer.providers.register`` fills a part the provider leaves out from
``renderer.providers.defaults`` (absent capabilities: ``None`` or empty), and the
registry hands the rest of the code a ``Registered`` provider, every part present.
The core (``plan/``, ``execute/``, the commands, the sandbox) reads those parts and
never branches on a provider's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from renderer.vocabulary import Paused, Preview, Price, PriceContext, Route, Status

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from renderer.sandbox.state import SandboxState


class Provider(Protocol):
    """The required core of a provider (``renderer.providers.samsar`` is the reference).

    The attributes are read-only: a module's constants implement them.
    """

    @property
    def NAME(self) -> str: ...  # what campaigns write before the route: "samsar"

    @property
    def TITLE(self) -> str: ...  # the name as people write it: "EnhanceCraft"

    @property
    def ENV_KEY(self) -> str: ...  # the environment variable holding its API key

    @property
    def ENV_BASE_URL(self) -> str: ...  # the environment variable that may override its base URL

    @property
    def DEFAULT_BASE_URL(self) -> str: ...

    @property
    def ROUTES(self) -> tuple[Route, ...]: ...

    def schemas(self) -> Mapping[str, Mapping[str, Any]]: ...  # its routes' request schemas, by file name

    def price(self, route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price: ...

    def default_prices(self) -> Mapping[str, Any]: ...  # its part of the price table

    def parse_submit(self, route: Route, payload: Any) -> str | None: ...

    def status_request(self, route: Route, request_id: str) -> tuple[str, dict[str, str]]: ...

    def parse_status(self, route: Route, payload: Any) -> Status: ...


# -- the optional capabilities: each is absent (None, or empty) unless a provider offers it ----------


@dataclass(frozen=True, slots=True)
class BatchRead:
    """A list route that answers for many jobs at once (cheaper than a read per job)."""

    kind: str  # names the read in counters ("<kind>_list") and settings ("<kind>_list_limit")
    path: str  # below the route's API base
    applies: Callable[[Route], bool]  # the routes whose jobs it lists
    items: Callable[[Any], list[Any] | None]  # the list inside an answer, None if the shape is off
    as_status: Callable[[Mapping[str, Any], str], Any]  # one item as a status answer of a request id
    missing_read_every: int = 1  # a job missing from the list is read by id on every Nth miss
    windowed: bool = False  # lists only the most recent jobs: unfinished jobs hold a slot of a window
    # how many items one read asks for, and the window's size; PollSettings.<kind>_list_limit
    # and PollSettings.<kind>_window override them where those settings exist
    limit: int = 500
    window: int = 450


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A list route that can prove which session a submission with a lost answer created."""

    path: str  # below the route's API base
    case_types: Mapping[str, str]  # route family -> the case type the list reports for it
    applies: Callable[[Route], bool]
    sessions: Callable[[Any], list[Any] | None]  # the sessions inside an answer
    kind_field: str = "case_type"  # the field of a listed session that holds its case type


@dataclass(frozen=True, slots=True)
class Uploads:
    """Local files sent before the submission: ``field`` (a path) becomes ``key_field``."""

    field: str  # "input_file": a path relative to the campaign
    key_field: str  # "input_key": what the submission sends instead
    path: str  # the upload route, below the API base
    part: str  # the multipart field name of the file
    answer_key: str  # the answer's field holding the stored file's key


def _no_reason(route: Route) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancelling accepted work."""

    route: Route
    applies: Callable[[Route], bool]  # the routes whose renders it can cancel
    body: Callable[[str], Any]  # the request body for one session id
    noun: str  # what it cancels, for messages: "video renders"
    why_not: Callable[[Route], str | None] = _no_reason  # why a route's renders cannot be cancelled


@dataclass(frozen=True, slots=True)
class Remark:
    """What a provider's ``check`` finds in a request body beyond its schema (a rule between fields).

    An error stops ``validate`` at ``path`` (into the checked input, as a schema error would); a
    warning is said and allowed. The provider's stand-in refuses both (``refusal``, else
    ``message``, as its 400), as the API does.
    """

    path: tuple[str | int, ...]
    message: str
    warning: bool = False
    refusal: str | None = None  # how the API words its refusal, where that differs from ``message``


def _unknown_aspect(ref: Any) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What ``check`` may know beyond the body: the planner knows less than the stand-in."""

    aspect_of: Callable[[Any], str | None] = _unknown_aspect  # aspect ratio of the session a field names


@dataclass(frozen=True, slots=True)
class Latest:
    """A read of a finished job's latest result, for a status answer that finished without one."""

    path: str  # below the route's API base
    wanted: Callable[[Route, Any], bool]  # this status answer is finished but names no result
    params: Callable[[str], dict[str, str]]  # the query for one request id
    merge: Callable[[Any, int, Any], Any]  # (status answer, HTTP status, its answer) -> the status answer to read


@dataclass(frozen=True, slots=True)
class Approval:
    """Routes whose renders can stop for an approval before their costly stage (a step render's gate).

    What a gate needs of the API, and nothing of the gate itself: the fields that ask a
    render to stop (``controls``, beside ``input``: their keys are the route's ``beside``),
    how a status answer says it stopped (``paused``: the route's status read keeps answering
    ``pending`` meanwhile), where and how to read what it made so far, how to let it
    continue (a POST, paid work: the API charges the rest then), and whether it did.
    """

    applies: Callable[[Route], bool]
    controls: Callable[[bool], Mapping[str, Any]]  # True: stop for approval; False: render straight through
    paused: Callable[[Any], Paused | None]  # from a status answer of the route's status read
    previews_request: Callable[[Route, str], tuple[str, dict[str, str]]]  # GET path, query for one request id
    previews: Callable[[Any], tuple[Preview, ...]]  # from that read's answer
    proceed: Callable[[Route, str], tuple[str, Any]]  # POST path and body that lets one render continue
    proceeded: Callable[[Any], bool | None]  # a status answer: past the stop (True), still at it (False), unsure (None)


@dataclass(frozen=True, slots=True)
class Balance:
    """Where the account's remaining credits can be read: a GET below the API base."""

    path: str
    remaining: Callable[[Any], float | None]  # the credits left, from the answer; None if the shape is off


@dataclass(frozen=True, slots=True)
class RateTier:
    """A published rate limit: runs pace themselves by it, and the sandbox enforces it."""

    name: str
    requests_per_minute: float | None
    requests_per_month: int | None = None  # a monthly quota on top, where the tier has one


@dataclass(frozen=True, slots=True)
class CampaignSchemaParts:
    """What a provider adds to ``campaign.schema.json`` (besides its routes' endpoint branches)."""

    settings: Mapping[str, Any]  # the schema of `providers.<NAME>`
    pricing: Mapping[str, Any]  # schemas of its `pricing.<key>` blocks, by key
    rules: Sequence[Mapping[str, Any]] = ()  # `allOf` rules on a job (beside-input keys)


def _message_body(text: str) -> Any:
    return {"message": text}


@dataclass(frozen=True, slots=True)
class StandIn:
    """Its stand-in in the sandbox (``renderer sandbox``, ``run --sandbox``).

    The sandbox mounts each path ``routes`` gives below its root, counts the requests
    by route, and enforces the provider's ``rate_tier`` in front of them (429 with
    Retry-After and X-RateLimit-* headers). Faults, idempotency, validation and credits
    come from ``renderer.sandbox``'s pipeline for stand-ins that use it.
    """

    base_path: str  # its API base below the sandbox's root ("/v1"): where a run points
    routes: Callable[[SandboxState], Mapping[str, Sequence[BaseRoute]]]  # mount path -> routes below it
    error: Callable[[str], Any] = _message_body  # the body of its error answers (the 429 of a rate limit)


PriceRefresh = Callable[[TextIO, Mapping[str, str]], int]


@dataclass(frozen=True, slots=True)
class Registered:
    """A provider as the registry holds it: its core and every optional part, absent ones defaulted.

    The optional parts and their defaults are ``renderer.providers.defaults.OPTIONAL``;
    ``source`` is the object that was registered (a module, usually).
    """

    # the core (``Provider``)
    NAME: str
    TITLE: str
    ENV_KEY: str
    ENV_BASE_URL: str
    DEFAULT_BASE_URL: str
    ROUTES: tuple[Route, ...]
    schemas: Callable[[], Mapping[str, Mapping[str, Any]]]
    price: Callable[[Route, Mapping[str, Any], PriceContext], Price]
    default_prices: Callable[[], Mapping[str, Any]]
    parse_submit: Callable[[Route, Any], str | None]
    status_request: Callable[[Route, str], tuple[str, dict[str, str]]]
    parse_status: Callable[[Route, Any], Status]
    # optional parts
    check: Callable[[Route, Mapping[str, Any], CheckContext], Sequence[Remark]]  # rules between fields
    auth_headers: Callable[[str], dict[str, str]]  # the header(s) every request carries
    credits_charged: Callable[[Mapping[str, str], Any], float | None]  # what an answer says it cost
    output_duration: Callable[[Route, Any, float | None, Mapping[str, Any]], float | None]
    rate_tier: Callable[[Mapping[str, Any], Mapping[str, Any]], RateTier | None]
    campaign_schema: Callable[[Mapping[str, Route]], CampaignSchemaParts]
    base_url_hint: Callable[[str], str | None]  # why a 404 may come from its base URL
    RESPONSE_FIELDS: tuple[str, ...] | None  # what a stored answer keeps; None: every field
    BATCH_READS: tuple[BatchRead, ...]
    RECONCILIATION: tuple[Reconciliation, ...]
    UPLOADS: Uploads | None
    CANCEL: Cancel | None
    APPROVAL: Approval | None  # renders that stop for an approval, and how they continue
    LATEST: Latest | None  # a finished job's result, when its status answer names none
    BALANCE: Balance | None  # `run` warns when the plan may spend more than is left
    PRICE_REFRESH: PriceRefresh | None  # `renderer pricing refresh`
    SANDBOX: StandIn | None
    source: object
