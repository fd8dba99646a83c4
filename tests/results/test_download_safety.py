"""Issue 21: a result URL is data. Downloads fetch http(s) only, never this machine or its network,
within a size and a time, and readable names never collide.

Every test runs over loopback: `run --sandbox` with the sandbox's hostile result modes, and a
small "internal service" on another loopback port that counts what reaches it (it must be 0).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from helpers.runs import CANARY, FAST, FAST_JSON, FILES_ALLOWED, RENDER, args_for, counters, env_for, make_sandbox, write_campaign
from helpers.runs import run
from helpers.hostile import images
from helpers.file_server import FileServer, file_server

from renderer.cli import main
from renderer.errors import ConfigError
from renderer.results.download import DownloadLimits, Downloader, Wanted, readable_names
from renderer.results.netguard import ALLOW_ENV, Policy, internal
from renderer.results.storage import LocalTarget
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.faults import FaultSettings
from renderer.sandbox.files import media_bytes

PNG = media_bytes("sample.png")
ADMIN = b"INTERNAL-ADMIN-PAGE: db_password=hunter2"
IMAGES = images(2)
ENHANCE = """
version: 1
name: safe-ec
jobs:
  up:
    endpoint: enhancecraft/jobs
    matrix:
      n: [a]
    input:
      input_key: "uploads/mine/{{ matrix.n }}.png"
      operations: [{type: enhance, params: {scale: 2}}]
"""


def _sandboxed(tmp_path: Path, text: str, faults: dict, env: dict | None = None, **kw) -> tuple[int, str, dict]:
    """`run --sandbox --outputs DIR` with the sandbox's faults; (exit code, output, manifest)."""
    path = write_campaign(tmp_path, text)
    config = SandboxConfig(render_seconds=RENDER, credits=10**7, faults=FaultSettings(**faults))
    out = io.StringIO()
    code = run(**args_for(path, outputs=str(tmp_path / "DIR"), **kw), out=out, env=env or {}, sandbox=True,
               sandbox_config=config, exec_settings=FAST)
    return code, out.getvalue(), json.loads(path.with_name(path.stem + ".sandbox.manifest.json").read_text("utf-8"))


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def internal_service():
    """Another service on this machine (an admin page, a metadata endpoint): it must never be reached."""
    with file_server(FileServer(ADMIN, content_type="image/png")) as srv:
        yield srv


# -- schemes: an API's URL never reads this machine's files ---------------------------


@pytest.mark.parametrize("url", ["file:///proc/self/environ", "file:///etc/passwd", "file://localhost/etc/hostname",
                                 "memory://x/y.png", "s3://runner-bucket/secrets.png"])
def test_a_result_url_that_is_not_http_is_refused_and_nothing_is_read(tmp_path, url):
    faults = {"rates": {"result_url": 1.0}, "scope": "reads", "result_url": url}
    code, out, data = _sandboxed(tmp_path, ENHANCE, faults)
    entry = data["jobs"]["up[n=a]"]
    assert code == 1, out
    assert entry["status"] == "completed" and entry["files"] == []  # the job stands: it is never paid again
    scheme = url.split(":", 1)[0]
    assert entry["download_error"] == f"{url}: refused: only http(s) result URLs are fetched, not {scheme}://"
    assert _stored(tmp_path / "DIR") == []
    assert "1 job(s) could not be downloaded" in out


