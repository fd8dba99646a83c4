"""Download every result file of a job as soon as it completes, while its URL is fresh.

A file is streamed to a partial name (``.partial/<hash of url>``) with its sha256
computed on the way, checked against the announced length, then renamed into the
content-addressed store and linked to its readable name. Only then is it recorded:
a partial file never is. An interrupted download resumes with a ``Range`` request
(on the next attempt or the next run) when the server honours it, and starts over
when it does not. A file the previous manifest recorded and the target still holds
is not fetched again.

Result URLs may be on any host: the client here carries no API key or auth header.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from renderer.results.storage import (
    FsspecTarget,
    LocalTarget,
    StorageError,
    is_fsspec_url,
    open_source,
    scheme_of,
)

CHUNK = 256 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._=+-]+")
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
        "video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov", "audio/mpeg": ".mp3"}


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One downloaded file, as the manifest records it."""

    url: str
    path: str
    sha256: str
    size: int
    media_type: str

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "path": self.path, "sha256": self.sha256, "size": self.size,
                "media_type": self.media_type}

    @classmethod
    def from_json(cls, raw: Any) -> FileRecord | None:
        if not isinstance(raw, Mapping):
            return None
        url, path, sha, size, media = (raw.get(k) for k in ("url", "path", "sha256", "size", "media_type"))
        if not (isinstance(url, str) and isinstance(path, str) and isinstance(sha, str)
                and re.fullmatch(r"[0-9a-f]{64}", sha) and isinstance(size, int) and not isinstance(size, bool)):
            return None
        return cls(url, path, sha, size, media if isinstance(media, str) else "application/octet-stream")


@dataclass(frozen=True, slots=True)
class JobFiles:
    """What the downloads of one job came to."""

    files: tuple[FileRecord, ...]
    error: str | None = None
    fetched: int = 0  # files transferred in this run (the rest were already there)
    not_urls: tuple[str, ...] = ()  # results that are storage keys, not URLs: nothing to fetch


@dataclass(frozen=True, slots=True)
class Wanted:
    """A job's result files to keep."""

    instance_id: str
    job: str
    matrix: Mapping[str, Any]
    urls: tuple[str, ...]
    previous: tuple[FileRecord, ...] = ()


class DownloadFailed(Exception):
    pass


class NotAUrl(Exception):
    """A result that names no scheme: a provider's storage key (``outputs/...``), not a URL."""


def readable_stem(job: str, matrix: Mapping[str, Any], instance_id: str) -> str:
    """``<matrix values>`` joined by ``_`` (the job's name without a matrix), safe as a file name."""
    raw = "_".join(str(v) for v in matrix.values()) if matrix else job
    safe = _SAFE.sub("-", raw).strip(".-") or "result"
    if safe != raw:  # two values could sanitise alike: keep them apart
        safe += "~" + hashlib.sha256(instance_id.encode()).hexdigest()[:8]
    return safe[:150]


def _safe_dir(job: str) -> str:
    return (_SAFE.sub("-", job).strip(".-") or "job")[:150]


def extension(media_type: str, url: str) -> str:
    if media_type in _EXT:
        return _EXT[media_type]
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


def _media_type(content_type: str | None, url: str) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind and kind != "application/octet-stream":
        return kind
    return mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"


