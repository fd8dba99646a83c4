"""`renderer run` against the naive script, each in its own process, against `renderer sandbox` in a third.

    python bench/bench_run.py               # 1,000, 20,000 and 100,000 jobs (the renderer's runs stop at --max-seconds)
    python bench/bench_run.py --quick       # 10 and 30 jobs, one pair, 0.05 s polling: a smoke run

For every size and every run, a fresh `renderer sandbox --render-seconds 0` is
started in a process of its own, and then the client: either `renderer run` of a
campaign of N samsar/image/enhance jobs, or ``naive_executor.py`` (an asyncio +
httpx script: each job POSTed, then its status read until finished, at most 8
requests in flight: the renderer's default concurrency). Both poll at the same
interval (--interval; the renderer's first poll, batch reads and longest interval
are set to it) and send the same bodies. Runs are interleaved (renderer, naive,
renderer, naive...); medians are shown.

Shown for each side: the client's wall time, its CPU (user + system) and peak RSS
(its own, from os.wait4), and the requests per job the sandbox counted. The
growth exponent (log-log slope between sizes) tells a linear client (1.0) from a
quadratic one (2.0). A run past --max-seconds is stopped and shown as such.

Targets (issue 28, for the later step that makes run linear): at 100,000 jobs
wall <= 1.0x the naive script's, CPU per job at 100,000 within 1.2x of CPU per job
at 1,000, peak RSS <= 1.5x the naive script's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import PYTHON, ROOT, Sample, TimedOut, growth, interleaved, median, measure, renderer_argv, table

KEY = "bench-key"
PER_AXIS = 100  # the campaign's matrix is a x b, b = 0..99: a short file even for 100,000 jobs


def campaign(folder: Path, n: int) -> Path:
    """``n`` image/enhance jobs (a multiple of PER_AXIS above it); job i is a = i // 100, b = i % 100."""
    a, b = (max(1, n // PER_AXIS), PER_AXIS) if n >= PER_AXIS else (1, n)
    path = folder / "bench.yaml"
    path.write_text(
        "version: 1\nname: bench\njobs:\n  still:\n    endpoint: samsar/image/enhance\n"
        f"    matrix:\n      a: {list(range(a))}\n      b: {list(range(b))}\n"
        "    input:\n      image_url: \"https://cdn.example.com/{{ matrix.a }}/{{ matrix.b }}.png\"\n"
        "      resolution: 2k\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def sandbox() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fresh `renderer sandbox` process: (its Samsar base URL, the process). Stopped with SIGINT."""
    argv = renderer_argv("sandbox", "--port", "0", "--render-seconds", "0", "--credits", str(10**12), "--api-key", KEY)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # "renderer sandbox: SAMSAR_BASE_URL=http://127.0.0.1:PORT/v1 ..."
        if "SAMSAR_BASE_URL=" not in line:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        yield line.split("SAMSAR_BASE_URL=", 1)[1].split()[0], proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def requests_seen(base_url: str) -> int:
    """Every API request the sandbox answered (its control routes are not counted)."""
    root = base_url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/_sandbox/state", timeout=30) as answer:  # noqa: S310 - loopback
        return int(json.load(answer)["requests_total"])


def run_side(side: str, n: int, interval: float, timeout: float) -> Sample:
    with tempfile.TemporaryDirectory() as tmp, sandbox() as (base_url, _):
        if side == "renderer":
            path = campaign(Path(tmp), n)
            poll = {"initial": interval, "list_interval": interval, "max_interval": interval}
            env = {**os.environ, "SAMSAR_API_KEY": KEY, "SAMSAR_BASE_URL": base_url,
                   "RENDERER_EXEC_SETTINGS": json.dumps({"poll": poll})}
            argv = renderer_argv("run", str(path), "--state-dir", str(Path(tmp) / ".renderer"),
                                 "--max-instances", str(max(n, 1)))
        else:
            env = dict(os.environ)
            argv = [PYTHON, str(ROOT / "bench" / "naive_executor.py"), base_url, str(n), "--concurrency", "8",
                    "--interval", str(interval), "--key", KEY, "--per-axis", str(PER_AXIS)]
        try:
            sample = measure(argv, stdout=Path(tmp) / "out.txt", env=env, timeout=timeout)
        except TimedOut as stopped:
            seen, used = requests_seen(base_url), stopped.sample
            print(f"{side} at {n:,} jobs: stopped after {used.wall:.0f} s (--max-seconds), having used {used.cpu:.1f} s "
                  f"CPU and {used.rss:.0f} MiB; the sandbox had answered {seen:,} requests", flush=True)
            return Sample(math.inf, math.inf, math.nan, {"requests/job": math.nan})
        return Sample(sample.wall, sample.cpu, sample.rss, {"requests/job": requests_seen(base_url) / n})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 20_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="interleaved pairs per size; medians are shown")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between status reads, both sides")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="a run past this is stopped and shown as inf")
    ap.add_argument("--quick", action="store_true", help="10 and 30 jobs, one pair, 0.05 s polling")
    args = ap.parse_args(argv)
    sizes, repeat = ([10, 30], 1) if args.quick else (args.sizes, args.repeat)
    if args.quick:
        args.interval = 0.05
    results: dict[int, dict[str, Sample]] = {}
    for n in sizes:
        sides = {side: lambda side=side, n=n: run_side(side, n, args.interval, args.max_seconds)
                 for side in ("renderer", "naive")}
        results[n] = {name: median(samples) for name, samples in interleaved(sides, repeat).items()}
    print(table(f"renderer run vs the naive script (8 requests in flight, {args.interval:g} s polling), each in its own "
                f"process against `renderer sandbox` in another; median of {repeat} interleaved pair(s)", sizes, results,
                targets={"wall": "<= 1.0x at 100,000", "rss": "<= 1.5x"},
                extras=[("requests per job", "requests/job", "{:.2f}")]))
    for side in ("renderer", "naive"):
        per_job = [results[n][side].cpu / n * 1e3 for n in sizes]
        slopes = " ".join(f"{g:.2f}" for g in growth(sizes, [results[n][side].cpu for n in sizes]))
        print(f"{side} CPU per job (ms): " + ", ".join(f"{n:,}: {c:.2f}" for n, c in zip(sizes, per_job))
              + (f"; largest / smallest size {per_job[-1] / per_job[0]:.2f}x (target <= 1.2x)" if len(sizes) > 1 else "")
              + (f"; growth {slopes}" if slopes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
