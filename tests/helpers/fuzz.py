"""Helpers of the property-based fuzzing of the loader and the planner (issue 6).

The normal suite runs a bounded budget (all fuzz files well under 30 s). For a
longer hunt::

    RENDERER_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz -q

The settings are a decorator of these tests only (``FUZZ``), not a global
hypothesis profile, so other suites keep their own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from renderer.errors import Invalid, UserError
from renderer.plan.planner import PlanLimits, build_plan
from renderer.plan.templates import TemplateLimits
from renderer.campaign.campaign import load_campaign
from renderer.campaign.yamlfile import Limits

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("RENDERER_FUZZ_EXAMPLES", "0") or 0)

FUZZ = settings(
    max_examples=EXAMPLES or 60,
    deadline=timedelta(seconds=2),  # per example: a hostile file is refused fast, or it is a bug
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,  # no .hypothesis/ folder written into the repository
    derandomize=not EXAMPLES,  # the bounded run is the same every time; a long hunt explores
)

# Bounds for fuzzing: tight enough that one example stays far inside the deadline
LIMITS = PlanLimits(templates=TemplateLimits(max_seconds=0.3, max_total_seconds=1.0))
YAML_LIMITS = Limits()

# A private copy of campaigns/ (data files and assets included): mutants are written beside them
WORK = Path(tempfile.mkdtemp(prefix="renderer-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
shutil.copytree(REPO / "campaigns", WORK / "campaigns")
SEEDS = sorted((WORK / "campaigns").glob("*.yaml"))


def outcome(path: Path) -> Any:
    """Load and plan ``path``: a Plan, or Invalid whose every error is located in ``path``.

    Any other exception escapes and fails the example; so does a slow one (the deadline).
    """
    started = time.process_time()
    try:
        campaign = load_campaign(path, YAML_LIMITS)
        plan, _ = build_plan(campaign, limits=LIMITS)
    except Invalid as exc:
        assert exc.errors, "an Invalid with no errors"
        for e in exc.errors:
            assert isinstance(e, UserError)
            assert e.location.file == str(path), e
            assert e.location.line >= 1 and e.location.col >= 1, f"not located: {e}"
            assert e.message and "\n" not in str(e).split(": ", 1)[0]
        return exc
    assert time.process_time() - started < 3.0
    return plan


def write(name: str, content: str | bytes) -> Path:
    path = WORK / "campaigns" / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path
