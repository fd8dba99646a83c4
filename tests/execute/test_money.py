"""Money rules at the edges of a resend: a possibly processed submission keeps counting.

httpx.MockTransport answers every POST from a script; each test asserts the POSTs
the server saw, the credits the journal's submissions count for in a budget, and
the manifest's status.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from test_run_mock import MockSamsar, go, keys_of, raise_

from renderer.execute.budget import Budget
from renderer.execute.journal import Journal, journal_path

CLIP_MAX = 150  # the clip's estimate (max) in credits; the mock charges 150 a job


def counted(tmp_path: Path) -> float:
    """What a budget counts for every submission the journal knows (as the next run loads it)."""
    campaign = tmp_path / "camp.yaml"
    journal = Journal(journal_path(tmp_path / ".renderer", campaign, "mock", tmp_path / "camp.manifest.json"))
    try:
        budget = Budget(limit=None)
        budget.load(journal.all())
        return budget.committed
    finally:
        journal.close()


def answer(status: int, message: str):
    def step(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"message": message})

    return step


# -- 1: a 429 after an attempt that may have been processed --------------------------------------


def test_429s_after_a_lost_answer_leave_it_unknown_and_counted(tmp_path: Path) -> None:
    mock = MockSamsar([raise_(httpx.ReadTimeout)] + [429] * 5)
    code, _, data = go(tmp_path, mock, keys=True)
    assert code == 1 and len(mock.posts) == 6 and len(set(keys_of(mock))) == 1
    clip = data["jobs"]["clip"]
    assert clip["status"] == "unknown" and "may have been processed" in clip["error"]
    assert data["jobs"]["translated"]["status"] == "not_submitted"
    assert counted(tmp_path) == CLIP_MAX


def test_429s_settling_a_lost_answer_of_an_earlier_run_leave_it_unknown(tmp_path: Path) -> None:
    first = MockSamsar([raise_(httpx.ReadTimeout)] * 6)
    go(tmp_path, first, keys=True)
    again = MockSamsar([429] * 6)
    code, _, data = go(tmp_path, again, keys=True)
    assert code == 1 and len(again.posts) == 6 and set(keys_of(again)) == set(keys_of(first))
    assert data["jobs"]["clip"]["status"] == "unknown"
    assert counted(tmp_path) == CLIP_MAX
