"""Shared request bodies and small helpers for the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx

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
