"""What `renderer run` does with results beyond the manifest: downloads, JUnit, summary links.

``RunDownloads`` is fed by the scheduler (``on_done``) the moment a job finishes and
fetches its files in its own task group, so dependants do not wait for downloads.
``attach`` then writes what came of them into the manifest's entries:

- ``files``: ``[{url, path, sha256, size, media_type}]`` (``path`` relative to the
  manifest's folder, or the fsspec URL),
- ``download_error``: why some file of a completed job could not be kept.

A download failure never changes a job's status (it stays ``completed`` and is never
submitted again); the run exits 1 so CI notices, and a re-run fetches what is missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx

from renderer.errors import ConfigError, DataFileError
from renderer.manifest import Manifest
from renderer.results.download import Downloader, DownloadLimits, FileRecord, JobFiles, Wanted, readable_names
from renderer.results.netguard import Policy
from renderer.results.storage import StorageError, is_fsspec_url, target_for
from renderer.campaign.files import confined_path
from renderer.vocabulary import JobStatus

DOWNLOADS_TRANSPORT = "downloads"  # key in the run's injected transports


def outputs_dir(flag: str | None, campaign: Any) -> str | None:
    """``--outputs DIR`` (relative to the current folder), else the campaign's ``outputs.dir``."""
    if flag:
        return flag
    data = campaign.doc.data if isinstance(campaign.doc.data, Mapping) else {}
    block = data.get("outputs")
    where = block.get("dir") if isinstance(block, Mapping) else None
    if not isinstance(where, str) or not where:
        return None
    loc = campaign.loc("outputs", "dir")
    if is_fsspec_url(where):
        if where.lower().startswith(("file:", "local:")):  # a campaign writes below its own folder only
            raise DataFileError(f"outputs.dir {where!r} is a local URL; name a folder relative to the campaign "
                                "(or pass --outputs)", loc)
        return where
    return str(confined_path(Path(campaign.folder), where, "outputs.dir", loc))


