"""Token bucket, Retry-After and backoff, with a fake clock (no real waiting)."""

from __future__ import annotations

import math
import random

import anyio
import pytest
from helpers.fake_time import FakeTime, bucket

from renderer.execute.limits import Backoff, TokenBucket, least_wall_seconds, retry_after


def test_bucket_spreads_requests_at_the_published_rate() -> None:
    t = FakeTime()
    b = bucket(60, t, capacity=1)  # one per second

    async def go() -> None:
        for _ in range(5):
            await b.acquire()

    anyio.run(go)
    assert t.now == pytest.approx(1004.0)  # first free, then one per second


def test_bucket_allows_a_small_burst_then_the_rate() -> None:
    t = FakeTime()
    b = bucket(600, t)  # 10/s, burst 10

    async def go() -> None:
        for _ in range(20):
            await b.acquire()

    anyio.run(go)
    assert b.capacity == 10
    assert t.now == pytest.approx(1001.0)


def test_unknown_rate_never_waits_unless_paused() -> None:
    t = FakeTime()
    b = bucket(None, t)

    async def go() -> None:
        for _ in range(100):
            await b.acquire()
        b.pause(3)
        await b.acquire()

    anyio.run(go)
    assert t.now == pytest.approx(1003.0)


def test_headers_close_the_bucket_until_reset_and_teach_the_rate() -> None:
    t = FakeTime()
    b = bucket(None, t)
    b.observe({"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(t.wall() + 7))})
    assert b.rate == pytest.approx(50 / 60)

    async def go() -> None:
        await b.acquire()

    anyio.run(go)
    assert t.now >= 1007.0


def test_configured_rate_is_not_overridden_by_headers() -> None:
    t = FakeTime()
    b = bucket(30, t)
    b.observe({"x-ratelimit-limit": "10000", "x-ratelimit-remaining": "9999"})
    assert b.rate == pytest.approx(0.5)


@pytest.mark.parametrize("value,expected", [("3", 3.0), ("0", 0.0), (" 2.5 ", 2.5), ("soon", math.inf), (None, None)])
def test_retry_after_seconds(value, expected) -> None:
    assert retry_after(value) == expected


def test_retry_after_http_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", wall=lambda: 1445412480.0) == pytest.approx(10.0)


def test_backoff_full_jitter_is_bounded_and_repeatable() -> None:
    a = Backoff(0.5, 8.0, random.Random(1))
    b = Backoff(0.5, 8.0, random.Random(1))
    delays = [a.delay(n) for n in range(1, 10)]
    assert delays == [b.delay(n) for n in range(1, 10)]
    for n, d in enumerate(delays, start=1):
        assert 0.0 <= d <= min(8.0, 0.5 * 2 ** (n - 1))


# -- the server's window is the truth once seen ----------------------------------


class WindowServer:
    """Fixed windows of ``limit`` requests per ``window`` seconds of the fake clock, as the
    sandbox counts them; X-RateLimit-Reset is rounded down to a whole second, as the sandbox
    writes it."""

    def __init__(self, t: FakeTime, limit: int, window: float) -> None:
        self.t, self.limit, self.window = t, limit, window
        self.used: dict[int, int] = {}
        self.accepted: list[float] = []
        self.refused = 0

    def answer(self) -> tuple[int, dict[str, str]]:
        now = self.t.now
        index = int(now // self.window)
        left = (index + 1) * self.window - now
        used = self.used.get(index, 0)
        ok = used < self.limit
        if ok:
            used += 1
            self.accepted.append(now)
        else:
            self.refused += 1
        self.used[index] = used
        headers = {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(self.limit - used),
                   "x-ratelimit-reset": str(int(self.t.wall() + left))}
        if not ok:
            headers["retry-after"] = str(max(1, math.ceil(left)))
        return (200 if ok else 429), headers


def drive(b: TokenBucket, server: WindowServer, requests: int, t: FakeTime, concurrent: int = 4) -> None:
    """``requests`` requests through the bucket, ``concurrent`` at a time, each answered at once;
    a refused one is sent again after Retry-After."""
    todo = [requests]

    async def worker() -> None:
        while todo[0] > 0:
            todo[0] -= 1
            while True:
                await b.acquire()
                b.release()
                status, headers = server.answer()
                b.observe(headers)
                if status != 429:
                    break
                b.pause(float(headers["retry-after"]))

    async def go() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(concurrent):
                tg.start_soon(worker)

    anyio.run(go)


def test_a_window_allows_a_burst_of_what_remains_then_waits_for_the_reset() -> None:
    t = FakeTime()  # 1000.0: a window of 20 per 10 s starts now
    b = bucket(50, t, ceiling=False)  # pro's published 50/min is only the guess
    server = WindowServer(t, limit=20, window=10.0)
    drive(b, server, 100, t)
    assert server.refused == 0
    assert len(server.accepted) == 100
    assert t.now == pytest.approx(1040.0, abs=0.1)  # 20 now, then 20 at each of the next 4 resets
    assert [server.accepted.count(x) for x in (1000.0, 1010.0, 1040.0)] == [20, 20, 20]


def test_the_guess_paces_until_the_first_answer() -> None:
    t = FakeTime()
    b = bucket(50, t, ceiling=False)
    assert b.capacity == 5 and b.window is None
    server = WindowServer(t, limit=20, window=10.0)
    drive(b, server, 1, t)
    assert b.window is not None and b.window.left == 19


def test_a_reset_rounded_down_costs_one_429_then_a_second_per_window() -> None:
    t = FakeTime()
    t.wall = lambda: 1_700_000_000.5 + t.now  # type: ignore[method-assign]  # windows end at .5 s on the wall clock
    b = bucket(50, t, ceiling=False)
    server = WindowServer(t, limit=20, window=10.0)
    drive(b, server, 100, t)
    assert server.refused == 1
    assert b.margin == 1.0
    assert len(server.accepted) == 100
    # windows end at 1010, 1020, ...; their resets say 1009.5: once learnt, each burst goes 0.5 s late
    assert t.now == pytest.approx(1040.5, abs=0.1)
    assert [server.accepted.count(x) for x in (1000.0, 1020.5, 1030.5, 1040.5)] == [20, 20, 20, 20]


def test_other_clients_of_the_key_lower_what_remains() -> None:
    t = FakeTime()
    b = bucket(None, t)
    reset = str(int(t.wall() + 10))
    b.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "15", "x-ratelimit-reset": reset})
    b.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "3", "x-ratelimit-reset": reset})
    b.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "9", "x-ratelimit-reset": reset})  # late, stale
    assert b.window is not None and b.window.left == 3


def test_requests_in_flight_count_against_a_new_window() -> None:
    t = FakeTime()
    b = bucket(None, t)

    async def go() -> None:
        for _ in range(4):
            await b.acquire()

    anyio.run(go)
    b.release()
    b.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "19", "x-ratelimit-reset": str(int(t.wall() + 10))})
    assert b.window is not None and b.window.left == 16  # 3 still in flight may not be counted yet


def test_a_configured_rate_stays_a_ceiling_under_a_generous_window() -> None:
    t = FakeTime()
    b = bucket(60, t, capacity=1)  # the campaign's own 1/s
    server = WindowServer(t, limit=1000, window=60.0)
    drive(b, server, 5, t, concurrent=1)
    assert t.now == pytest.approx(1004.0)


@pytest.mark.parametrize("requests,per_window,seconds", [(0, 50, 0), (50, 50, 0), (51, 50, 60), (240, 50, 240), (415, 50, 480)])
def test_least_wall_seconds_in_windows(requests: int, per_window: int, seconds: int) -> None:
    assert least_wall_seconds(requests, per_window) == seconds
