"""A provider's uploads (``Provider.UPLOADS``, e.g. ``input_file``): upload a local
file first, then submit its storage key.

The path is relative to the campaign's folder and must stay inside it (no ``..``,
no absolute paths, no symlink out): a campaign from a pull request must not be able
to send ``~/.ssh/id_rsa`` to an API. The upload's answer is journaled by
(path, content sha256), so a resumed run does not upload the same file again.
Uploads cost no credits, so an upload whose answer was lost is simply repeated.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Mapping

import anyio

from renderer.campaign.files import confined_path
from renderer.errors import ApiError, DataFileError, Location
from renderer.execute.client import NOT_SENT, ProviderClient, route_url
from renderer.execute.store import JournalStore
from renderer.execute.limits import Backoff
from renderer.execute.settings import ExecSettings
from renderer import providers
from renderer.providers import shapes
from renderer.vocabulary import Route
from renderer.providers.protocol import Uploads

MAX_UPLOAD_BYTES = 100 * 1024 * 1024


def upload_failure_is_final(exc: ApiError | DataFileError) -> bool:
    """Whether a later run could succeed: not for a bad path or a refused file."""
    if isinstance(exc, DataFileError):
        return True
    return exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 402, 403, 429)


def uploads_of(route: Route) -> Uploads | None:
    return providers.of(route).UPLOADS


def needs_upload(route: Route, body: Any) -> bool:
    up = uploads_of(route)
    return up is not None and isinstance(body, Mapping) and up.field in body


def confined(folder: Path, relative: Any, field: str = "input_file") -> Path:
    """The file a campaign names, or DataFileError if it is outside the campaign's folder."""
    where = Location(str(folder))
    path = confined_path(folder, relative, field, where)
    if not path.is_file():
        raise DataFileError(f"{field} {relative!r} does not exist (looked in {folder.resolve()})", where)
    return path


async def upload_input(
    client: ProviderClient,
    journal: JournalStore,
    route: Route,
    body: Mapping[str, Any],
    folder: Path,
    settings: ExecSettings,
    rng: random.Random,
) -> dict[str, Any]:
    """The body to submit: the file field (``input_file``) replaced by the uploaded
    file's key (``input_key``).

    Raises DataFileError (bad path) or ApiError (the upload did not happen).
    """
    up = uploads_of(route)
    assert up is not None, "needs_upload() said so"
    relative = body[up.field]
    path = confined(folder, relative, up.field)
    data = path.read_bytes()
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataFileError(f"{up.field} {relative!r} is larger than {MAX_UPLOAD_BYTES} bytes", Location(str(folder)))
    digest = hashlib.sha256(data).hexdigest()
    known = journal.upload(str(relative), digest)
    if known is None:
        key, payload = await _send(client, route, up, path.name, data, settings, rng)
        journal.record_upload(str(relative), digest, key, payload)
    else:
        key = known.storage_key
    out = {k: v for k, v in body.items() if k != up.field}
    out[up.key_field] = key
    return out


async def _send(
    client: ProviderClient, route: Route, up: Uploads, name: str, data: bytes, settings: ExecSettings,
    rng: random.Random,
) -> tuple[str, Any]:
    retry = settings.retry
    backoff = Backoff(retry.base_delay, retry.max_delay, rng)
    url = route_url(client.base_url, route, up.path)
    for attempt in range(1, retry.max_attempts + 1):
        answer = await client.send("POST", url, files={up.part: (name, data)}, label="upload")
        if answer.ok:
            key = answer.payload.get(up.answer_key) if isinstance(answer.payload, Mapping) else None
            try:
                return shapes.storage_path(key, up.answer_key), answer.payload
            except shapes.ShapeError as exc:
                raise ApiError(f"upload answered without a usable {up.answer_key} ({exc})", None) from None
        if answer.kind in ("rejected", "payment", "auth", "not_found"):
            raise ApiError(f"upload of {name} refused: {answer.error}", answer.status)
        if answer.kind in NOT_SENT:  # throttled, or the run is stopping
            raise ApiError(f"upload of {name} not sent: {answer.error}", None)
        if attempt < retry.max_attempts:  # a Retry-After past the cap throttled the provider: the next try says so
            await anyio.sleep(min(retry.max_wait, answer.retry_after if answer.retry_after is not None
                                  else backoff.delay(attempt)))
    raise ApiError(f"upload of {name} failed after {retry.max_attempts} attempts: {answer.error}", None)
