"""A sandbox with a state directory (`renderer sandbox --state DIR`) remembers across restarts."""

from __future__ import annotations

from pathlib import Path

from helpers.sandbox_requests import TEXT_TO_VIDEO, charged, make_video, status

from renderer.cli import build_parser
from renderer.sandbox import ManualClock, SandboxConfig, running_sandbox_sync


def sandbox(state: Path, wall: ManualClock, **kw):
    return running_sandbox_sync(SandboxConfig(state_dir=state, clock=ManualClock(0.0), wall_clock=wall,
                                              render_seconds=kw.pop("render_seconds", 10), **kw))


def test_sessions_balances_and_ids_survive_a_restart(tmp_path: Path, clients) -> None:
    wall = ManualClock(1_000_000.0)
    with sandbox(tmp_path, wall, credits=1000) as sb:
        samsar = clients(sb.base_urls["samsar"])
        first = make_video(samsar)
        assert status(samsar, first)["status"] == "PENDING"
    wall.advance(4)  # the sandbox was down 4 s of its 10 s render
    with sandbox(tmp_path, wall, credits=1000) as sb:
        samsar = clients(sb.base_urls["samsar"])
        assert status(samsar, first)["status"] == "PENDING"  # known, still rendering
        second = make_video(samsar)
        assert second != first  # ids stay unique across restarts
        sb.state.advance(6)  # render progress is time: 10 s after it was accepted, it is done
        assert status(samsar, first)["status"] == "COMPLETED"
        assert status(samsar, second)["status"] == "PENDING"
        r = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
        remaining = int(r.headers["x-credits-remaining"])
    assert remaining == 1000 - 3 * charged(r)  # the balance carried over


def test_an_idempotent_answer_is_replayed_after_a_restart(tmp_path: Path, clients) -> None:
    wall = ManualClock(1_000_000.0)
    body, key = {"image_url": "https://cdn.example.com/p.png"}, {"Idempotency-Key": "k-1"}
    with sandbox(tmp_path, wall) as sb:
        first = clients(sb.base_urls["samsar"]).post("/image/enhance", json=body, headers=key).json()
    with sandbox(tmp_path, wall) as sb:
        again = clients(sb.base_urls["samsar"]).post("/image/enhance", json=body, headers=key)
        assert again.headers["idempotent-replayed"] == "true" and again.json() == first
        assert sb.state.counters.snapshot()["accepted_total"] == 0
        clients(sb.base_urls["samsar"]).post("/image/enhance", json=body)  # the same body without the key
        assert sb.state.counters.snapshot()["duplicates_total"] == 1  # counted across restarts


def test_a_cancel_is_kept(tmp_path: Path, clients) -> None:
    wall = ManualClock(1_000_000.0)
    with sandbox(tmp_path, wall) as sb:
        samsar = clients(sb.base_urls["samsar"])
        sid = make_video(samsar)
        assert samsar.post("/video/cancel_render", json={"input": {"videoSessionId": sid}}).status_code == 200
    wall.advance(60)
    with sandbox(tmp_path, wall) as sb:
        assert status(clients(sb.base_urls["samsar"]), sid)["status"] == "CANCELLED"


def test_the_sandbox_command_takes_a_state_dir() -> None:
    args = build_parser().parse_args(["sandbox", "--state", "rehearsal"])
    assert args.state == "rehearsal"
    assert build_parser().parse_args(["sandbox"]).state is None
    assert build_parser().parse_args(["run", "c.yaml", "--sandbox", "--sandbox-credits", "500"]).sandbox_credits == 500