def test_the_keys_in_this_process_environment_never_reach_the_outputs_folder(tmp_path):
    """The row as reported: the CLI, both keys in its real environment, `output_url: file:///proc/self/environ`."""
    path = write_campaign(tmp_path, ENHANCE)
    with make_sandbox(faults={"rates": {"result_url": 1.0}, "scope": "reads",
                              "result_url": "file:///proc/self/environ"}) as sb:
        env = {**os.environ, **env_for(sb), "RENDERER_EXEC_SETTINGS": FAST_JSON}
        proc = subprocess.run([sys.executable, "-m", "renderer.cli", "run", str(path), "--outputs", str(tmp_path / "DIR"),
                               "--state-dir", str(tmp_path / ".r")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _stored(tmp_path / "DIR") == []
    pieces = {CANARY[i:i + 8] for i in range(len(CANARY) - 7)}
    for file in _stored(tmp_path):
        text = file.read_bytes().decode("utf-8", "replace")
        assert not [p for p in pieces if p in text], file
    assert "refused: only http(s) result URLs are fetched, not file://" in path.with_name("camp.manifest.json").read_text()


# -- addresses: never this machine or its network -----------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1"])
def test_a_result_url_on_this_machine_is_refused_and_never_reached(tmp_path, internal_service, host):
    url = internal_service.url("admin.png", host=host)
    faults = {"rates": {"result_url": 1.0}, "scope": "reads", "result_url": url}
    code, out, data = _sandboxed(tmp_path, IMAGES, faults)
    assert code == 1
    assert internal_service.seen == []  # not one request reached it
    for entry in data["jobs"].values():
        assert entry["files"] == [] and "refused: " in entry["download_error"]
        assert "loopback" in entry["download_error"] or "is this machine" in entry["download_error"]
    assert _stored(tmp_path / "DIR") == []


def test_a_redirect_to_an_internal_service_is_refused_at_the_hop(tmp_path, internal_service):
    """The sandbox's own file (allowed under --sandbox) answers 302 to another service on this machine."""
    faults = {"rates": {"redirect_file": 1.0}, "redirect_to": internal_service.url("admin")}
    code, out, data = _sandboxed(tmp_path, IMAGES, faults)
    assert code == 1
    assert internal_service.seen == []
    entry = data["jobs"]["still[n=1]"]
    assert f"refused: redirected to {internal_service.url('admin')}: 127.0.0.1 is a loopback address" \
        in entry["download_error"]
    assert _stored(tmp_path / "DIR") == []
    page = tmp_path / "report.html"  # nothing internal can be embedded: nothing internal was kept
    assert main(["report", "--sandbox", str(tmp_path / "camp.yaml"), "--output", str(page), "--state-dir",
                 str(tmp_path / ".renderer")], io.StringIO(), io.StringIO(), {}) == 0
    assert b"INTERNAL-ADMIN" not in page.read_bytes()


def test_only_the_sandbox_origin_is_allowed_and_only_under_sandbox(tmp_path):
    """The same loopback result URLs: fetched under --sandbox, refused from a sandbox served on its own."""
    (tmp_path / "a").mkdir()
    code, out, data = _sandboxed(tmp_path / "a", IMAGES, {})
    assert code == 0, out
    assert [f["sha256"] for f in data["jobs"]["still[n=1]"]["files"]] == [hashlib.sha256(PNG).hexdigest()]

    (tmp_path / "b").mkdir()
    path = write_campaign(tmp_path / "b", IMAGES)
    with make_sandbox() as sb:
        out = io.StringIO()
        code = run(**args_for(path, outputs=str(tmp_path / "b" / "DIR")), out=out, env=env_for(sb), exec_settings=FAST)
        assert counters(sb)["requests"].get("GET /files", 0) == 0
    data = json.loads(path.with_name("camp.manifest.json").read_text())
    assert code == 1
    assert "127.0.0.1 is a loopback address" in data["jobs"]["still[n=1]"]["download_error"]


def test_a_team_allows_its_internal_host_in_the_environment(tmp_path):
    path = write_campaign(tmp_path, IMAGES)
    with make_sandbox() as sb:
        env = {**env_for(sb), ALLOW_ENV: " media.corp.example , 127.0.0.0/8 "}
        code = run(**args_for(path, outputs=str(tmp_path / "DIR")), out=io.StringIO(), env=env, exec_settings=FAST)
        assert counters(sb)["requests"]["GET /files"] == 2
    assert code == 0
    assert (tmp_path / "DIR" / "still" / "1.png").read_bytes() == PNG


@pytest.mark.parametrize("value", ["http://x", "10.0.0.0/33", "a b", "*.corp.example"])
def test_a_bad_allow_entry_is_a_clear_error_before_anything_is_sent(tmp_path, value):
    path = write_campaign(tmp_path, IMAGES)
    with make_sandbox() as sb:
        with pytest.raises(ConfigError, match=f"{ALLOW_ENV}: .* is neither a host name nor an address or network"):
            run(**args_for(path, outputs=str(tmp_path / "DIR")), out=io.StringIO(), env={**env_for(sb), ALLOW_ENV: value},
                exec_settings=FAST)
        assert counters(sb)["requests_total"] == 0


@pytest.mark.parametrize("address, why", [
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"), ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"), ("192.168.1.1", "a private address"), ("fd00::1", "a private address"),
    ("169.254.169.254", "a link-local address"), ("fe80::1", "a link-local address"),
    ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"), ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"), ("100.64.0.1", "not a public address"), ("240.0.0.1", "a private address"),
    ("::ffff:127.0.0.1", "a loopback address (127.0.0.1 inside an IPv6 address)"),
    ("::ffff:169.254.169.254", "a link-local address (169.254.169.254 inside an IPv6 address)"),
    ("64:ff9b::a00:1", "a private address (10.0.0.1 inside an IPv6 address)"),
    ("2002:c0a8:101::1", "a private address (192.168.1.1 inside an IPv6 address)"),
    ("fec0::1", "a site-local address"),
    ("8.8.8.8", None), ("2606:4700::1111", None), ("::ffff:8.8.8.8", None),
])
def test_what_counts_as_internal(address, why):
    import ipaddress

    assert internal(ipaddress.ip_address(address)) == why


