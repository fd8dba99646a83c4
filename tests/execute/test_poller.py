"""Polling with httpx.MockTransport: batch reads first, per-id reads as fallback."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import anyio
import httpx

from renderer.execute.client import ProviderClient
from renderer.execute.poller import Poller
from renderer.execute.settings import PollSettings, ProviderSettings
from renderer.providers import route

FAST = PollSettings(initial=0.01, factor=1.5, max_interval=0.05, list_interval=0.01)


class FakeSamsar:
    """Images and videos that finish after `ticks` reads of any kind."""

    def __init__(self, images: dict[str, int], videos: dict[str, int], listed: set[str] | None = None,
                 failed: set[str] = frozenset()) -> None:
        self.images, self.videos = images, videos
        self.listed = set(images) if listed is None else listed
        self.failed = set(failed)
        self.hits: Counter[str] = Counter()

    def state(self, rid: str) -> str:
        left = self.images.get(rid, self.videos.get(rid, 0))
        if left > 0:
            return "PENDING"
        return "FAILED" if rid in self.failed else "COMPLETED"

    def tick(self) -> None:
        for d in (self.images, self.videos):
            for k in d:
                d[k] -= 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.hits[path] += 1
        self.tick()
        if path.endswith("/image/list"):
            sessions = [{"session_id": r, "request_id": r, "status": self.state(r), "case_type": "image_enhance",
                         **({"result_url": f"https://cdn/{r}.png"} if self.state(r) == "COMPLETED" else {})}
                        for r in self.images if r in self.listed]
            return httpx.Response(200, json={"sessions": sessions})
        if path.endswith("/video/list_completed_video_sessions"):
            return httpx.Response(200, json=[{"session_id": r, "result_url": f"https://cdn/{r}.mp4"}
                                             for r in self.videos if self.state(r) == "COMPLETED"])
        rid = request.url.params.get("request_id")
        if rid not in self.images and rid not in self.videos:
            return httpx.Response(404, json={"message": "unknown"})
        body = {"request_id": rid, "session_id": rid, "status": self.state(rid)}
        if body["status"] == "COMPLETED":
            body["result_url"] = f"https://cdn/{rid}"
        return httpx.Response(200, json=body)


def poll_all(fake, jobs: list[tuple[str, str]], settings: PollSettings = FAST) -> dict[str, object]:
    async def go():
        client = ProviderClient(ProviderSettings("samsar", "https://api.test/v1", "k"), transport=httpx.MockTransport(fake))
        poller = Poller(client, settings)
        results = {}
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(poller.run)

                async def one(endpoint: str, rid: str) -> None:
                    results[rid] = await poller.watch(route(endpoint), rid)

                async with anyio.create_task_group() as jobs_tg:
                    for endpoint, rid in jobs:
                        jobs_tg.start_soon(one, endpoint, rid)
                tg.cancel_scope.cancel()
        finally:
            await client.aclose()
        return results

    return anyio.run(go)


def test_many_images_cost_a_few_list_reads() -> None:
    ids = [f"img_{i}" for i in range(50)]
    fake = FakeSamsar({i: 6 for i in ids}, {})
    results = poll_all(fake, [("samsar/image/enhance", i) for i in ids])
    assert all(r.status.state == "completed" for r in results.values())
    assert results["img_0"].status.result_url == "https://cdn/img_0.png"
    assert fake.hits["/v1/image/status"] == 0
    assert fake.hits["/v1/image/list"] <= 10


def test_images_missing_from_the_list_are_read_by_id() -> None:
    fake = FakeSamsar({"img_a": 3, "img_b": 3, "img_old": 3}, {}, listed={"img_a", "img_b"})
    results = poll_all(fake, [("samsar/image/enhance", r) for r in ("img_a", "img_b", "img_old")])
    assert results["img_old"].status.state == "completed"
    assert fake.hits["/v1/image/status"] >= 1


def test_videos_use_the_completed_list_and_ids_for_failures() -> None:
    fake = FakeSamsar({}, {"vid_ok": 4, "vid_ok2": 4, "vid_bad": 2}, failed={"vid_bad"})
    results = poll_all(fake, [("samsar/video/text_to_video", r) for r in ("vid_ok", "vid_ok2", "vid_bad")])
    assert results["vid_ok"].status.state == "completed"
    assert results["vid_ok"].status.result_url.startswith("https://cdn/vid_ok")
    assert results["vid_bad"].status.state == "failed"
    assert fake.hits["/v1/video/list_completed_video_sessions"] >= 1


def test_a_lone_job_is_read_by_id() -> None:
    fake = FakeSamsar({"img_1": 2}, {})
    results = poll_all(fake, [("samsar/image/enhance", "img_1")])
    assert results["img_1"].status.state == "completed"
    assert fake.hits["/v1/image/list"] == 0


def test_an_id_the_api_never_knows_is_left_pending_at_the_job_timeout() -> None:
    fake = FakeSamsar({}, {})  # every status read: 404
    results = poll_all(fake, [("samsar/video/create_movie", "movie_x")], replace(FAST, job_timeout=0.3))
    result = results["movie_x"]
    assert result.status is None  # not failed: it was accepted, and may be charged
    assert "job timeout" in result.stopped
    assert "status read(s) said nothing of the job (HTTP 404: unknown x" in result.stopped
    assert fake.hits["/v1/video/status"] >= 3


class Hiccups(FakeSamsar):
    """A video whose first status answers are hiccups: 404s, a 502, an answer of the wrong shape."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        super().__init__({}, {"vid_1": 0})
        self.answers = answers

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status") and self.answers:
            self.hits[request.url.path] += 1
            return self.answers.pop(0)
        return super().__call__(request)


