"""The official client drives the sandbox through every call of its README that is media work, status,
a list or credits (issue 27): ``samsar_js_drive.mjs`` makes each call with the README's own sample
arguments, in dependency order, and records the HTTP method, path, status and whether the raw answer
has the shape the client's ``dist/index.d.ts`` and README read. Every one must answer 2xx in shape.

In scope: 58 calls of 47 methods (the shared README's media, status, list and credits calls, and the
two free receipt-template calls a query needs); the usage-billed assistant completions and
embeddings are not media work. ``DRIVE_EXTRAS`` adds 4 calls the issue names that the README does not
show (getCreditsBalance, createExternalVideoFromImageList, addExternalVideoOutroImage, and the README's
replaceBrandingFromImage, which samsar-js 0.48.48 lacks, through its low-level post()): 62 of 51.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from renderer.sandbox import ManualClock, SandboxConfig, running_sandbox_sync
from helpers.sandbox_requests import samsar_js

pytestmark = pytest.mark.node
DRIVE = Path(__file__).with_name("samsar_js_drive.mjs")
IN_SCOPE = (58, 47)  # calls, methods
WITH_EXTRAS = (62, 51)


def test_samsar_js_drives_every_in_scope_call_to_a_2xx_in_shape(tmp_path: Path) -> None:
    module = samsar_js()
    out = tmp_path / "drive.json"
    with running_sandbox_sync(SandboxConfig(api_key="k", render_seconds=2, clock=ManualClock())) as sb:
        env = {**os.environ, "SAMSAR_JS": module.as_uri(), "SAMSAR_BASE_URL": sb.base_urls["samsar"],
               "SAMSAR_API_KEY": "k", "DRIVE_OUT": str(out), "DRIVE_EXTRAS": "1"}
        run = subprocess.run(["node", str(DRIVE)], capture_output=True, text=True, timeout=120, env=env)
        accepted = dict(sb.state.counters.accepted)
    results = json.loads(out.read_text())["results"]
    bad = [f"{r['status']} {r['label']}: {r['http']} {r['path']} {r['problems'] or r['error']}" for r in results
           if not (r["status"] and 200 <= r["status"] < 300 and r["shape_ok"])]
    assert not bad, "\n".join(bad)
    assert run.returncode == 0, run.stderr

    in_scope = [r for r in results if "(extra" not in r["label"]]
    assert (len(in_scope), len({r["method"] for r in in_scope})) == IN_SCOPE
    assert (len(results), len({r["method"] for r in results})) == WITH_EXTRAS
    by_scope = Counter(r["scope"] for r in in_scope)
    assert by_scope == {"media": 42, "status": 7, "list": 4, "credits": 3, "template-free": 2}
    paths = {f"{r['http']} {r['path'].split('?')[0]}" for r in results}
    for call in ("POST /v2/video/step/text_to_video", "GET /v2/requests", "POST /v1/image/receipt_templates/query",
                 "POST /v1/image/assign_title", "POST /v2/image/assign_title", "POST /v1/image/replace_branding",
                 "GET /v2/status_detailed", "GET /v1/external_users/requests", "GET /v2/user/credits"):
        assert call in paths, call
    # the step render the README stops with stepMode two_step was let through once
    step = next(r for r in results if r["method"] == "getV2StepVideoStatus")
    assert step["answer"]["waiting_for_process_next"] is True and step["answer"]["next_step"] == "ai_video_generation"
    assert accepted["samsar/v2/video/step/process_next"] == 1
    assert accepted["samsar/v2/video/step/text_to_video"] == 3 and accepted["samsar/v2/video/step/image_to_video"] == 2
    # the receipt query ran against the template the README's createReceiptTemplate made
    query = next(r for r in results if r["method"] == "queryReceiptTemplate")
    template = next(r for r in results if r["method"] == "createReceiptTemplate")
    assert query["answer"]["template_id"] == template["answer"]["template_id"]
