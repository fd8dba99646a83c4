"""Helpers shared by the executor tests: a fast real sandbox on loopback, campaign files, `run`.

Nothing here sleeps to wait for timing: renders take ~0.2 s in the sandbox and the
executor's poll intervals are configured down to tens of milliseconds.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator, TextIO

import pytest

from renderer.commands.run import RunRequest
from renderer.commands.run import run as run_command
from renderer.execute.settings import ExecSettings, PollSettings, RetrySettings
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.faults import FaultSettings
from renderer.sandbox.server import running_sandbox_sync

CANARY = "sk_live_CANARY_7f3a9c1e5b2d4f60"  # a key no output may ever show
RENDER = 0.2

FAST = ExecSettings(
    retry=RetrySettings(max_attempts=6, base_delay=0.01, max_delay=0.05, max_elapsed=10.0),
    poll=PollSettings(initial=0.05, factor=1.5, max_interval=0.2, list_interval=0.05),
    reconcile_delay=0.0,
    progress_interval=0.5,
    sandbox_render_seconds=RENDER,
    seed=7,
)
FAST_JSON = json.dumps({
    "retry": {"max_attempts": 6, "base_delay": 0.01, "max_delay": 0.05, "max_elapsed": 10.0},
    "poll": {"initial": 0.05, "max_interval": 0.2, "list_interval": 0.05},
    "reconcile_delay": 0.0, "sandbox_render_seconds": RENDER, "seed": 7,
})


@pytest.fixture
def sandbox() -> Iterator[Any]:
    with running_sandbox_sync(SandboxConfig(render_seconds=RENDER, credits=10**7)) as sb:
        yield sb


def make_sandbox(port: int = 0, **kw: Any):
    """A sandbox on loopback (``port``: a given one, e.g. the port of an earlier one: the same target)."""
    kw.setdefault("render_seconds", RENDER)
    kw.setdefault("credits", 10**7)
    if "faults" in kw and isinstance(kw["faults"], dict):
        kw["faults"] = FaultSettings(**kw["faults"])
    return running_sandbox_sync(SandboxConfig(**kw), port=port)


def env_for(sb: Any, key: str = CANARY) -> dict[str, str]:
    return {
        "SAMSAR_API_KEY": key,
        "SAMSAR_BASE_URL": sb.base_urls["samsar"],
        "ENHANCECRAFT_API_KEY": key,
        "ENHANCECRAFT_BASE_URL": sb.base_urls["enhancecraft"],
    }


# A sandbox served on its own (not `run --sandbox`) is on this machine: `--outputs` fetches its
# result files only because the environment allows the host, as a team allows a trusted internal one.
FILES_ALLOWED = {"RENDERER_DOWNLOAD_ALLOW_HOSTS": "127.0.0.1"}


def write_campaign(folder: Path, text: str, name: str = "camp.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


REQUEST_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRequest))


def run(file: str, out: TextIO, env: Mapping[str, str], **kw: Any) -> int:
    """`renderer run` called as the CLI calls it: the keyword arguments that are ``RunRequest``
    fields make the request, the rest (``exec_settings``, ``transports``, ``sandbox_config``,
    ``warnings``) are what a test injects."""
    request = RunRequest(file, **{k: v for k, v in kw.items() if k in REQUEST_FIELDS})
    return run_command(request, out, env, **{k: v for k, v in kw.items() if k not in REQUEST_FIELDS})


def args_for(path: Path, **kw: Any) -> dict[str, Any]:
    """Keyword arguments of run/status/cancel for a campaign file, its state beside it."""
    return {"file": str(path), "state_dir": str(path.parent / ".renderer"), **kw}


@pytest.fixture
def runner():
    """run(path, env, **args) -> (exit code, output, manifest dict)."""

    def go(path: Path, env: dict[str, str], settings: ExecSettings = FAST, **kw: Any) -> tuple[int, str, dict]:
        out = io.StringIO()
        code = run(**args_for(path, **kw), out=out, env=env, exec_settings=settings)
        manifest_path = Path(kw["manifest"]) if kw.get("manifest") else manifest_of(path, kw.get("sandbox", False))
        data = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {}
        return code, out.getvalue(), data

    return go


def manifest_of(path: Path, sandbox: bool = False) -> Path:
    """The manifest a run of the campaign writes: the real one, or a rehearsal's own."""
    return path.with_name(path.stem + (".sandbox" if sandbox else "") + ".manifest.json")


def journal_for(path: Path, env: dict[str, str], sandbox: bool = False, new: bool = False):
    """The journal a run of the campaign with this environment (or a rehearsal) keeps beside it,
    found as `renderer status` finds it (``new``: made now, before any run, where the run keeps it)."""
    from renderer import targets as T
    from renderer.campaign.campaign import load_campaign
    from renderer.execute.stores import find_earlier_store
    from renderer.execute.identity import journal_path
    from renderer.execute.sqlitestore import SqliteJournal

    if new:
        campaign = load_campaign(str(path))
        key = T.key(T.for_campaign(campaign, env, sandbox))
        return SqliteJournal(journal_path(path.parent / ".renderer", path, campaign.name, manifest_of(path, sandbox), key))
    found = find_earlier_store(str(path), str(path.parent / ".renderer"), env, sandbox)
    assert found is not None, f"no journal for {path}"
    return found


def counters(sb: Any) -> dict[str, Any]:
    return sb.state.counters.snapshot()


def start_run(path: Path, sb: Any):
    """`renderer run` of ``path`` as a process of its own (to be killed), against ``sb``."""
    import os
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env_for(sb),
           "RENDERER_EXEC_SETTINGS": FAST_JSON}
    return subprocess.Popen([sys.executable, "-m", "renderer.cli", "run", path.name], cwd=path.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def until(condition: Any, seconds: float = 30.0) -> bool:
    """Wait for ``condition()`` (the sandbox's counts, a file), with a deadline; whether it came."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True
