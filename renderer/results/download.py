"""Download every result file of a job as soon as it completes, while its URL is fresh.

A file is streamed to a partial name (``.partial/<hash of url>``) with its sha256
computed on the way, checked against the announced length, then renamed into the
content-addressed store and linked to its readable name. Only then is it recorded:
a partial file never is. An interrupted download resumes with a ``Range`` request
(on the next attempt or the next run) when the server honours it, and starts over
when it does not. A file the previous manifest recorded and the target still holds
is not fetched again.

A result URL is data from an API: it is fetched only over http(s), from hosts that
are not internal (``renderer.results.netguard``: checked on the URL, on every
redirect, which is followed here, and on the address actually connected), within a
size (``DownloadLimits.max_bytes``) and a time per file (``max_seconds``). A refused
or cut-off file is a ``download_error`` that says why. The client carries no API key.

Readable names (``readable_names``) are the matrix values; where two instances'
names would collide (sanitised alike, cut at the same length, equal but for case, or
one looking like another's ``-N``), each of those gets a short hash of its instance id.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from renderer.campaign.durations import format_duration, parse_duration
from renderer.errors import ConfigError
from renderer.results.netguard import GuardedBackend, GuardedTransport, Policy, Refused, Resolver, system_resolver
from renderer.results.storage import FsspecTarget, LocalTarget, StorageError, scheme_of

CHUNK = 256 * 1024
MAX_STEM = 150
MAX_BYTES_ENV = "RENDERER_DOWNLOAD_MAX_BYTES"
TIMEOUT_ENV = "RENDERER_DOWNLOAD_TIMEOUT"
_SAFE = re.compile(r"[^A-Za-z0-9._=+-]+")
_INDEXED = re.compile(r"(.*)-\d+")
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
        "video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov", "audio/mpeg": ".mp3"}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)", re.I)
_UNIT = {"": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
         "g": 1024**3, "gib": 1024**3, "gb": 1000**3}


@dataclass(frozen=True, slots=True)
class DownloadLimits:
    """Bounds of one result file: its size, and the time it may take (all attempts and redirects)."""

    max_bytes: int = 256 * 1024 * 1024
    max_seconds: float = 600.0
    max_redirects: int = 5
    attempts: int = 3
    connect_timeout: float = 60.0  # also the longest silence between two reads

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DownloadLimits:
        """``RENDERER_DOWNLOAD_MAX_BYTES`` (``512MiB``, ``2GB``, bytes) and ``RENDERER_DOWNLOAD_TIMEOUT`` (``20m``)."""
        limits = cls()
        raw = env.get(MAX_BYTES_ENV, "").strip()
        if raw:
            m = _SIZE.fullmatch(raw)
            size = int(float(m.group(1)) * _UNIT[m.group(2).lower()]) if m else 0
            if size < 1:
                raise ConfigError(f"{MAX_BYTES_ENV}: {raw!r} is not a size; write it like 512MiB, 2GB or 1000000")
            limits = replace(limits, max_bytes=size)
        raw = env.get(TIMEOUT_ENV, "").strip()
        if raw:
            try:
                limits = replace(limits, max_seconds=parse_duration(raw))
            except ValueError as exc:
                raise ConfigError(f"{TIMEOUT_ENV}: {exc}") from None
        return limits


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
    """A job's result files to keep, under ``<job>/<name>`` (``readable_names``)."""

    instance_id: str
    job: str
    name: str
    urls: tuple[str, ...]
    previous: tuple[FileRecord, ...] = field(default=())


class DownloadFailed(Exception):
    """This file cannot be kept now; the text says why (a re-run may try again)."""


class NotAUrl(Exception):
    """A result that names no scheme: a provider's storage key (``outputs/...``), not a URL."""


def _short_hash(instance_id: str) -> str:
    return hashlib.sha256(instance_id.encode("utf-8")).hexdigest()[:8]


def plain_stem(job: str, matrix: Mapping[str, Any]) -> str:
    """``<matrix values>`` joined by ``_`` (the job's name without a matrix), safe as a file name, cut."""
    raw = "_".join(str(v) for v in matrix.values()) if matrix else job
    return (_SAFE.sub("-", raw).strip(".-") or "result")[:MAX_STEM]


def readable_names(instances: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, str]:
    """``{instance id: "<job>/<stem>"}`` for ``(id, job, matrix)``s: the plain stem where it is the
    instance's alone, else the stem with ``~<hash of the id>``.

    Stems collide when they sanitise alike, share their first ``MAX_STEM`` characters,
    differ only in case (case-insensitive file systems), or when one is another's
    ``<stem>-N`` (the name of that job's Nth file when it has several). Plain stems hold
    no ``~``, so a hashed stem never meets a plain one. The decision depends on the set of
    instances only, not on the order downloads finish, so names are stable between runs.
    """
    plain: dict[str, tuple[str, str]] = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for iid, job, matrix in instances:
        folder, stem = _safe_dir(job), plain_stem(job, matrix)
        plain[iid] = (folder, stem)
        groups.setdefault((folder, stem.casefold()), []).append(iid)
    names: dict[str, str] = {}
    for iid, (folder, stem) in plain.items():
        indexed = _INDEXED.fullmatch(stem)
        shared = len(groups[(folder, stem.casefold())]) > 1 or (
            indexed is not None and (folder, indexed.group(1).casefold()) in groups)
        if shared:
            stem = f"{stem[:MAX_STEM - 9]}~{_short_hash(iid)}"
        names[iid] = f"{folder}/{stem}"
    return names


