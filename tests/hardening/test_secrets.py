"""Keys set in the environment never show: not in stdout, stderr, logs, the manifest,
the journal's bytes or an exception's text, on success and on every failure path.

`renderer run` goes through ``renderer.cli.main`` (or a child process for the crash)
against a sandbox on loopback, a closed port, and a stand-in server that echoes the
Authorization header back in its error bodies, as a careless API might.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from helpers.hardening import CANARIES, CANARY_ENV, ENHANCECRAFT_CANARY, SAMSAR_CANARY, run_cli

pytest.importorskip("renderer.commands.run", reason="renderer/execute (the executor) is not in the tree yet")
sandbox_server = pytest.importorskip("renderer.sandbox.server", reason="renderer/sandbox (the sandbox) is not in the tree yet")
from renderer.sandbox.config import SandboxConfig  # noqa: E402

pytestmark = pytest.mark.allow_network

FAST = json.dumps({
    "retry": {"max_attempts": 3, "base_delay": 0.01, "max_delay": 0.05, "max_elapsed": 3.0},
    "poll": {"initial": 0.05, "max_interval": 0.2, "list_interval": 0.05},
    "reconcile_delay": 0.0, "sandbox_render_seconds": 0.2, "seed": 7,
})

CAMPAIGN = """version: 1
name: secrets
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  clip:
    endpoint: samsar/video/text_to_video
    input:
      prompt: a lighthouse at dawn
      image_model: GPTIMAGE2
      video_model: RUNWAYML
      duration: 10
  polish:
    endpoint: enhancecraft/jobs
    input:
      input_key: uploads/demo/portrait.jpg
      operations:
        - {type: convert, params: {output_format: webp, quality: 90}}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "camp.yaml").write_text(CAMPAIGN, encoding="utf-8")
    return tmp_path


def env_with(**extra: str) -> dict[str, str]:
    return {**CANARY_ENV, "RENDERER_EXEC_SETTINGS": FAST, **extra}


def assert_no_canary_below(folder: Path) -> list[Path]:
    """Grep the bytes of every file the run left: manifest, journal (SQLite, -wal, -shm), anything."""
    seen = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for canary in CANARIES:
                assert canary.encode() not in data, f"{canary} in {path}"
                assert canary.encode("utf-16-le") not in data, f"{canary} (UTF-16) in {path}"
            seen.append(path)
    return seen


def run(folder: Path, env: dict[str, str], *extra: str, caplog: pytest.LogCaptureFixture | None = None):
    if caplog is not None:
        caplog.set_level(logging.DEBUG)  # httpx, httpcore, uvicorn, ours: every logger at its chattiest
    r = run_cli("run", folder / "camp.yaml", "--state-dir", folder / ".renderer", *extra, env=env)
    if caplog is not None:
        for canary in CANARIES:
            assert canary not in caplog.text, f"{canary} in the logs"
            for record in caplog.records:
                assert canary not in str(record.args)
    files = assert_no_canary_below(folder)
    assert any(p.name.endswith(".manifest.json") for p in files), "no manifest written"
    assert any(".renderer" in p.parts for p in files), "no journal written"
    return r


def test_run_sandbox_with_keys_in_the_environment(folder: Path, caplog) -> None:
    r = run(folder, env_with(), "--sandbox", caplog=caplog)
    assert r.code == 0, r.out + r.err
    manifest = json.loads((folder / "camp.sandbox.manifest.json").read_text())
    assert {e["status"] for e in manifest["jobs"].values()} == {"completed"}


@contextmanager
def sandbox(**kw) -> Iterator[object]:
    kw.setdefault("render_seconds", 0.2)
    with sandbox_server.running_sandbox_sync(SandboxConfig(**kw)) as sb:
        yield sb


def urls(sb) -> dict[str, str]:
    return {"SAMSAR_BASE_URL": sb.base_urls["samsar"], "ENHANCECRAFT_BASE_URL": sb.base_urls["enhancecraft"]}