# -- the connected address is the checked one: DNS rebinding does not pass ------------------


def test_dns_rebinding_cannot_reach_the_internal_service(tmp_path, internal_service):
    """A name that resolves to a trusted address, then to 127.0.0.1: each connection resolves once and
    connects to what it checked, so the answers that point inside are refused, never connected to."""
    port = internal_service.port  # the attack keeps the port and swaps the address
    with file_server(FileServer(PNG, host="127.0.0.2"), port=port) as trusted:
        answers = iter(["127.0.0.2", "127.0.0.1"] * 3)
        asked: list[str] = []

        async def rebinding(host: str, port: int) -> list[str]:
            asked.append(host)
            return [next(answers)]

        async def go():
            d = Downloader(LocalTarget(tmp_path / "out", tmp_path), policy=Policy.from_env({ALLOW_ENV: "127.0.0.2"}),
                           resolve=rebinding, concurrency=1)
            try:
                for n in range(6):  # a new host name each: a new connection, a new resolution
                    await d.fetch_job(Wanted(f"s[n={n}]", "s", f"s/{n}", (f"http://rebind{n}.test:{port}/files/{n}.png",)))
            finally:
                await d.aclose()
            return d.results

        results = anyio.run(go)
    assert internal_service.seen == []
    assert len(trusted.seen) == 3 and asked == [f"rebind{n}.test" for n in range(6)]  # one resolution each
    for n in range(6):
        got = results[f"s[n={n}]"]
        if n % 2 == 0:
            assert got.error is None and got.files[0].sha256 == hashlib.sha256(PNG).hexdigest()
        else:
            assert got.files == () and got.error.endswith(
                f"refused: rebind{n}.test resolves to 127.0.0.1, a loopback address")


def test_a_name_with_any_internal_address_is_refused(tmp_path, internal_service):
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    async def go():
        d = Downloader(LocalTarget(tmp_path / "out", tmp_path), resolve=mixed)
        try:
            return await d.fetch_job(Wanted("s", "s", "s/s", (f"http://both.test:{internal_service.port}/a.png",)))
        finally:
            await d.aclose()

    got = anyio.run(go)
    assert got.error.endswith("refused: both.test resolves to 127.0.0.1, a loopback address")
    assert internal_service.seen == []


# -- size and time ----------------------------------------------------------------------


def test_a_400_mib_result_is_refused_at_the_cap_and_nothing_is_kept(tmp_path):
    """Streamed from a generator by the sandbox, without a length: stopped at the default 256 MiB cap."""
    faults = {"rates": {"huge_file": 1.0}, "huge_bytes": 400 * 1024 * 1024}
    code, _out, data = _sandboxed(tmp_path, images(1), faults)
    assert code == 1
    assert data["jobs"]["still[n=1]"]["download_error"].endswith(
        "the file is larger than the 268,435,456 bytes allowed (RENDERER_DOWNLOAD_MAX_BYTES); stopped there")
    assert _stored(tmp_path / "DIR") == []  # the partial file is gone too


def test_an_announced_length_past_the_cap_is_refused_before_reading(tmp_path):
    read = 0

    async def body():
        nonlocal read
        for _ in range(1000):
            read += 1
            yield b"\0" * 65536

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-length": str(400 * 1024 * 1024),
                                                            "content-type": "video/mp4"})

    async def go():
        d = Downloader(LocalTarget(tmp_path / "out", tmp_path), transport=httpx.MockTransport(huge),
                       limits=DownloadLimits.from_env({"RENDERER_DOWNLOAD_MAX_BYTES": "100MiB"}))
        try:
            return await d.fetch_job(Wanted("v", "v", "v/v", ("https://cdn.example/v.mp4",)))
        finally:
            await d.aclose()

    got = anyio.run(go)
    assert got.error == ("https://cdn.example/v.mp4: the file is 419,430,400 bytes, more than the 104,857,600 "
                         "allowed (RENDERER_DOWNLOAD_MAX_BYTES)")
    assert read <= 1


