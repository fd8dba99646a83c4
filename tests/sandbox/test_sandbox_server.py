"""Serving: the in-process context managers (sync and anyio) and the blocking command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import anyio
import httpx
import pytest

from renderer.errors import ConfigError
from renderer.sandbox import SandboxConfig, running_sandbox, running_sandbox_sync
from helpers.sandbox_requests import TEXT_TO_VIDEO


def test_sync_sandbox_binds_loopback_on_an_ephemeral_port_and_stops() -> None:
    with running_sandbox_sync(SandboxConfig(render_seconds=0)) as sb:
        assert sb.host == "127.0.0.1" and sb.port > 0
        assert sb.base_urls["samsar"] == f"http://127.0.0.1:{sb.port}/v1"
        assert sb.base_urls["enhancecraft"] == f"http://127.0.0.1:{sb.port}/enhancecraft"
        r = httpx.post(f"{sb.base_urls['samsar']}/video/text_to_video", json={"input": TEXT_TO_VIDEO},
                       headers={"Authorization": "Bearer k"})
        assert r.status_code == 200
        assert sb.state.counters.accepted["samsar/video/text_to_video"] == 1
    assert not any(t.name == "renderer-sandbox" for t in threading.enumerate())
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sb.base_url}/_sandbox/state")


def test_a_busy_port_is_a_config_error() -> None:
    with running_sandbox_sync() as sb:
        with pytest.raises(ConfigError, match="cannot listen"):
            with running_sandbox_sync(port=sb.port):
                pass


def _trio_usable() -> bool:
    try:
        import trio
    except ImportError:
        return False
    return tuple(int(x) for x in trio.__version__.split(".")[:2]) >= (0, 23)  # what anyio 4 calls


@pytest.mark.parametrize("anyio_backend", [
    "asyncio",
    pytest.param("trio", marks=pytest.mark.skipif(not _trio_usable(), reason="trio missing or too old for anyio")),
])
@pytest.mark.anyio
async def test_async_sandbox(anyio_backend: str) -> None:
    async with running_sandbox(SandboxConfig(render_seconds=0)) as sb:
        async with httpx.AsyncClient(base_url=sb.base_urls["samsar"], headers={"Authorization": "Bearer k"}) as client:
            r = await client.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
            assert r.status_code == 200
            done = await client.get("/status", params={"request_id": r.json()["request_id"]})
            assert done.json()["status"] == "COMPLETED"
    assert not any(t.name == "renderer-sandbox" for t in threading.enumerate())


@pytest.mark.anyio
async def test_async_sandbox_stops_when_its_body_is_cancelled() -> None:
    with anyio.move_on_after(0.05):
        async with running_sandbox() as sb:
            await anyio.sleep(5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sb.base_url}/_sandbox/state")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_sandbox_command_serves_until_interrupted() -> None:
    code = (
        "from renderer.sandbox import SandboxConfig, sandbox_command\n"
        "raise SystemExit(sandbox_command('127.0.0.1', 0, SandboxConfig(api_key='sk_live_secret')))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        url = re.search(r"SAMSAR_BASE_URL=(\S+)", line).group(1)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        r = httpx.post(f"{url}/video/text_to_video", json={"input": TEXT_TO_VIDEO},
                       headers={"Authorization": "Bearer sk_live_secret"})
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "sk_live_secret" not in line + out + err  # no key is ever logged
    assert "POST /v1/video" not in err  # no access log
