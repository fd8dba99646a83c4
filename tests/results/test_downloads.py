"""Downloads of result files: byte for byte over loopback, resumable, verified, never recorded half."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest
from helpers.runs import (
    CANARY,
    FAST,
    FILES_ALLOWED,
    args_for,
    counters,
    env_for,
    make_sandbox,
    write_campaign,
)
from helpers.runs import run
from helpers.file_server import FileServer, file_server

from renderer.commands import validate
from renderer.errors import ConfigError, Invalid
from renderer.results.download import Downloader, DownloadLimits, FileRecord, Wanted, readable_names
from renderer.results.netguard import Policy
from renderer.results.storage import FsspecTarget, LocalTarget
from renderer.sandbox.files import media_bytes

CAMPAIGN = """
version: 1
name: keep
outputs:
  dir: media
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    estimate: {duration: 10}
    input:
      image_urls: ["{{ needs.stills[0].result_url }}"]
      video_model: RUNWAYML
      aspect_ratio: "16:9"
"""
PNG, MP4 = media_bytes("sample.png"), media_bytes("sample.mp4")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run(path: Path, env: dict, **kw):
    env = {**FILES_ALLOWED, **env}
    out = io.StringIO()
    transports = kw.pop("transports", None)
    code = run(**args_for(path, **kw), out=out, env=env, exec_settings=FAST, transports=transports)
    return code, out.getvalue(), json.loads(path.with_name(path.stem + ".manifest.json").read_text("utf-8"))


def test_results_are_downloaded_byte_for_byte_and_a_rerun_fetches_only_what_is_missing(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN)
    with make_sandbox() as sb:
        env = env_for(sb)
        code, out, data = _run(path, env)
        assert code == 0, out
        files_seen = counters(sb)["requests"]["GET /files"]
        assert files_seen == 3
        media = tmp_path / "media"  # outputs.dir is relative to the campaign's folder
        assert (media / "stills" / "lisbon.png").read_bytes() == PNG
        assert (media / "stills" / "tokyo.png").read_bytes() == PNG
        assert (media / "teaser" / "teaser.mp4").read_bytes() == MP4
        assert (media / ".store" / _sha(PNG)).read_bytes() == PNG  # content-addressed: one copy
        entry = data["jobs"]["stills[city=lisbon]"]
        assert entry["files"] == [{"url": entry["result_url"], "path": "media/stills/lisbon.png",
                                   "sha256": _sha(PNG), "size": len(PNG), "media_type": "image/png"}]
        video = data["jobs"]["teaser"]["files"][0]
        assert (video["sha256"], video["size"], video["media_type"]) == (_sha(MP4), len(MP4), "video/mp4")
        assert data["downloads"] == {"dir": str(tmp_path / "media"), "files": 3, "fetched": 3, "failed_jobs": 0,
                                     "not_urls": 0}
        assert "outputs: 3 file(s)" in out and "(3 downloaded now)" in out

        code, out, again = _run(path, env)
        assert code == 0
        assert counters(sb)["requests"]["GET /files"] == files_seen  # nothing new downloaded
        assert again["jobs"]["teaser"]["files"] == data["jobs"]["teaser"]["files"]
        assert again["downloads"]["fetched"] == 0

        (media / "stills" / "tokyo.png").unlink()
        (media / ".store" / _sha(MP4)).unlink()
        code, out, third = _run(path, env)
        assert code == 0
        assert counters(sb)["requests"]["GET /files"] == files_seen + 2  # exactly the missing two
        assert (media / "stills" / "tokyo.png").read_bytes() == PNG
        assert third["downloads"]["fetched"] == 2
        assert counters(sb)["accepted_total"] == 3  # and nothing was submitted again


def test_a_failed_download_says_so_keeps_the_result_and_exits_1_then_a_rerun_fetches_it(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN)
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, text="CDN unavailable")

    with make_sandbox() as sb:
        code, out, data = _run(path, env_for(sb), transports={"downloads": httpx.MockTransport(refuse)},
                               outputs=str(tmp_path / "out"), junit=str(tmp_path / "junit.xml"))
        assert code == 1
        entry = data["jobs"]["stills[city=lisbon]"]
        assert entry["status"] == "completed" and entry["result_url"]
        assert entry["files"] == [] and "HTTP 503" in entry["download_error"]
        assert data["downloads"]["failed_jobs"] == 3
        assert "3 job(s) could not be downloaded" in out
        assert len(seen) == 3
        for request in seen:  # a result URL may be on another host: never the key
            assert "authorization" not in request.headers
            assert CANARY not in str(request.headers) and CANARY not in str(request.url)
        assert not list((tmp_path / "out").rglob("*.png"))

        code, out, data = _run(path, env_for(sb), outputs=str(tmp_path / "out"))
        assert code == 0, out
        assert "download_error" not in data["jobs"]["stills[city=lisbon]"]
        assert (tmp_path / "out" / "stills" / "lisbon.png").read_bytes() == PNG
        assert counters(sb)["accepted_total"] == 3  # the jobs were not paid for again


def _fetch(target, url: str, previous=(), attempts: int = 3):
    async def go():
        d = Downloader(target, policy=Policy.from_env(FILES_ALLOWED), limits=DownloadLimits(attempts=attempts))
        try:
            return await d.fetch_job(Wanted("shot[n=1]", "shot", "shot/1", (url,), tuple(previous)))
        finally:
            await d.aclose()

    return anyio.run(go)


BODY = bytes(range(256)) * 400  # 100 KiB


def test_a_download_cut_off_mid_body_resumes_with_range_and_is_verified(tmp_path):
    with file_server(FileServer(BODY, drops=1)) as srv:
        got = _fetch(LocalTarget(tmp_path / "out", tmp_path), srv.url())
    assert got.error is None
    assert got.files[0].sha256 == _sha(BODY) and got.files[0].size == len(BODY)
    assert (tmp_path / "out" / "shot" / "1.png").read_bytes() == BODY
    assert [h.get("range") for h in srv.seen] == [None, f"bytes={len(BODY) // 2}-"]
    assert not list((tmp_path / "out" / ".partial").iterdir())


def test_a_server_without_range_support_gets_the_whole_file_again(tmp_path):
    with file_server(FileServer(BODY, drops=1, ranges=False)) as srv:
        got = _fetch(LocalTarget(tmp_path / "out", tmp_path), srv.url())
    assert got.error is None and got.files[0].sha256 == _sha(BODY)
    assert (tmp_path / "out" / "shot" / "1.png").read_bytes() == BODY


def test_a_download_that_keeps_failing_is_never_recorded_and_the_next_run_resumes_it(tmp_path):
    target = LocalTarget(tmp_path / "out", tmp_path)
    with file_server(FileServer(BODY, drops=2)) as srv:
        got = _fetch(target, srv.url(), attempts=2)
        assert got.files == () and "gave up after 2 attempt(s)" in (got.error or "")
        assert not (tmp_path / "out" / "shot").exists() and not (tmp_path / "out" / ".store").exists()
        partial = list((tmp_path / "out" / ".partial").iterdir())
        assert len(partial) == 1 and 0 < partial[0].stat().st_size < len(BODY)

        size = partial[0].stat().st_size
        got = _fetch(target, srv.url())  # the next run: the server is healthy again
        assert got.error is None and got.files[0].sha256 == _sha(BODY)
        assert srv.seen[-1]["range"] == f"bytes={size}-"
        assert (tmp_path / "out" / "shot" / "1.png").read_bytes() == BODY


def test_what_the_manifest_recorded_and_the_store_holds_is_not_fetched_again(tmp_path):
    target = LocalTarget(tmp_path / "out", tmp_path)
    with file_server(FileServer(BODY)) as srv:
        first = _fetch(target, srv.url())
        again = _fetch(target, srv.url(), previous=first.files)
        assert len(srv.seen) == 1
        assert again.files == first.files and again.fetched == 0
        tampered = FileRecord(srv.url(), "x", "0" * 64, len(BODY), "image/png")
        _fetch(target, srv.url(), previous=[tampered])  # a record the store cannot back: fetched
        assert len(srv.seen) == 2


def test_an_fsspec_target_keeps_what_an_http_url_gives(tmp_path):
    with file_server(FileServer(PNG)) as srv:
        got = _fetch(FsspecTarget(f"file://{tmp_path}/remote", tmp_path / "staging"), srv.url())
    assert got.error is None
    assert got.files[0].path == f"file://{tmp_path}/remote/shot/1.png"
    assert (tmp_path / "remote" / "shot" / "1.png").read_bytes() == PNG
    assert (tmp_path / "remote" / ".store" / _sha(PNG)).read_bytes() == PNG
    assert got.files[0].media_type == "image/png"


def test_an_fsspec_target_whose_package_is_missing_is_a_clear_error_before_anything_is_sent(tmp_path):
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
        pytest.skip("s3fs is installed here")
    except ImportError:
        pass
    path = write_campaign(tmp_path, CAMPAIGN)
    with make_sandbox() as sb:
        with pytest.raises(ConfigError, match="outputs: cannot open s3://bucket/x.*install the matching fsspec"):
            run(**args_for(path, outputs="s3://bucket/x"), out=io.StringIO(), env=env_for(sb), exec_settings=FAST)
        assert counters(sb)["requests_total"] == 0


def test_readable_names_are_safe_and_distinct():
    names = readable_names([("teaser[city=lisbon,language=es]", "teaser", {"city": "lisbon", "language": "es"}),
                            ("intro", "intro", {}),
                            ("j[p=../../etc]", "j", {"p": "../../etc"}), ("j[p=..-..-etc]", "j", {"p": "..-..-etc"})])
    assert names["teaser[city=lisbon,language=es]"] == "teaser/lisbon_es"
    assert names["intro"] == "intro/intro"
    a, b = names["j[p=../../etc]"], names["j[p=..-..-etc]"]
    assert a.startswith("j/etc~") and b.startswith("j/etc~") and a != b  # they sanitise alike: both hashed


def test_the_outputs_block_is_checked_with_its_location(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN.replace("dir: media", "dir: 3"))
    with pytest.raises(Invalid) as exc:
        validate([str(path)])
    assert [(e.location.line, "string" in e.message) for e in exc.value.errors] == [(5, True)]


def test_a_storage_key_is_not_a_url_and_not_an_error(tmp_path):
    got = _fetch(LocalTarget(tmp_path / "out", tmp_path), "outputs/user/job.png")
    assert (got.files, got.error, got.not_urls) == ((), None, ("outputs/user/job.png",))


def test_downloads_run_at_most_concurrency_at_once(tmp_path):
    active, most, served = 0, 0, 0
    pair = anyio.Event()  # the first request waits for a second: under load, setup may not overlap by itself

    async def slow_cdn(request: httpx.Request) -> httpx.Response:
        nonlocal active, most, served
        active += 1
        most = max(most, active)
        if active == 2:
            pair.set()
        with anyio.fail_after(30):
            await pair.wait()
        for _ in range(20):  # checkpoints, not time: every other task gets to run meanwhile
            await anyio.lowlevel.checkpoint()
        active -= 1
        served += 1
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    async def go():
        d = Downloader(LocalTarget(tmp_path / "out", tmp_path), transport=httpx.MockTransport(slow_cdn), concurrency=2)
        try:
            async with anyio.create_task_group() as tg:
                for n in range(8):
                    tg.start_soon(d.fetch_job, Wanted(f"s[n={n}]", "s", f"s/{n}", (f"https://cdn.example/{n}.png",)))
        finally:
            await d.aclose()
        return d.results

    results = anyio.run(go)
    assert served == 8 and most == 2
    assert sorted(p.name for p in (tmp_path / "out" / "s").iterdir()) == [f"{n}.png" for n in range(8)]
    assert all(r.files[0].sha256 == _sha(PNG) for r in results.values())


@pytest.mark.parametrize("where, why", [
    ("../elsewhere", "outputs.dir '../elsewhere' is outside the campaign's folder"),
    ("/tmp/x", "outputs.dir '/tmp/x' is absolute"),
    ("file:///tmp/x", "outputs.dir 'file:///tmp/x' is a local URL"),
])
def test_a_campaign_writes_its_outputs_below_its_own_folder(tmp_path, where, why):
    path = write_campaign(tmp_path, CAMPAIGN.replace("dir: media", f'dir: "{where}"'))
    err = io.StringIO()
    from renderer.cli import main

    assert main(["run", "--sandbox", str(path), "--state-dir", str(tmp_path / ".r")], io.StringIO(), err, {}) == 1
    assert err.getvalue().startswith(f"{path}:5:8: {why}")
    assert not (tmp_path / ".r").exists() or not list((tmp_path / ".r").rglob("*.sqlite*"))
