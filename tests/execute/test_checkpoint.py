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


def test_changes_are_coalesced_at_most_one_write_an_interval() -> None:
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
        world.release.set()  # the interval passes: one write for the three changes
        await until(lambda: world.writes == [1, 4])
        await settle()
        assert cp.writes == 2

    run_with(world, body)


def test_a_refused_write_is_kept_and_the_next_change_tries_again() -> None:
    world = World()
    world.release.set()

    async def body(cp: Checkpoint) -> None:
        world.fail = "m.json: cannot write the manifest (No space left on device)"
        cp.dirty()
        await until(lambda: cp.error is not None)
        assert "No space left" in str(cp.error) and world.writes == []
        await settle()
        world.fail = None
        world.state = 7
        cp.dirty()  # the disk took it again
        await until(lambda: world.writes == [7])
        assert cp.error is None

    run_with(world, body)


def test_a_checkpoints_text_is_the_manifest_dump_writes(tmp_path, monkeypatch) -> None:
    """The checkpoint's text, built from cached entries, is byte for byte what the run's last
    write (``dump`` of the whole manifest) holds for the same state."""
    import io
    from pathlib import Path

    from helpers.runs import FAST, env_for, make_sandbox, write_campaign

    import renderer.commands.run as run_module
    from renderer.execute import manifest_from_run as run_manifest
    from renderer.execute.scrub import Scrubber
    from renderer.results import runhooks as R

    ended = []
    real = run_module.execute

    def keeping(*args, **kw):
        execution = real(*args, **kw)
        ended.append(execution.scheduler)  # the scheduler as the run ended
        return execution

    monkeypatch.setattr(run_module, "execute", keeping)
    text = ("version: 1\nname: snap\njobs:\n  still:\n    endpoint: samsar/image/enhance\n    matrix: {i: [0, 1, 2]}\n"
            "    input: {image_url: \"https://cdn.example.com/{{ matrix.i }}.png\", resolution: 2k}\n"
            "  clip:\n    endpoint: samsar/video/text_to_video\n    matrix: {n: [1, 2]}\n"
            "    input: {prompt: \"Clip {{ matrix.n }} é\", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}\n")
    path = write_campaign(Path(tmp_path), text)
    with make_sandbox(faults={"schedule": {2: "render_failure"}}) as sb:
        request = run_module.RunRequest(str(path), state_dir=str(tmp_path / ".renderer"))
        assert run_module.run(request, io.StringIO(), env_for(sb), exec_settings=FAST) == 1
    (sched,) = ended
    from renderer.campaign.campaign import load_campaign

    snapshots = run_manifest.Snapshots(load_campaign(str(path)), None, Scrubber().value,
                                       lambda doc: R.attach(doc, None, None))
    sched.changed.update(sched.jobs)
    from renderer.execute.sqlitestore import SqliteJournal
    from renderer.targets import for_campaign

    (db,) = (tmp_path / ".renderer").glob("*.sqlite")
    sched.journal = SqliteJournal(db)  # the run's was closed on its way out
    snapshots.targets = for_campaign(load_campaign(str(path)), env_for(sb), False)
    written = path.with_name("camp.manifest.json").read_text("utf-8")
    try:
        assert snapshots.text(sched) == written
    finally:
        sched.journal.close()
    assert '"status": "failed"' in written and "é" in written


@pytest.mark.parametrize("seconds, wait", [(0.5, 10.0), (0.04, 1.0)])
def test_a_manifest_that_takes_long_to_write_is_written_less_often(seconds: float, wait: float) -> None:
    """A full rewrite waits SPACING (20) times what the last one took, or the 1 s interval,
    whichever is longer (the clock moves only as the write says)."""
    world = World()
    real_build = world.build

    def slow_build():
        finish = real_build()

        def write() -> None:
            world.now += seconds  # a huge manifest: this long to write
            finish()

        return write

    world.build = slow_build  # type: ignore[method-assign]

    async def body(cp: Checkpoint) -> None:
        cp.dirty()
        await until(lambda: len(world.writes) == 1)
        cp.dirty()
        await settle()
        assert world.waits == [pytest.approx(wait)]
        world.release.set()
        await until(lambda: len(world.writes) == 2)  # and then it is written

    run_with(world, body)
