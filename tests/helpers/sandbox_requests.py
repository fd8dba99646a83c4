"""Shared request bodies and small helpers for the sandbox tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

KEY = "test-key"
OTHER_KEY = "another-key"

TEXT_TO_VIDEO = {"prompt": "Clouds over a city", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 10}
IMAGE_LIST = {"image_urls": ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"], "video_model": "RUNWAYML"}


def make_video(client: httpx.Client, **overrides: Any) -> str:
    """Submit a text-to-video and return its session id."""
    r = client.post("/video/text_to_video", json={"input": {**TEXT_TO_VIDEO, **overrides}})
    assert r.status_code == 200, r.text
    return r.json()["session_id"]


def status(client: httpx.Client, request_id: str, path: str = "/status") -> dict[str, Any]:
    r = client.get(path, params={"request_id": request_id})
    assert r.status_code == 200, r.text
    return r.json()


def charged(r: httpx.Response) -> int:
    return int(r.headers["x-credits-charged"])


SAMSAR_JS_VERSION = "0.48.48"  # the official client, pinned (the only version the registry serves)
_OFFLINE = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|getaddrinfo", re.I)


def samsar_js() -> Path:
    """samsar-js's dist/index.js, installed once into a cache outside the repository (keyed by version).

    Skips only when node or npm is missing or the registry cannot be reached; another
    failure of ``npm install`` fails the test."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed to run the official samsar-js client")
    cache = Path(tempfile.gettempdir()) / "renderer-sandbox-npm" / f"samsar-js-{SAMSAR_JS_VERSION}"
    module = cache / "node_modules" / "samsar-js" / "dist" / "index.js"
    if not module.exists():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["npm", "install", f"samsar-js@{SAMSAR_JS_VERSION}", "--no-audit", "--no-fund", "--no-save",
                 "--prefix", str(cache)], capture_output=True, text=True, timeout=180,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install samsar-js@{SAMSAR_JS_VERSION} timed out: the registry is unreachable")
        if done.returncode != 0 and _OFFLINE.search(done.stderr):
            pytest.skip(f"the npm registry is unreachable: {done.stderr.strip()[-300:]}")
        assert done.returncode == 0 and module.exists(), f"npm install samsar-js failed: {done.stderr.strip()[-600:]}"
    return module
