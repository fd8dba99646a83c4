"""`renderer sandbox` serves on the port it is given, as a separate process, and says where each provider is."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves_until_stopped():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer.cli", "sandbox", "--port", str(port), "--render-seconds", "0",
         "--api-key", "k1", "--tier", "business"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = proc.stdout.readline()  # printed once the socket is bound
        assert f"127.0.0.1:{port}" in banner
        base = f"http://127.0.0.1:{port}"
        r = httpx.get(f"{base}/v1/video/supported_models", timeout=5)
        assert r.status_code == 200 and r.json()["VIDEO_MODELS"]
        bad = httpx.post(f"{base}/v1/image/enhance", json={"image_url": "https://e.com/a.png"},
                         headers={"Authorization": "Bearer nope"}, timeout=5)
        assert bad.status_code == 401  # --api-key is enforced
        ok = httpx.post(f"{base}/v1/image/enhance", json={"image_url": "https://e.com/a.png"},
                        headers={"Authorization": "Bearer k1"}, timeout=5)
        assert ok.status_code == 200 and ok.headers["x-credits-charged"] == "30"
        ec = httpx.get(f"{base}/enhancecraft/api/v1/jobs/api/none", headers={"Authorization": "Bearer k1"}, timeout=5)
        assert ec.headers["X-RateLimit-Limit"] == "200"  # --tier business
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0 or proc.returncode < 0


def test_sandbox_command_announces_every_mounted_provider_plugins_included():
    port = _free_port()
    plugins = Path(__file__).resolve().parents[1] / "architecture"  # toy_provider/, a plugin package
    env = {**os.environ, "RENDERER_PROVIDERS": "toy_provider",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugins), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "renderer.cli", "sandbox", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        for announced in (f"SAMSAR_BASE_URL={base}/v1", f"ENHANCECRAFT_BASE_URL={base}/enhancecraft",
                          f"TOY_BASE_URL={base}/toy"):
            assert announced in banner, banner
        answer = httpx.post(f"{base}/toy/echo", json={"text": "hi"}, headers={"Authorization": "Bearer k"}, timeout=5)
        assert answer.status_code == 200 and answer.headers["X-RateLimit-Limit"] == "600"  # its tier, enforced
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0 or proc.returncode < 0
