"""`renderer run`'s command line reaches `commands/run.py` as one frozen ``RunRequest``, every flag in it."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest

from renderer.cli import main
from renderer.commands import run as run_module
from renderer.commands.common import Settings
from renderer.commands.run import RunRequest


def requested(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[RunRequest, dict[str, Any]]:
    """The request (and the keyword arguments) `renderer run ARGV` calls the command with."""
    seen: list[tuple[RunRequest, dict[str, Any]]] = []

    def fake(request: RunRequest, out: Any, env: Any, **kw: Any) -> int:
        seen.append((request, kw))
        return 0

    monkeypatch.setattr(run_module, "run", fake)
    err = io.StringIO()
    assert main(["run", *argv], out=io.StringIO(), err=err, env={}) == 0, err.getvalue()
    [call] = seen
    return call


def test_every_flag_is_a_field_of_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    request, kw = requested(
        monkeypatch, "camp.yaml", "--sandbox", "--manifest", "m.json", "--select", "a*", "--select", "b",
        "--detach", "--resubmit-unknown", "--rerun-cancelled", "--state-dir", "st", "--sandbox-credits", "7",
        "--job-timeout", "30m", "--run-timeout", "2h", "--plan", "p.json", "--max-credits", "12.5",
        "--outputs", "media", "--junit", "j.xml", "--max-instances", "9", "--moved-from", "old.yaml",
        "--approve", "teaser[n=1]", "--approve", "clip*", "--yes")
    assert request == RunRequest(
        "camp.yaml", settings=request.settings, manifest="m.json", select=("a*", "b"), sandbox=True, detach=True,
        resubmit_unknown=True, rerun_cancelled=True, state_dir="st", sandbox_credits=7, job_timeout=1800.0,
        run_timeout=7200.0, reviewed_plan="p.json", max_credits=12.5, outputs="media", junit="j.xml",
        moved_from="old.yaml", approve=("teaser[n=1]", "clip*"), yes=True)
    assert request.settings.plan.matrix.max_instances == 9
    defaults = RunRequest("other.yaml")
    assert [f.name for f in dataclasses.fields(RunRequest)
            if getattr(request, f.name) == getattr(defaults, f.name)] == []  # the flags above set every field
    assert list(kw) == ["warnings", "ask"]  # the rest is what tests inject, and the terminal's question


def test_without_flags_the_request_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    request, _ = requested(monkeypatch, "camp.yaml")
    assert request == RunRequest("camp.yaml", settings=Settings())
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.sandbox = True  # type: ignore[misc]
