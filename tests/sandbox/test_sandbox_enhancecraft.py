"""EnhanceCraft: upload, jobs, job status, tier rate limits and their headers."""

from __future__ import annotations

import httpx
import pytest

from helpers.sandbox_requests import OTHER_KEY

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # binary, with CR/LF inside
ENHANCE = [{"type": "enhance", "params": {"scale": 2}}]


def upload(client: httpx.Client, data: bytes = PNG, name: str = "photo.png", ctype: str = "image/png") -> httpx.Response:
    return client.post("/api/v1/upload/api", files={"file": (name, data, ctype)})


@pytest.fixture
def ec(sandbox, clients) -> httpx.Client:
    return clients(sandbox.base_urls["enhancecraft"])


def test_upload_then_job_then_status(ec: httpx.Client) -> None:
    up = upload(ec)
    assert up.status_code == 200, up.text
    stored = up.json()
    assert stored["storage_key"].startswith("uploads/") and stored["storage_key"].endswith(".png")
    assert stored == {**stored, "filename": "photo.png", "size": len(PNG), "content_type": "image/png"}
    job = ec.post("/api/v1/jobs/api", json={"input_key": stored["storage_key"], "operations": ENHANCE})
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "queued" or job.json()["status"] == "completed"
    assert "x-credits-charged" not in job.headers
    done = ec.get(f"/api/v1/jobs/api/{job.json()['id']}").json()
    assert done["status"] == "completed" and done["output_url"].startswith("outputs/")
    assert done["input_url"] == stored["storage_key"] and done["error_message"] is None


def test_job_goes_queued_processing_completed(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=8, clock=clock)
    ec = clients(sb.base_urls["enhancecraft"])
    job = ec.post("/api/v1/jobs/api", json={"input_key": "uploads/elsewhere/x.jpg",
                                            "operations": [{"type": "convert", "params": {"output_format": "webp"}}]}).json()
    read = lambda: ec.get(f"/api/v1/jobs/api/{job['id']}").json()  # noqa: E731
    assert job["status"] == "queued" and job["output_url"] is None
    clock.advance(3)
    assert read()["status"] == "processing"
    clock.advance(5)
    assert read()["status"] == "completed" and read()["output_url"].endswith(".webp")


def test_jobs_errors(ec: httpx.Client, sandbox, clients) -> None:
    bad = ec.post("/api/v1/jobs/api", json={"input_key": "k.png", "operations": [{"type": "enhance", "params": {"scale": 3}}]})
    assert bad.status_code == 400 and "scale" in bad.json()["detail"]
    unknown = ec.post("/api/v1/jobs/api", json={"input_key": "k.png", "operations": [{"type": "sharpen"}]})
    assert unknown.status_code == 400 and "type" in unknown.json()["detail"]
    assert ec.post("/api/v1/jobs/api", json={"input_key": "k.png"}).status_code == 400
    assert ec.get("/api/v1/jobs/api/nope").status_code == 404
    # another key's upload and job are not found
    theirs = clients(sandbox.base_urls["enhancecraft"], OTHER_KEY)
    key = upload(theirs).json()["storage_key"]
    assert ec.post("/api/v1/jobs/api", json={"input_key": key, "operations": ENHANCE}).status_code == 404
    job_id = theirs.post("/api/v1/jobs/api", json={"input_key": key, "operations": ENHANCE}).json()["id"]
    assert ec.get(f"/api/v1/jobs/api/{job_id}").status_code == 404


def test_upload_errors(ec: httpx.Client) -> None:
    assert ec.post("/api/v1/upload/api", files={"other": ("a.png", PNG, "image/png")}).status_code == 400
    assert upload(ec, b"hello", "notes.txt", "text/plain").status_code == 400
    assert ec.post("/api/v1/upload/api", json={"file": "x"}).status_code == 400
    guessed = upload(ec, PNG, "pic.jpg", "application/octet-stream")
    assert guessed.status_code == 200 and guessed.json()["content_type"] == "image/jpeg"


def test_auth(make_sandbox, clients) -> None:
    sb = make_sandbox(api_key="the-key")
    url = sb.base_urls["enhancecraft"]
    missing = clients(url, None).get("/api/v1/jobs/api/x")
    assert missing.status_code == 401 and missing.json() == {"detail": "Not authenticated"}
    assert "X-RateLimit-Limit" not in missing.headers  # no key, no quota to show
    assert clients(url, "wrong").post("/api/v1/upload/api", files={"file": ("a.png", PNG, "image/png")}).status_code == 401
    assert clients(url, "the-key").get("/api/v1/jobs/api/x").status_code == 404


def test_unpublished_operation_prices_are_free_unless_configured(make_sandbox, clients) -> None:
    sb = make_sandbox(credits=10, pricing={"enhancecraft": {"operations": {"enhance": 4}}})
    ec = clients(sb.base_urls["enhancecraft"])
    body = {"input_key": "uploads/x.png", "operations": ENHANCE}
    assert ec.post("/api/v1/jobs/api", json=body).status_code == 200
    assert ec.post("/api/v1/jobs/api", json=body).status_code == 200
    short = ec.post("/api/v1/jobs/api", json=body)
    assert short.status_code == 402 and "credits" in short.json()["detail"]
    assert sb.state.counters.credits_charged["enhancecraft"] == 8


@pytest.mark.parametrize(("tier", "limit", "month"), [("pro", 50, "50000"), ("business", 200, "200000"), ("enterprise", 10000, None)])
def test_rate_limit_headers_and_429_per_tier(make_sandbox, clients, clock, tier: str, limit: int, month: str | None) -> None:
    sb = make_sandbox(provider_settings={"enhancecraft": {"tier": tier}}, clock=clock)
    ec = clients(sb.base_urls["enhancecraft"])
    first = ec.get("/api/v1/jobs/api/none")
    assert first.headers["X-RateLimit-Limit"] == str(limit)
    assert first.headers["X-RateLimit-Remaining"] == str(limit - 1)
    assert int(first.headers["X-RateLimit-Reset"]) > 0
    assert first.headers.get("X-RateLimit-Limit-Month") == month
    if month:
        assert first.headers["X-RateLimit-Remaining-Month"] == str(int(month) - 1)
    if limit > 200:
        return  # 10,000 requests would only slow the suite; the window logic is the same
    for _ in range(limit - 1):
        ec.get("/api/v1/jobs/api/none")
    over = ec.get("/api/v1/jobs/api/none")
    assert over.status_code == 429 and over.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # limits are per key, and the window resets each minute
    assert clients(sb.base_urls["enhancecraft"], OTHER_KEY).get("/api/v1/jobs/api/none").status_code == 404
    clock.advance(60)
    assert ec.get("/api/v1/jobs/api/none").status_code == 404
    assert sb.state.counters.rate_limited == 1
