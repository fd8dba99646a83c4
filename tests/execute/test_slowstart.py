"""Slow start: one submission in flight per provider until it answers clearly."""

from __future__ import annotations

import anyio

from renderer.execute.slowstart import SlowStart


def test_one_in_flight_until_a_clear_answer_then_all_and_closed_again_by_an_unclear_one() -> None:
    slow = SlowStart()
    peaks: list[int] = []

    async def post(release: anyio.Event) -> None:
        async with slow.slot():
            peaks.append(slow.in_flight)
            await release.wait()

    async def main() -> None:
        release = anyio.Event()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(post, release)
            await anyio.wait_all_tasks_blocked()
            assert slow.in_flight == 1  # the others wait for the provider's first clear answer
            slow.answered(True)
            await anyio.wait_all_tasks_blocked()
            assert slow.in_flight == 4
            release.set()
        slow.answered(False)  # a gateway's 502: one at a time again
        release = anyio.Event()
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(post, release)
            await anyio.wait_all_tasks_blocked()
            assert slow.in_flight == 1
            release.set()

    anyio.run(main)
    assert max(peaks) == 4