def test_status_hiccups_are_read_again_and_said() -> None:
    gone = httpx.Response(404, json={"message": "not replicated yet"})
    fake = Hiccups([gone, gone, gone, httpx.Response(502, text="<html>bad gateway</html>"),
                    httpx.Response(200, json={"request_id": "vid_1", "status": {"state": "COMPLETED"}})])
    result = poll_all(fake, [("samsar/video/text_to_video", "vid_1")])["vid_1"]
    assert result.status.state == "completed" and result.status.result_url == "https://cdn/vid_1"
    assert fake.hits["/v1/status"] == 6
    assert result.hiccups.startswith("5 status read(s) said nothing of the job (HTTP 404: not replicated yet x3; ")
    assert "an answer of the wrong shape (status is an object, not a status string)" in result.hiccups


def test_a_failed_status_still_ends_the_job() -> None:
    fake = Hiccups([httpx.Response(404, json={"message": "not yet"}),
                    httpx.Response(200, json={"request_id": "vid_1", "status": "FAILED", "message": "no"})])
    result = poll_all(fake, [("samsar/video/text_to_video", "vid_1")])["vid_1"]
    assert result.status.state == "failed" and fake.hits["/v1/status"] == 2


def test_a_retry_after_on_a_status_read_is_honoured() -> None:
    slow = httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "1"})
    fake = Hiccups([slow])
    started = time.monotonic()
    result = poll_all(fake, [("samsar/video/text_to_video", "vid_1")])["vid_1"]
    assert result.status.state == "completed"
    assert time.monotonic() - started >= 1.0  # the poller waited as asked (its interval is 10 ms)


def test_stop_leaves_jobs_pending() -> None:
    async def go():
        fake = FakeSamsar({"img_1": 10**6}, {})
        client = ProviderClient(ProviderSettings("samsar", "https://api.test/v1", "k"), transport=httpx.MockTransport(fake))
        poller = Poller(client, FAST)
        out = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(poller.run)

            async def one():
                out["r"] = await poller.watch(route("samsar/image/enhance"), "img_1")

            tg.start_soon(one)
            await anyio.sleep(0.05)
            poller.stop("interrupted")
            await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        await client.aclose()
        return out["r"]

    r = anyio.run(go)
    assert r.status is None and r.stopped == "interrupted"
