"""Token bucket, Retry-After and backoff, with a fake clock (no real waiting)."""

from __future__ import annotations

import random

import anyio
import pytest

from renderer.execute.limits import Backoff, TokenBucket, retry_after


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(rpm, t: FakeTime, **kw) -> TokenBucket:
    return TokenBucket(rpm, clock=t.clock, wall=t.wall, sleep=t.sleep, **kw)


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


@pytest.mark.parametrize("value,expected", [("3", 3.0), ("0", 0.0), (" 2.5 ", 2.5), ("soon", None), (None, None)])
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