def test_run_against_the_api_with_the_key_succeeds_without_showing_it(folder: Path, caplog) -> None:
    with sandbox(credits=10**7) as sb:
        r = run(folder, env_with(**urls(sb)), caplog=caplog)
    assert r.code == 0, r.out + r.err
    # and the key was really used: the sandbox accepted the jobs it authorised
    assert sb.state.counters.snapshot()["accepted_total"] >= 4


def test_401_a_refused_key(folder: Path, caplog) -> None:
    with sandbox(api_key="not-the-canary") as sb:
        r = run(folder, env_with(**urls(sb)), caplog=caplog)
    assert r.code == 1
    manifest = json.loads((folder / "camp.manifest.json").read_text())
    assert all(e["status"] != "completed" for e in manifest["jobs"].values())


def test_402_no_credits(folder: Path, caplog) -> None:
    with sandbox(credits=0) as sb:
        r = run(folder, env_with(**urls(sb)), caplog=caplog)
    assert r.code == 1


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def test_connection_refused(folder: Path, caplog) -> None:
    port = closed_port()
    env = env_with(SAMSAR_BASE_URL=f"http://127.0.0.1:{port}/v1", ENHANCECRAFT_BASE_URL=f"http://127.0.0.1:{port}/ec")
    r = run(folder, env, caplog=caplog)
    assert r.code == 1
    assert r.seconds < 15


class _Echo(BaseHTTPRequestHandler):
    """A careless API: its error bodies quote the request's headers, Authorization included.

    (Not its response headers: httpcore's DEBUG trace prints those verbatim, and the
    renderer does not configure logging; a key echoed there is the API's leak.)"""

    status = 401

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps({"message": f"rejected {self.headers.get('Authorization')}",
                           "headers": dict(self.headers.items()), "error": self.headers.get("Authorization")}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET = do_PUT = _answer

    def log_message(self, *args: object) -> None:  # the test's own server stays quiet
        pass


@contextmanager
def echo_server(status: int) -> Iterator[str]:
    handler = type("Echo", (_Echo,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 500])
def test_an_api_that_echoes_the_authorization_header(folder: Path, caplog, status: int) -> None:
    with echo_server(status) as base:
        r = run(folder, env_with(SAMSAR_BASE_URL=base + "/v1", ENHANCECRAFT_BASE_URL=base + "/ec"), caplog=caplog)
    assert r.code == 1


def test_no_key_at_all_names_the_variable_not_a_value(folder: Path) -> None:
    r = run_cli("run", folder / "camp.yaml", "--state-dir", folder / ".renderer", env={"RENDERER_EXEC_SETTINGS": FAST})
    assert r.code == 1
    assert "SAMSAR_API_KEY" in r.err or "ENHANCECRAFT_API_KEY" in r.err


def test_a_crash_mid_run_leaves_no_key_behind(folder: Path) -> None:
    """SIGKILL after the 3rd journal commit (the executor's crash hook), then resume."""
    with sandbox(credits=10**7) as sb:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder), **env_with(**urls(sb)),
               "RENDERER_TEST_KILL_AFTER": "3"}
        cmd = [sys.executable, "-m", "renderer.cli", "run", "camp.yaml", "--state-dir", ".renderer"]
        proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
        for canary in CANARIES:
            assert canary not in proc.stdout + proc.stderr
        assert_no_canary_below(folder)  # the journal as the crash left it, -wal included
        r = run(folder, env_with(**urls(sb)))  # the next run resumes from the journal
    # 0, or 1 when the kill left a submission of unknown fate (never resubmitted silently)
    assert r.code in (0, 1), r.out + r.err


def test_an_internal_error_does_not_print_the_environment(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last-resort handler prints one line of the exception: make one that holds the key."""
    from renderer import cli

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError(f"failed with headers {{'Authorization': 'Bearer {SAMSAR_CANARY}'}}")

    monkeypatch.setattr(cli, "dispatch", boom)
    import io

    err = io.StringIO()
    code = cli.main(["validate", str(folder / "camp.yaml")], io.StringIO(), err, dict(CANARY_ENV))
    assert code == 1 and "internal error" in err.getvalue()
    assert SAMSAR_CANARY not in err.getvalue() and ENHANCECRAFT_CANARY not in err.getvalue()
    assert "'Bearer [redacted]'" in err.getvalue()