def _safe_dir(job: str) -> str:
    return (_SAFE.sub("-", job).strip(".-") or "job")[:MAX_STEM]


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
    """Fetches jobs' result files, ``concurrency`` at a time, into ``target``, as ``policy`` allows."""

    def __init__(self, target: LocalTarget | FsspecTarget, *, policy: Policy | None = None,
                 limits: DownloadLimits | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 resolve: Resolver = system_resolver, concurrency: int = 4) -> None:
        self.target = target
        self.limits = limits = limits or DownloadLimits()
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.backend = GuardedBackend(policy or Policy(), resolve)
        # no auth, no default headers: a result URL may be on another host than the API;
        # redirects are followed here, each hop checked (``_open``)
        self.client = httpx.AsyncClient(transport=transport or GuardedTransport(self.backend), trust_env=False,
                                        timeout=limits.connect_timeout, follow_redirects=False,
                                        headers={"User-Agent": "renderer-downloads", "Accept-Encoding": "identity"})
        self.results: dict[str, JobFiles] = {}
        self.stopped = "the run stopped"  # why downloads were cut short, when they are

    @property
    def policy(self) -> Policy:
        return self.backend.policy

    def allow(self, urls: Iterable[str]) -> None:
        """Also fetch from the origins of ``urls`` (the sandbox's own, under ``--sandbox``)."""
        self.backend.policy = self.backend.policy.with_origins(urls)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch_job(self, want: Wanted) -> JobFiles:
        files: list[FileRecord] = []
        errors: list[str] = []
        fetched = 0
        not_urls: list[str] = []
        try:
            for n, url in enumerate(want.urls):
                name_stem = want.name + (f"-{n + 1}" if len(want.urls) > 1 else "")
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
        except anyio.get_cancelled_exc_class():
            # the run is ending (deadline, Ctrl-C): what is kept is recorded, the rest is said
            errors.append(f"download stopped ({self.stopped}); a re-run fetches it")
            self._record(want, files, errors, fetched, not_urls)
            raise
        return self._record(want, files, errors, fetched, not_urls)

    def _record(self, want: Wanted, files: list[FileRecord], errors: list[str], fetched: int,
                not_urls: list[str]) -> JobFiles:
        result = JobFiles(tuple(files), "; ".join(errors)[:2000] or None, fetched, tuple(not_urls))
        self.results[want.instance_id] = result
        return result

    async def _one(self, url: str, name_stem: str, previous: Sequence[FileRecord]) -> tuple[FileRecord, bool]:
        kept = await anyio.to_thread.run_sync(self._already_kept, url, name_stem, previous)
        if kept is not None:
            return kept, False
        if scheme_of(url) is None:
            raise NotAUrl(url)
        why = self.policy.url_refusal(url)
        if why:
            raise DownloadFailed(f"refused: {why}")
        part = self.target.staging / hashlib.sha256(url.encode()).hexdigest()[:40]
        await anyio.to_thread.run_sync(lambda: part.parent.mkdir(parents=True, exist_ok=True))
        try:
            with anyio.fail_after(self.limits.max_seconds):
                sha, size, media = await self._http(url, part)
        except TimeoutError:
            raise DownloadFailed(f"not complete within {format_duration(self.limits.max_seconds)} ({TIMEOUT_ENV}); "
                                 "a re-run resumes it") from None
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
        for _ in range(self.limits.attempts):
            try:
                return await self._http_once(url, part)
            except Refused as exc:
                raise DownloadFailed(f"refused: {exc}") from None
            except (httpx.TransportError, httpx.DecodingError) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except OSError as exc:
                raise DownloadFailed(f"cannot write {part}: {exc}") from None
        raise DownloadFailed(f"gave up after {self.limits.attempts} attempt(s): {last}")

    async def _http_once(self, url: str, part: Path) -> tuple[str, int, str]:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        current = url
        for _hop in range(self.limits.max_redirects + 1):
            async with self.client.stream("GET", current, headers=headers) as resp:
                if not resp.is_redirect:
                    return await self._receive(resp, url, part, have)
                location = resp.headers.get("location", "")
                current = str(resp.url.join(location))
            why = self.policy.url_refusal(current)
            if why:
                raise DownloadFailed(f"refused: redirected to {current}: {why}")
        raise DownloadFailed(f"more than {self.limits.max_redirects} redirects")

    async def _receive(self, resp: httpx.Response, url: str, part: Path, have: int) -> tuple[str, int, str]:
        """The body of a final answer into ``part`` (appended when it resumes ``have`` bytes)."""
        if resp.status_code == 416:
            part.unlink(missing_ok=True)
            raise httpx.TransportError("the server refused to resume (416); starting over")
        if resp.status_code >= 400:
            raise DownloadFailed(f"HTTP {resp.status_code}")
        resumed = resp.status_code == 206 and _range_start(resp.headers.get("content-range")) == have
        digest = _hash_file(part) if resumed else hashlib.sha256()
        have = have if resumed else 0
        expected = _expected_total(resp, have)
        cap = self.limits.max_bytes
        if expected is not None and expected > cap:
            part.unlink(missing_ok=True)
            raise DownloadFailed(f"the file is {expected:,} bytes, more than the {cap:,} allowed ({MAX_BYTES_ENV})")
        with part.open("ab" if resumed else "wb") as fh:
            size = have
            async for chunk in resp.aiter_bytes():  # as received: a cut-off keeps what came
                size += len(chunk)
                if size > cap:
                    fh.close()
                    part.unlink(missing_ok=True)
                    raise DownloadFailed(f"the file is larger than the {cap:,} bytes allowed ({MAX_BYTES_ENV}); "
                                         "stopped there")
                fh.write(chunk)
                digest.update(chunk)
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
