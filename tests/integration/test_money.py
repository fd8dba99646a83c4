"""Money rules at the edges of a resend: a possibly processed submission keeps counting.

httpx.MockTransport answers every POST from a script; each test asserts the POSTs
the server saw, the credits the journal's submissions count for in a budget, and
the manifest's status.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from helpers.runs import journal_for
from helpers.mock_samsar import ENV, MockSamsar, go, keys_of, raise_

from renderer.execute.budget import Budget
from renderer.execute.sqlitestore import SqliteJournal

CLIP_MAX = 150  # the clip's estimate (max) in credits; the mock charges 150 a job


def counted(tmp_path: Path) -> float:
    """What a budget counts for every submission the journal knows (as the next run loads it)."""
    journal = journal_for(tmp_path / "camp.yaml", ENV)
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


# -- 2: a 4xx to a resend proves nothing was not processed ----------------------------------------


def test_422_to_a_resend_is_unknown_and_the_next_run_settles_with_the_same_key(tmp_path: Path) -> None:
    used = "Idempotency-Key was already used with a different request"
    mock = MockSamsar([raise_(httpx.ReadTimeout), answer(422, used)])
    code, _, data = go(tmp_path, mock, keys=True)
    assert code == 1 and len(mock.posts) == 2
    clip = data["jobs"]["clip"]
    assert clip["status"] == "unknown" and used in clip["error"]
    assert counted(tmp_path) == CLIP_MAX
    again = MockSamsar([])
    code, _, data = go(tmp_path, again, keys=True)
    assert code == 0 and keys_of(again)[0] == keys_of(mock)[0]  # the same key: the API answers once
    assert len(again.posts) == 2 and counted(tmp_path) == 300


def test_422_to_a_first_send_is_still_a_refusal(tmp_path: Path) -> None:
    mock = MockSamsar([answer(422, "duration must be 5 or 10")])
    code, _, data = go(tmp_path, mock, keys=True)
    assert code == 1 and len(mock.posts) == 1
    assert data["jobs"]["clip"]["status"] == "failed" and counted(tmp_path) == 0


def test_402_to_a_resend_is_unknown_and_stops_the_provider(tmp_path: Path) -> None:
    mock = MockSamsar([raise_(httpx.ReadTimeout), answer(402, "insufficient credits")])
    code, out, data = go(tmp_path, mock, keys=True)
    assert code == 1 and len(mock.posts) == 2
    assert data["jobs"]["clip"]["status"] == "unknown" and counted(tmp_path) == CLIP_MAX
    assert "402" in out


# -- 3: --resubmit-unknown sends a new submission beside the unknown one ---------------------------


def test_resubmit_unknown_keeps_the_unknown_hold_and_sends_a_new_key(tmp_path: Path) -> None:
    mock = MockSamsar([raise_(httpx.ReadTimeout)])
    go(tmp_path, mock)
    assert counted(tmp_path) == CLIP_MAX
    again = MockSamsar([])
    code, _, data = go(tmp_path, again, resubmit_unknown=True)
    assert code == 0 and len(again.posts) == 2
    assert keys_of(again)[0] != keys_of(mock)[0]  # a new submission: a new generation, a new key
    assert json.loads(again.posts[0].content) == json.loads(mock.posts[0].content)
    assert data["jobs"]["clip"]["status"] == "completed"
    assert counted(tmp_path) == CLIP_MAX + 150 + 150  # the unknown one may have been charged too


# -- 2: an adopted lost answer of an upload route: the body sent is not the plan's -----------------


def test_adopting_a_lost_upload_answer_does_not_take_the_pre_upload_body(tmp_path: Path) -> None:
    from renderer.campaign.campaign import load_campaign
    from renderer.execute import records as J
    from renderer.execute.adoption import adopt_from_manifest
    from renderer.manifest import Manifest
    from renderer.plan.planner import build_plan

    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "ec.yaml"
    path.write_text("version: 1\nname: ec\njobs:\n  fix:\n    endpoint: enhancecraft/jobs\n"
                    "    input: {input_file: photo.png, operations: [{type: convert, params: {output_format: png}}]}\n")
    plan, _ = build_plan(load_campaign(str(path)))
    fix = plan.instances[0]
    sent = {"input_key": "uploads/abc", "operations": fix.body["operations"]}
    entries = {"fix-lost": {"status": "unknown", "input_sha256": fix.input_sha256, "request": fix.body},
               "fix-recorded": {"status": "unknown", "input_sha256": fix.input_sha256, "request": fix.body,
                                "request_body": sent}}
    for name, entry in entries.items():
        prior = Manifest.from_json({"campaign": "ec", "jobs": {fix.id: entry}})
        journal = SqliteJournal(tmp_path / f"{name}.sqlite")
        try:
            assert adopt_from_manifest(plan, journal, prior).adopted == (fix.id,)
            (row,) = journal.all()
        finally:
            journal.close()
        assert row.state == J.UNKNOWN
        assert row.body == (None if name == "fix-lost" else sent)  # None: settled by proof, never re-sent blind


# -- 4: cancel stores and prints no key, and only the fields the provider's docs give ---------------

OTHER = "ec_live_CANARY_OTHER_PROVIDER_1234"  # another provider's key, echoed by a hostile API
TWO_CLIPS = """
version: 1
name: mock
jobs:
  a:
    endpoint: samsar/video/text_to_video
    input: {prompt: A, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  b:
    endpoint: samsar/video/text_to_video
    input: {prompt: B, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
"""


def test_cancel_scrubs_every_key_of_the_environment_and_keeps_only_documented_fields(tmp_path: Path) -> None:
    import io

    from helpers.mock_samsar import ENV

    from helpers.runs import FAST, args_for, write_campaign
    from renderer.commands.cancel import cancel
    from helpers.runs import run
    from renderer.execute import records as J

    env = {**ENV, "ENHANCECRAFT_API_KEY": OTHER}
    path = write_campaign(tmp_path, TWO_CLIPS)
    submit = MockSamsar([])
    assert run(**args_for(path, detach=True), out=io.StringIO(), env=env, exec_settings=FAST,
               transports={"samsar": httpx.MockTransport(submit)}) == 0  # detached: submitted
    posts: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        if len(posts) == 1:
            return httpx.Response(200, json={"status": "CANCELLED", "message": f"cancelled for {OTHER}",
                                             "debug_token": OTHER})
        return httpx.Response(400, json={"message": f"cannot cancel: key {OTHER} lacks scope"})

    out = io.StringIO()
    assert cancel(**args_for(path), out=out, env=env, transport=httpx.MockTransport(api)) == 1
    assert len(posts) == 2 and OTHER not in out.getvalue() and "cannot cancel" in out.getvalue()
    journal = journal_for(path, env)
    try:
        rows = journal.all()
        stored = json.dumps([(s.response, s.error) for s in rows]) + json.dumps(journal.events(500))
    finally:
        journal.close()
    (cancelled,) = [s for s in rows if s.state == J.CANCELLED]
    assert set(cancelled.response) == {"status", "message"}  # not debug_token: the docs do not give it
    assert OTHER not in stored and OTHER not in path.with_name("camp.manifest.json").read_text("utf-8")
