"""What a provider is: the ``Provider`` protocol, and the optional capabilities it may offer.

In the style of pre-commit's ``Language``: a provider is a plain module (or any
object) with these attributes; ``renderer.providers.register`` adds one to the
registry. The core (``plan/``, ``execute/``, the commands) asks the registry and
never branches on a provider's name.

Required: the routes, request pricing, answer parsing (request ids, statuses,
credits charged), auth headers, default prices, the campaign-schema parts it
owns, and its sandbox stand-in. Optional capabilities are ``None`` or empty when
the API lacks them: batch status reads, reconciliation of lost answers, uploads
of local files, cancelling, the account's balance, a rate-limit tier, a price refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from renderer.providers.base import Price, PriceContext, Route, Status

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from renderer.sandbox.state import SandboxState


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

    path: str
    case_types: Mapping[str, str]  # route family -> the case type the list reports for it
    applies: Callable[[Route], bool]
    sessions: Callable[[Any], list[Any] | None]  # the sessions inside an answer


@dataclass(frozen=True, slots=True)
class Uploads:
    """Local files sent before the submission: ``field`` (a path) becomes ``key_field``."""

    field: str  # "input_file": a path relative to the campaign
    key_field: str  # "input_key": what the submission sends instead
    path: str  # the upload route, below the API base
    part: str  # the multipart field name of the file
    answer_key: str  # the answer's field holding the stored file's key


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancelling accepted work."""

    route: Route
    applies: Callable[[Route], bool]  # the routes whose renders it can cancel
    body: Callable[[str], Any]  # the request body for one session id
    noun: str  # what it cancels, for messages: "video renders"


@dataclass(frozen=True, slots=True)
class Balance:
    """Where the account's remaining credits can be read: a GET below the API base."""

    path: str
    remaining: Callable[[Any], float | None]  # the credits left, from the answer; None if the shape is off


@dataclass(frozen=True, slots=True)
class RateTier:
    """A published rate limit that applies when a campaign sets none."""

    name: str
    requests_per_minute: float | None


class Provider(Protocol):
    """One API the renderer drives (``renderer.providers.samsar`` is the reference).

    The attributes are read-only: a module's constants implement them.
    """

    @property
    def NAME(self) -> str: ...

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

    @property
    def SANDBOX_BASE_PATH(self) -> str: ...  # its base URL below a sandbox's root ("/v1")

    # optional capabilities
    @property
    def BATCH_READS(self) -> tuple[BatchRead, ...]: ...

    @property
    def RECONCILIATION(self) -> Reconciliation | None: ...

    @property
    def UPLOADS(self) -> Uploads | None: ...

    @property
    def CANCEL(self) -> Cancel | None: ...

    @property
    def BALANCE(self) -> Balance | None: ...  # `run` warns when the plan may spend more

    @property
    def PRICE_REFRESH(self) -> Callable[[TextIO, Mapping[str, str]], int] | None: ...  # `renderer pricing refresh`

    def price(self, route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price: ...

    def parse_submit(self, route: Route, payload: Any) -> str | None: ...

    def status_request(self, route: Route, request_id: str) -> tuple[str, dict[str, str]]: ...

    def parse_status(self, route: Route, payload: Any) -> Status: ...

    def credits_charged(self, headers: Mapping[str, str], payload: Any) -> float | None: ...

    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    def default_prices(self) -> Mapping[str, Any]: ...

    def output_duration(self, route: Route, body: Any, charged: float | None,
                        table: Mapping[str, Any]) -> float | None: ...

    def rate_tier(self, conf: Mapping[str, Any], table: Mapping[str, Any]) -> RateTier | None: ...

    def campaign_schema(self, routes: Mapping[str, Route]) -> CampaignSchemaParts: ...

    def schemas(self) -> Mapping[str, Mapping[str, Any]]: ...

    def sandbox_routes(self, state: SandboxState) -> Sequence[BaseRoute]: ...


@dataclass(frozen=True, slots=True)
class CampaignSchemaParts:
    """What a provider adds to ``campaign.schema.json`` (besides its routes' endpoint branches)."""

    settings: Mapping[str, Any]  # the schema of `providers.<NAME>`
    pricing: Mapping[str, Any]  # schemas of its `pricing.<key>` blocks, by key
    rules: Sequence[Mapping[str, Any]] = ()  # `allOf` rules on a job (beside-input keys)
