"""The manifest's coalesced writes, driven by an injected clock and wait (no sleeping)."""

from __future__ import annotations

import anyio
import pytest

from renderer.errors import StateError
from renderer.execute.checkpoint import Checkpoint


class World:
    """A clock that moves when told, a wait that ends when the test lets it, and the writes."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []
        self.release = anyio.Event()
        self.writes: list[int] = []  # the state each write saw
        self.state = 0
        self.fail: str | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.release.wait()

    def build(self):
        seen = self.state
        if self.fail:
            raise StateError(self.fail)
        return lambda: self.writes.append(seen)


def run_with(world: World, body) -> None:
    async def main() -> None:
        cp = Checkpoint(world.build, interval=1.0, clock=world.clock, sleep=world.sleep)
        async with anyio.create_task_group() as tg:
            tg.start_soon(cp.run)
            await body(cp)
            tg.cancel_scope.cancel()

    anyio.run(main)


async def settle() -> None:
    await anyio.wait_all_tasks_blocked()


async def until(condition, seconds: float = 10.0) -> None:
    """Wait for a write made in a worker thread (a condition, with a deadline)."""
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.001)


def test_changes_are_coalesced_and_a_barrier_writes_at_once() -> None:
    world = World()

    async def body(cp: Checkpoint) -> None:
        world.state = 1
        cp.dirty()
        await until(lambda: world.writes == [1])  # the first change goes at once
        world.now += 0.2
        world.state = 2
        cp.dirty()
        world.state = 3
        cp.dirty()
        await settle()
        assert world.writes == [1] and world.waits == [pytest.approx(0.8)]  # the rest of the second
        world.state = 4
        await cp.barrier()  # a POST waits for the disk: no waiting out the interval
        assert world.writes == [1, 4]
        world.now += 0.1
        world.state = 5
        cp.dirty()
        await settle()
        assert world.writes == [1, 4]
        world.release.set()  # the interval passes
        await until(lambda: world.writes == [1, 4, 5])
        assert cp.writes == 3

    run_with(world, body)


def test_a_barrier_raises_when_the_manifest_cannot_be_written() -> None:
    world = World()

    async def body(cp: Checkpoint) -> None:
        world.fail = "m.json: cannot write the manifest (No space left on device)"
        with pytest.raises(StateError, match="No space left"):
            await cp.barrier()
        world.fail = None
        world.now += 5
        world.state = 7
        await cp.barrier()  # the disk took it again
        assert world.writes == [7] and cp.error is None

    run_with(world, body)
