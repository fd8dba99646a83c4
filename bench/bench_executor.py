"""Benchmark: `renderer run` against a naive asyncio + httpx script, same sandbox, same jobs.

1,000 ``samsar/image/enhance`` jobs, 2 s render time, in-process sandbox on loopback.
Prints wall time and status reads per job (per-id ``/image/status`` reads, and all
reads including ``/image/list``) side by side. Targets: wall time within 1.2x of the
naive script, at most 0.2 status reads per job.

    python bench/bench_executor.py [--jobs 1000] [--render-seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from naive_executor import naive  # noqa: E402

from renderer.commands.run import RunRequest, run  # noqa: E402
from renderer.sandbox.config import SandboxConfig  # noqa: E402
from renderer.sandbox.server import running_sandbox_sync  # noqa: E402


def reads(state) -> dict[str, int]:
    snap = state.counters.snapshot()
    per_id = snap["status_reads_total"]
    lists = sum(v for k, v in snap["requests"].items() if k.startswith("GET") and "list" in k)
    return {"per_id": per_id, "all": per_id + lists, "accepted": snap["accepted_total"], "duplicates": snap["duplicates_total"]}


def campaign(folder: Path, n: int) -> Path:
    path = folder / "bench.yaml"
    path.write_text(
        "version: 1\nname: bench\njobs:\n  still:\n    endpoint: samsar/image/enhance\n"
        f"    matrix:\n      i: [{', '.join(str(i) for i in range(n))}]\n"
        "    input:\n      image_url: \"https://cdn.example.com/{{ matrix.i }}.png\"\n      resolution: 2k\n",
        encoding="utf-8",
    )
    return path


def bench_renderer(n: int, render: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, running_sandbox_sync(SandboxConfig(render_seconds=render, credits=10**9)) as sb:
        folder = Path(tmp)
        path = campaign(folder, n)
        env = {"SAMSAR_API_KEY": "bench-key", "SAMSAR_BASE_URL": sb.base_urls["samsar"]}
        out = io.StringIO()
        started = time.perf_counter()
        code = run(RunRequest(str(path), state_dir=str(folder / ".renderer")), out, env)
        wall = time.perf_counter() - started
        return {"wall": wall, "exit": code, **reads(sb.state)}


def bench_naive(n: int, render: float, limit: int | None = None) -> dict[str, float]:
    with running_sandbox_sync(SandboxConfig(render_seconds=render, credits=10**9)) as sb:
        result = asyncio.run(naive(sb.base_urls["samsar"], n, limit=limit))
        return {**result, **reads(sb.state)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--render-seconds", type=float, default=2.0)
    p.add_argument("--naive-limit", type=int, default=None,
                   help="also bound the naive script's concurrent requests (a stronger baseline)")
    a = p.parse_args()
    base = bench_naive(a.jobs, a.render_seconds, a.naive_limit)
    ours = bench_renderer(a.jobs, a.render_seconds)
    n = a.jobs
    limit = f", naive limited to {a.naive_limit} concurrent requests" if a.naive_limit else ""
    print(f"{a.jobs} image jobs, {a.render_seconds:g} s render, in-process sandbox{limit}")
    print(f"{'':28}{'naive':>12}{'renderer run':>16}")
    print(f"{'wall time (s)':28}{base['wall']:>12.2f}{ours['wall']:>16.2f}")
    print(f"{'status reads per job':28}{base['per_id'] / n:>12.3f}{ours['per_id'] / n:>16.3f}")
    print(f"{'  incl. list reads':28}{base['all'] / n:>12.3f}{ours['all'] / n:>16.3f}")
    print(f"{'accepted / duplicates':28}{base['accepted']:>8}/{base['duplicates']:<3}{ours['accepted']:>12}/{ours['duplicates']:<3}")
    ratio = ours["wall"] / base["wall"]
    print(f"wall time ratio: {ratio:.2f}x (target <= 1.2x); reads/job {ours['all'] / n:.3f} (target <= 0.2)")
    return 0 if ratio <= 1.2 and ours["all"] / n <= 0.2 and ours.get("exit") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