class Downloader:
    """Fetches jobs' result files, ``concurrency`` at a time, into ``target``."""

    def __init__(self, target: LocalTarget | FsspecTarget, *, transport: httpx.AsyncBaseTransport | None = None,
                 concurrency: int = 4, attempts: int = 3, timeout: float = 60.0) -> None:
        self.target = target
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.attempts = attempts
        # no auth, no default headers: a result URL may be on another host than the API
        self.client = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True,
                                        headers={"User-Agent": "renderer-downloads", "Accept-Encoding": "identity"})
        self.results: dict[str, JobFiles] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch_job(self, want: Wanted) -> JobFiles:
        files: list[FileRecord] = []
        errors: list[str] = []
        fetched = 0
        not_urls: list[str] = []
        stem = readable_stem(want.job, want.matrix, want.instance_id)
        for n, url in enumerate(want.urls):
            name_stem = f"{_safe_dir(want.job)}/{stem}" + (f"-{n + 1}" if len(want.urls) > 1 else "")
            try:
                async with self.limiter:
                    record, new = await self._one(url, name_stem, want.previous)
            except DownloadFailed as exc:
                errors.append(f"{url}: {exc}")
                continue
            except NotAUrl:
                not_urls.append(url)
                continue
            files.append(record)
            fetched += new
        result = JobFiles(tuple(files), "; ".join(errors)[:2000] or None, fetched, tuple(not_urls))
        self.results[want.instance_id] = result
        return result

    async def _one(self, url: str, name_stem: str, previous: Sequence[FileRecord]) -> tuple[FileRecord, bool]:
        kept = await anyio.to_thread.run_sync(self._already_kept, url, name_stem, previous)
        if kept is not None:
            return kept, False
        scheme = scheme_of(url)
        if scheme is None:
            raise NotAUrl(url)
        part = self.target.staging / hashlib.sha256(url.encode()).hexdigest()[:40]
        await anyio.to_thread.run_sync(lambda: part.parent.mkdir(parents=True, exist_ok=True))
        if is_fsspec_url(url):
            sha, size, media = await anyio.to_thread.run_sync(_copy_fsspec, url, part)
        else:
            sha, size, media = await self._http(url, part)
        name = name_stem + extension(media, url)
        try:
            await anyio.to_thread.run_sync(self.target.keep, part, sha, name)
        except (OSError, StorageError) as exc:
            raise DownloadFailed(f"cannot keep the file: {exc}") from None
        return FileRecord(url, self.target.record_path(name), sha, size, media), True

    def _already_kept(self, url: str, name_stem: str, previous: Sequence[FileRecord]) -> FileRecord | None:
        for rec in previous:
            if rec.url != url:
                continue
            name = name_stem + extension(rec.media_type, url)
            if self.target.store_size(rec.sha256) == rec.size:
                if not self.target.has_name(name, rec.size):
                    return None  # the readable name is gone: fetch it anew (cheap, and verified)
                return FileRecord(url, self.target.record_path(name), rec.sha256, rec.size, rec.media_type)
        return None

    async def _http(self, url: str, part: Path) -> tuple[str, int, str]:
        last = "no attempt"
        for _ in range(self.attempts):
            try:
                return await self._http_once(url, part)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except OSError as exc:
                raise DownloadFailed(f"cannot write {part}: {exc}") from None
        raise DownloadFailed(f"gave up after {self.attempts} attempt(s): {last}")

    async def _http_once(self, url: str, part: Path) -> tuple[str, int, str]:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        async with self.client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416:
                part.unlink(missing_ok=True)
                raise httpx.TransportError("the server refused to resume (416); starting over")
            if resp.status_code >= 400:
                raise DownloadFailed(f"HTTP {resp.status_code}")
            resumed = resp.status_code == 206 and _range_start(resp.headers.get("content-range")) == have
            digest = hashlib.sha256()
            mode = "ab" if resumed else "wb"
            if resumed:
                digest = _hash_file(part)
            else:
                have = 0
            expected = _expected_total(resp, have)
            with part.open(mode) as fh:
                size = have
                async for chunk in resp.aiter_bytes():  # as received: a cut-off keeps what came
                    fh.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                fh.flush()
            if expected is not None and size != expected:
                raise httpx.TransportError(f"got {size} of {expected} bytes")
            return digest.hexdigest(), size, _media_type(resp.headers.get("content-type"), url)


def _range_start(content_range: str | None) -> int | None:
    m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (content_range or "").strip())
    return int(m.group(1)) if m else None


def _expected_total(resp: httpx.Response, have: int) -> int | None:
    if resp.headers.get("content-encoding", "identity") != "identity":
        return None  # the length is the encoded body's
    length = resp.headers.get("content-length")
    return have + int(length) if length and length.isdigit() else None


def _hash_file(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest


def _copy_fsspec(url: str, part: Path) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    size = 0
    try:
        with open_source(url) as src, part.open("wb") as dst:
            for block in iter(lambda: src.read(CHUNK), b""):
                dst.write(block)
                digest.update(block)
                size += len(block)
    except StorageError as exc:
        part.unlink(missing_ok=True)
        raise DownloadFailed(str(exc)) from None
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadFailed(f"cannot read {url}: {exc}") from None
    return digest.hexdigest(), size, _media_type(None, url)