class RunDownloads:
    def __init__(self, downloader: Downloader, previous: Manifest | None, where: str,
                 names: Mapping[str, str] | None = None) -> None:
        self.downloader = downloader
        self.previous = previous
        self.where = where
        self.names = dict(names or {})  # instance id -> "<job>/<stem>" (readable_names)
        self._tg: anyio.abc.TaskGroup | None = None
        self._moved: dict[str, str] = {}  # origin of a sandbox that stopped -> the one serving its files now
        self.wanted: dict[str, tuple[str, ...]] = {}  # instance id -> the URLs fetched
        self._scopes: set[anyio.CancelScope] = set()  # one per download in progress: ``abort`` cancels them
        self._stopped = False

    def reroute(self, old_origins: Iterable[str], origin: str) -> None:
        """`run --sandbox`: the files an earlier sandbox of the same state handed out (on a
        port long closed) are fetched from the one running now, which serves them again."""
        self._moved.update({o.rstrip("/"): origin.rstrip("/") for o in old_origins})

    def _route(self, url: str) -> str:
        if not self._moved:
            return url
        origin = _origin(url)
        new = self._moved.get(origin) if origin is not None else None
        return new + url[len(origin):] if new is not None and origin is not None else url

    @classmethod
    def create(cls, where: str, manifest_path: Path, state_dir: str, previous: Manifest | None,
               transport: httpx.AsyncBaseTransport | None, env: Mapping[str, str], instances: Sequence[Any] = (),
               concurrency: int = 4) -> RunDownloads:
        """Downloads into ``where``, within the limits and allowances ``env`` sets, named for ``instances``."""
        try:
            target = target_for(where, manifest_path.resolve().parent, Path(state_dir) / "downloads")
        except StorageError as exc:
            raise ConfigError(f"outputs: {exc}") from None
        downloader = Downloader(target, policy=Policy.from_env(env), limits=DownloadLimits.from_env(env),
                                transport=transport, concurrency=concurrency)
        names = readable_names((i.id, i.job, i.matrix or {}) for i in instances)
        return cls(downloader, previous, where, names)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunDownloads]:
        """Downloads started inside finish before this exits (or stop on ``abort``)."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                yield self
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                await self.downloader.aclose()

    def abort(self, reason: str = "the run stopped") -> None:
        """Stop every download now, and any started later (the run's deadline, Ctrl-C); what is
        partial is resumed by a re-run. Only the downloads: the body of ``running`` goes on."""
        self.downloader.stopped = reason
        self._stopped = True
        for scope in list(self._scopes):
            scope.cancel()

    def allow(self, urls: Any) -> None:
        """``--sandbox``: its own result files may be fetched (its origin, nothing else on this machine)."""
        self.downloader.allow(urls)

    async def _fetch(self, want: Wanted) -> None:
        with anyio.CancelScope() as scope:
            if self._stopped:
                scope.cancel()
            self._scopes.add(scope)
            try:
                await self.downloader.fetch_job(want)
            finally:
                self._scopes.discard(scope)

    def on_done(self, st: Any) -> None:
        """A job settled: fetch its result files if it completed with any."""
        out = st.outputs
        if st.status != JobStatus.COMPLETED or out is None or self._tg is None:
            return
        urls = tuple(dict.fromkeys(self._route(u) for u in out.result_urls or ((out.result_url,) if out.result_url else ())))
        if not urls:
            return
        self.wanted[st.inst.id] = urls
        records = _previous_entry(self.previous, st.inst.id).get("files")
        previous = tuple(replace(r, url=self._route(r.url))
                         for r in (FileRecord.from_json(x) for x in records or ()) if r is not None)
        name = self.names.get(st.inst.id) or readable_names([(st.inst.id, st.inst.job, st.inst.matrix or {})])[st.inst.id]
        want = Wanted(st.inst.id, st.inst.job, name, urls, previous)
        self._tg.start_soon(self._fetch, want)

    @property
    def results(self) -> Mapping[str, JobFiles]:
        return self.downloader.results

    def stopped_sandboxes(self) -> list[str]:
        """Origins on this machine that files could not be fetched from: a sandbox that stopped."""
        from renderer.targets import is_loopback_url

        gone = {_origin(u) for iid, r in self.results.items() if r.error
                for u in self.wanted.get(iid, ()) if is_loopback_url(u) and u in r.error}
        return sorted(o for o in gone if o is not None)


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, as written in it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _previous_entry(previous: Manifest | None, iid: str) -> Mapping[str, Any]:
    """An entry of the previous manifest as its file holds it (``files`` included), or {}."""
    entry = previous.get(iid) if previous is not None else None
    return entry.to_json() if entry is not None else {}


def attach(data: dict[str, Any], downloads: RunDownloads | None, previous: Manifest | None) -> dict[str, Any]:
    """Write files and download errors into the manifest's JSON ``data`` (in place; returned)."""
    results = downloads.results if downloads is not None else {}
    for iid, entry in data["jobs"].items():
        got = results.get(iid)
        if got is not None:
            entry["files"] = [f.as_json() for f in got.files]
            if got.error:
                entry["download_error"] = got.error
            else:
                entry.pop("download_error", None)
            if got.not_urls:
                entry["not_downloaded"] = list(got.not_urls)
        elif "files" not in entry and entry.get("status") == JobStatus.COMPLETED:
            prev = _previous_entry(previous, iid)  # a run without --outputs keeps what an earlier one downloaded
            if prev.get("result_urls") == entry.get("result_urls") and prev.get("files"):
                entry["files"] = prev["files"]
                if prev.get("download_error"):
                    entry["download_error"] = prev["download_error"]
    if downloads is not None:
        data["downloads"] = {
            "dir": downloads.where,
            "files": sum(len(e.get("files") or ()) for e in data["jobs"].values()),
            "fetched": sum(r.fetched for r in results.values()),
            "failed_jobs": download_failures(data),
            "not_urls": sum(len(e.get("not_downloaded") or ()) for e in data["jobs"].values()),
        }
    return data


def download_failures(data: Mapping[str, Any]) -> int:
    return sum(1 for e in data["jobs"].values() if e.get("download_error"))


def report_lines(out: TextIO, data: Mapping[str, Any], downloads: RunDownloads | None = None,
                 campaign: str = "FILE", sandbox: bool = False) -> None:
    d = data.get("downloads")
    if not isinstance(d, Mapping):
        return
    line = f"outputs: {d['files']:,} file(s) in {d['dir']} ({d['fetched']:,} downloaded now)"
    if d.get("not_urls"):
        line += f"; {d['not_urls']:,} result(s) are storage keys, not URLs, and were not downloaded"
    if d["failed_jobs"]:
        line += f"; {d['failed_jobs']:,} job(s) could not be downloaded (see download_error; a re-run fetches them)"
    out.write(line + "\n")
    gone = downloads.stopped_sandboxes() if downloads is not None else []
    if gone:
        where = ", ".join(gone)
        how = (f"run `renderer run --sandbox {campaign} --outputs {d['dir']}` with the --state-dir of the run that "
               "made them: its stand-in serves them again" if sandbox else
               "start it again where it was, with the state it kept (`renderer sandbox --port PORT --state DIR`), "
               "and run again")
        out.write(f"outputs: the sandbox that made them ({where}) is gone and this run has not its state; {how}; "
                  "or run the jobs again to make new ones\n")


MAX_SUMMARY_LINKS = 50


def summary_markdown(plan: Any, data: Mapping[str, Any]) -> str:
    """The run's step summary after the counts: the DAG, then links to the results."""
    from renderer.plan.views import md_code, plan_mermaid

    lines = ["", "**Jobs**", "", plan_mermaid(plan)]
    done = [(iid, e) for iid, e in data["jobs"].items() if e.get("status") == JobStatus.COMPLETED]
    if done:
        lines += ["**Results**", ""]
        for iid, e in done[:MAX_SUMMARY_LINKS]:
            files = [f.get("path") for f in e.get("files") or () if isinstance(f, Mapping)]
            shown = [md_code(str(p)) for p in files] or [_md_link(u) for u in e.get("result_urls") or ()]
            lines.append(f"- {md_code(iid)}: " + (", ".join(shown) or "no result file"))
        if len(done) > MAX_SUMMARY_LINKS:
            lines.append(f"- … and {len(done) - MAX_SUMMARY_LINKS:,} more in the manifest")
    return "\n".join(lines) + "\n"


def _md_link(url: str) -> str:
    """A link to an http(s) result URL; anything else shown as code, never as a link."""
    from urllib.parse import quote

    from renderer.plan.views import md_code

    if url.startswith(("https://", "http://")):
        safe = quote(url, safe=":/?&=%#@+,;~!$'*-._")
        return f"[result](<{safe.replace('>', '%3E')}>)"
    return md_code(url)


@contextlib.asynccontextmanager
async def downloading(downloads: RunDownloads | None) -> AsyncIterator[None]:
    """Around the scheduler's run: downloads it starts are finished (or aborted) on the way out."""
    if downloads is None:
        yield
        return
    async with downloads.running():
        yield


def write_junit(path: str, data: Mapping[str, Any], wall_seconds: float | None = None) -> None:
    from renderer.results.junit import write_junit as write

    try:
        write(path, data, wall_seconds)
    except OSError as exc:
        raise ConfigError(f"cannot write JUnit XML to {path}: {exc.strerror or exc}") from None
