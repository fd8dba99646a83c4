"""The shared rate window (``renderer.execute.ratewindow``) against a real PostgreSQL store: one runner
learns each window, every runner takes its slots up to the limit, late answers give nothing back."""

from __future__ import annotations

from renderer.execute.ratewindow import RECHECK, SharedRates
from renderer.execute.stateurl import parse_url


def test_one_runner_learns_a_window_and_all_take_its_slots_to_the_limit(pg_url: str) -> None:
    rates = [SharedRates(parse_url(pg_url)) for _ in range(2)]
    try:
        a, b = (r.window("enhancecraft", "http://api") for r in rates)
        assert a.claim(100.0) == 0 and a.probes == 1  # nothing known: one runner sends the request that learns it
        assert b.claim(100.0) == RECHECK  # the other waits for its answer
        a.seen(5, 4, 160.0)  # the server counted 1 of 5 until 160
        taken = [w.claim(101.0) for w in (a, b, a, b, a)]
        assert taken == [0, 0, 0, 0, 59.0]  # 4 more slots, then until the reset
        a.seen(5, 3, 160.0)  # a late answer never gives a slot back
        assert b.claim(102.0) == 58.0
        assert b.claim(160.0) == 0 and b.probes == 1 and a.claim(160.0) == RECHECK  # the next window: one probe
        c, d = (r.window("samsar", "http://api") for r in rates)  # a provider that publishes no window
        assert c.claim(1.0) == 0 and d.claim(1.0) == RECHECK
        c.no_window()  # its answer said none: the other learns that for itself
        assert d.claim(1.0) == 0
    finally:
        for r in rates:
            r.close()
