"""The hostile corpus: every file in corpus/ is refused with a located error, quickly.

Each file says what it tries and what the error must say, in its first lines::

    # Hostile campaign (tests/hardening, issue 6): billion laughs ...
    # expect: more than 500000 values
    # commands: validate          (optional; default: validate, then plan --json)

Both commands must exit 1 with every line ``FILE:LINE:COL: message``, within the
bound, without the last-resort handler, without network, without writing a file
(the corpus folder and the working directory are compared before and after), and
without a canary of the environment in any output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.hardening import CORPUS, expect_refusal, snapshot

FILES = sorted(CORPUS.glob("*.yaml"))


def header(path: Path) -> tuple[list[str], tuple[tuple[str, ...], ...]]:
    head = path.read_bytes()[:2000].decode("utf-8", "replace")
    expects = re.findall(r"^# expect: (.+)$", head, re.M)
    commands = re.findall(r"^# commands: (.+)$", head, re.M)
    chosen = tuple(tuple(c.split()) for c in commands[0].split(",")) if commands else (("validate",), ("plan", "--json"))
    return expects, chosen


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 100
    for path in FILES:
        expects, _ = header(path)
        assert expects, f"{path.name} says nothing about its error"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_hostile_file_is_refused(path: Path) -> None:
    expects, commands = header(path)
    before = snapshot(CORPUS)
    expect_refusal(path, *expects, commands=commands)
    assert snapshot(CORPUS) == before, "a hostile file made the renderer write beside it"
