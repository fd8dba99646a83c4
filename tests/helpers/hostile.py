"""Helpers of the hostile-API tests: a campaign, settings, and the canary search.

Every hostile test runs `renderer run` against the sandbox's hostile mode over
loopback and then proves the three things issue 14 asks for: no internal error,
every job in a final state, and the canary key nowhere (no file under the test's
folder, journal and its -wal included, and no output), not even in part.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from helpers.runs import CANARY, FAST

from renderer.execute.settings import ExecSettings, Timeouts
from renderer.manifest import STATUSES as FINAL_STATUSES

IMAGES = """
version: 1
name: hostile
providers:
  samsar: {{concurrency: {concurrency}}}
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix:
      n: {ns}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.n }}}}.png"
      resolution: 2k
"""

ENHANCE = """
version: 1
name: hostile-ec
providers:
  enhancecraft: {{concurrency: 8, tier: enterprise}}
jobs:
  photo:
    endpoint: enhancecraft/jobs
    matrix:
      n: {ns}
    input:
      input_key: "uploads/mine/{{{{ matrix.n }}}}.png"
      operations: [{{type: enhance, params: {{scale: 2}}}}]
"""


def images(n: int = 4, concurrency: int = 2) -> str:
    return IMAGES.format(ns=list(range(1, n + 1)), concurrency=concurrency)


def enhance(n: int = 6) -> str:
    return ENHANCE.format(ns=list(range(1, n + 1)))


def settings(total: float = 2.0, max_body: int = 64 * 1024, **kw: Any) -> ExecSettings:
    timeouts = Timeouts(connect=2.0, read=2.0, write=2.0, pool=5.0, total=total, max_body_bytes=max_body)
    return dataclasses.replace(FAST, timeouts=timeouts, **kw)


def with_job_timeout(xs: ExecSettings, seconds: float) -> ExecSettings:
    return dataclasses.replace(xs, poll=dataclasses.replace(xs.poll, job_timeout=seconds))


def _pieces(secret: str, size: int = 8) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


def assert_clean(root: Path, *outputs: str) -> None:
    """The canary (or any 8 characters of it) in no file below ``root`` and no output."""
    pieces = _pieces(CANARY)
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            leaked = [p for p in pieces if p in data]
            assert not leaked, f"{path.name} holds part of the key: {leaked[:3]}"
    for text in outputs:
        leaked = [p for p in pieces if p in text]
        assert not leaked, f"output holds part of the key: {leaked[:3]}"
    assert "Traceback" not in "".join(outputs) and "internal error" not in "".join(outputs)


def assert_final(data: dict[str, Any]) -> None:
    assert data["jobs"], "no manifest"
    for iid, entry in data["jobs"].items():
        assert entry["status"] in FINAL_STATUSES, (iid, entry["status"])


def strict_manifest(path: Path) -> dict[str, Any]:
    """The manifest read as strict JSON: NaN or Infinity in it fails."""
    def refuse(name: str) -> Any:
        raise AssertionError(f"the manifest holds {name}: not JSON")

    return json.loads(path.read_text("utf-8"), parse_constant=refuse)
