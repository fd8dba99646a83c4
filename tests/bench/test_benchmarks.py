"""Every benchmark in bench/ runs, in its --quick mode, as the README says to run it: none of them can rot.

Quick runs are too small and too short to judge the targets (the figures on a
busy machine are noise); what is checked is that each command runs to the end,
prints its table, and that the baselines still do the work they claim: the plan
floor's output is byte-identical to `renderer plan --json` (bench_plan checks it
with cmp and fails otherwise), the naive runner completes every job.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import pgserver

BENCH = Path(__file__).resolve().parents[2] / "bench"


def quick(name: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / name), "--quick"], capture_output=True, text=True,
                          cwd=BENCH.parent, timeout=300)
    assert proc.returncode == 0, f"{name} --quick exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("name,lines", [
    ("bench_plan.py", ["renderer plan --json vs the floor", "2,000 wall (s)", "peak RSS (MiB)", "growth exponent",
                       "renderer per instance"]),
    ("bench_validate.py", ["renderer validate vs the validate-only floor", "2,000 wall (s)", "growth exponent"]),
    ("bench_chained.py", ["renderer validate: chained vs a flat campaign", "renderer plan --json: chained"]),
    ("bench_run.py", ["renderer run vs the naive script", "requests per job", "renderer CPU per job (ms)",
                      "naive CPU per job (ms)"]),
    ("bench_sandbox.py", ["sandbox / baseline"]),
    ("bench_ratelimit.py", ["share of the allowed rate"]),
    ("bench_store.py", ["the shared PostgreSQL store vs the SQLite journal", "transactions/job", "events per job"]),
])
def test_benchmark_runs_in_quick_mode(name: str, lines: list[str]) -> None:
    if name == "bench_store.py" and pgserver.pg_bin() is None:
        pytest.skip(pgserver.INSTALL)
    out = quick(name)
    for line in lines:
        assert line in out, f"{name} --quick printed no {line!r}:\n{out}"


def test_the_plan_floor_writes_what_the_renderer_writes(tmp_path: Path) -> None:
    """The floor is a fair baseline only while its output is the renderer's, byte for byte."""
    path = tmp_path / "c.yaml"
    # bench/ is scripts, not a package: its campaign is written by a child started in bench/ (no sys.path edits)
    subprocess.run([sys.executable, "-c", "import sys, bench_plan; open(sys.argv[1], 'w', encoding='utf-8')"
                    ".write(bench_plan.campaign_text(30))", str(path)], cwd=BENCH, timeout=120, check=True)
    mine = subprocess.run([sys.executable, "-m", "renderer.cli", "plan", str(path), "--json"], capture_output=True,
                          timeout=120, check=True).stdout
    floor = subprocess.run([sys.executable, str(BENCH / "floor.py"), "plan", str(path)], capture_output=True,
                           timeout=120, check=True).stdout
    assert mine == floor and mine.count(b'"input_sha256"') == 30
    checked = subprocess.run([sys.executable, str(BENCH / "floor.py"), "validate", str(path)], capture_output=True,
                             text=True, timeout=120, check=True).stdout
    assert checked == "1 file(s) valid (30 instances)\n"