@pytest.mark.parametrize("env, expected", [
    ({}, DownloadLimits(256 * 1024 * 1024, 600.0)),
    ({"RENDERER_DOWNLOAD_MAX_BYTES": "1GiB", "RENDERER_DOWNLOAD_TIMEOUT": "20m"}, DownloadLimits(1024**3, 1200.0)),
    ({"RENDERER_DOWNLOAD_MAX_BYTES": "500MB", "RENDERER_DOWNLOAD_TIMEOUT": "90"}, DownloadLimits(500 * 10**6, 90.0)),
    ({"RENDERER_DOWNLOAD_MAX_BYTES": "123456"}, DownloadLimits(123456, 600.0)),
])
def test_download_limits_from_the_environment(env, expected):
    assert DownloadLimits.from_env(env) == expected


@pytest.mark.parametrize("env, message", [
    ({"RENDERER_DOWNLOAD_MAX_BYTES": "lots"}, "RENDERER_DOWNLOAD_MAX_BYTES: 'lots' is not a size"),
    ({"RENDERER_DOWNLOAD_MAX_BYTES": "0"}, "RENDERER_DOWNLOAD_MAX_BYTES: '0' is not a size"),
    ({"RENDERER_DOWNLOAD_TIMEOUT": "soon"}, "RENDERER_DOWNLOAD_TIMEOUT: 'soon' is not a duration"),
])
def test_bad_download_limits_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        DownloadLimits.from_env(env)


def test_a_trickling_result_is_cut_at_the_time_per_file_and_resumed_later(tmp_path):
    faults = {"rates": {"trickle_file": 1.0}, "trickle_interval": 0.5}
    started = time.monotonic()
    code, _out, data = _sandboxed(tmp_path, IMAGES, faults, env={"RENDERER_DOWNLOAD_TIMEOUT": "1s"})
    assert time.monotonic() - started < 30
    assert code == 1
    for entry in data["jobs"].values():
        assert entry["download_error"].endswith("not complete within 1s (RENDERER_DOWNLOAD_TIMEOUT); a re-run resumes it")
    partial = list((tmp_path / "DIR" / ".partial").iterdir())
    assert len(partial) == 2 and all(0 < p.stat().st_size < len(PNG) for p in partial)  # kept for a resume


# -- names ---------------------------------------------------------------------------------


def test_names_that_would_collide_get_a_hash_and_every_sha256_matches_its_file(tmp_path):
    """Two values that agree on their first 150 safe characters, and a pair equal but for case."""
    long_a, long_b = "x" * 160 + "A", "x" * 160 + "B"
    campaign = f"""
version: 1
name: names
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix:
      v: ["{long_a}", "{long_b}", "NO", "no", "plain", "tile", "tile-1"]
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.v }}}}.png"
      resolution: 2k
"""
    path = write_campaign(tmp_path, campaign)

    def distinct(request: httpx.Request) -> httpx.Response:  # every URL its own content
        return httpx.Response(200, content=PNG + request.url.path.encode(), headers={"content-type": "image/png"})

    with make_sandbox() as sb:
        code = run(**args_for(path, outputs=str(tmp_path / "DIR")), out=io.StringIO(), env={**env_for(sb), **FILES_ALLOWED},
                   exec_settings=FAST, transports={"downloads": httpx.MockTransport(distinct)})
    assert code == 0
    data = json.loads(path.with_name("camp.manifest.json").read_text())
    paths = [e["files"][0]["path"] for e in data["jobs"].values()]
    assert len({p.casefold() for p in paths}) == len(paths) == 7
    for entry in data["jobs"].values():
        f = entry["files"][0]
        assert hashlib.sha256((tmp_path / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    by_value = {iid.split("=", 1)[1][:-1]: e["files"][0]["path"] for iid, e in data["jobs"].items()}
    assert by_value["plain"] == "DIR/still/plain.png"  # a name of its own stays readable
    assert by_value["NO"].startswith("DIR/still/NO~") and by_value["no"].startswith("DIR/still/no~")
    assert by_value["tile"] == "DIR/still/tile.png" and by_value["tile-1"].startswith("DIR/still/tile-1~")
    assert by_value[long_a].startswith("DIR/still/" + "x" * 141 + "~")


def test_names_do_not_depend_on_the_order_or_the_selection():
    rows = [(f"j[v={v}]", "j", {"v": v}) for v in ("a/b", "a-b", "c", "C", "d")]
    assert readable_names(rows) == readable_names(reversed(rows))
    names = readable_names(rows)
    assert names["j[v=d]"] == "j/d" and len(set(names.values())) == 5
