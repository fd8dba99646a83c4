"""Ask before paying: `renderer run` on a terminal shows what it sends and asks; --yes, CI and --sandbox do not.

The terminal is a real pseudo-terminal (``pty``) around a real `renderer run` process; the
paid API is the sandbox served on loopback (a target like any base URL), whose counters
say what was sent.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from helpers.runs import FAST_JSON, counters, env_for, make_sandbox, manifest_of, write_campaign

from renderer.execute.account import AccountGate
from renderer.execute.spending import ask_before_paying, is_yes, preview
from renderer.errors import Declined
from renderer.money import BudgetCheck

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

STILLS = """version: 1
name: stills
budget:
  max_credits: 500
providers:
  samsar: {idempotent_keys: true}
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix:
      i: [0, 1, 2]
    input:
      image_url: "https://cdn.example.com/{{ matrix.i }}.png"
      resolution: 2k
"""
QUESTION_END = b"[y/N]: "


def _env(sb: Any) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env_for(sb),
            "RENDERER_EXEC_SETTINGS": FAST_JSON, "TERM": "dumb"}


def _in_terminal(path: Path, sb: Any, answer: bytes | None, *flags: str) -> tuple[int, str]:
    """`renderer run` with a pseudo-terminal as its stdin and stdout; ``answer`` typed once the
    question shows (None: no question expected). Returns the exit code and all it wrote."""
    main, side = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "renderer.cli", "run", path.name, *flags], cwd=path.parent,
                            env=_env(sb), stdin=side, stdout=side, stderr=side, close_fds=True)
    os.close(side)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)  # waits for output, not for time to pass
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the other side closed: the process ended
                    break
                if not chunk:
                    break
                seen += chunk
            if answer is not None and not answered and QUESTION_END in seen:
                os.write(main, answer)
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=60)
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    return code, seen.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def paid(tmp_path: Path):
    with make_sandbox() as sb:
        yield write_campaign(tmp_path, STILLS), sb


def test_a_refusal_sends_nothing_and_exits_1(paid) -> None:
    path, sb = paid
    code, text = _in_terminal(path, sb, b"n\n")
    assert code == 1
    assert "This run sends 3 job(s) to http://127.0.0.1:" in text
    assert "they may cost 150 credits." in text
    assert "Budget: 500 credits; earlier runs spent 0; 500 left, 350 after this run at most." in text
    assert "error: not run: the answer was not yes, and nothing was sent" in text
    assert counters(sb)["requests_total"] == 0
    assert not manifest_of(path).exists()


def test_yes_sends_what_it_showed(paid) -> None:
    path, sb = paid
    code, text = _in_terminal(path, sb, b"y\n")
    assert code == 0, text
    assert text.count("Send them?") == 1
    assert counters(sb)["accepted_total"] == 3
    assert manifest_of(path).exists()


def test_flag_yes_asks_nothing(paid) -> None:
    path, sb = paid
    code, text = _in_terminal(path, sb, None, "--yes")
    assert code == 0, text
    assert "Send them?" not in text
    assert counters(sb)["accepted_total"] == 3


def test_without_a_terminal_it_runs_as_before(paid) -> None:
    """CI: stdin and stdout are not a terminal; the reviewed plan is the gate."""
    path, sb = paid
    done = subprocess.run([sys.executable, "-m", "renderer.cli", "run", path.name], cwd=path.parent, env=_env(sb),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Send them?" not in done.stdout + done.stderr
    assert counters(sb)["accepted_total"] == 3


def _check(**kw: Any) -> BudgetCheck:
    base: dict[str, Any] = dict(credits=None, known_credits=None, unknown=(), budget=1000, over_budget=False,
                                spent=250, new_max=300, unpriced=(), factors={}, new_min=100, to_send=4, continuing={})
    return BudgetCheck(**{**base, **kw})


def test_the_preview_says_jobs_range_and_budget_left() -> None:
    text = preview(_check(), {"samsar": "https://api.samsar.one/v1"})
    assert text.splitlines() == [
        "This run sends 4 job(s) to https://api.samsar.one/v1, a paid API: they may cost 100-300 credits.",
        "Budget: 1,000 credits; earlier runs spent 250; 750 left, 450 after this run at most.",
        "Send them? Only 'y' or 'yes' sends [y/N]: ",
    ]
    assert "none set" in preview(_check(budget=None), {"samsar": "https://x"})


def test_no_question_for_a_rehearsal_or_nothing_to_send() -> None:
    asked: list[str] = []

    def ask(q: str) -> bool:
        asked.append(q)
        return False

    ask_before_paying(ask, _check(), {"samsar": "sandbox"}, sandbox=True)
    ask_before_paying(ask, _check(to_send=0), {"samsar": "https://x"}, sandbox=False)
    ask_before_paying(None, _check(), {"samsar": "https://x"}, sandbox=False)
    full = SimpleNamespace(closed="over budget: ... account team has 0 of its 100 left")  # sends nothing new
    ask_before_paying(ask, _check(), {"samsar": "https://x"}, sandbox=False, account=cast(AccountGate, full))
    assert asked == []
    with pytest.raises(Declined):
        ask_before_paying(ask, _check(), {"samsar": "https://x"}, sandbox=False)
    assert len(asked) == 1
    assert [is_yes(a) for a in ("y\n", " YES ", "", "n", "yess", "ja")] == [True, True, False, False, False, False]
