"""A chained campaign against a flat one of about the same size: `validate` and `plan --json`.

Chained: N/2 image enhancements, N/2 videos each made of its upstream image (a
pending value until the run), and N/200 joins of 100 videos each: N + N/200
instances. Flat: N image enhancements. Pending values are checked by their
declared shape once per job, so a chained plan should cost about what a flat one
does. Whole processes, output captured to a pipe; best of --repeat runs.

    python bench/bench_chained.py [--instances 20000] [--repeat 3]

Target (issue 15): chained at most 1.5x the flat plan's time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_CITY = 100


def chained(instances: int) -> str:
    cities = max(1, instances // 2 // PER_CITY)
    return f"""\
version: 1
name: chained
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: {[f"c{i}" for i in range(cities)]}
      shot: {list(range(PER_CITY))}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.city }}}}/{{{{ matrix.shot }}}}.png"
      resolution: 2k
  clips:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: {[f"c{i}" for i in range(cities)]}
      shot: {list(range(PER_CITY))}
    estimate:
      duration: 10
    input:
      image_urls: ["{{{{ needs.stills.result_url }}}}"]
      video_model: RUNWAYML
      language: en
  cuts:
    endpoint: samsar/video/join_videos
    needs: [clips]
    matrix:
      city: {[f"c{i}" for i in range(cities)]}
    input:
      session_ids: "{{{{ needs.clips | map(attribute='session_id') | list }}}}"
"""


def flat(instances: int) -> str:
    return f"""\
version: 1
name: flat
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      i: {list(range(instances))}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.i }}}}.png"
      resolution: 2k
"""


def run(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        assert child.stdout is not None
        child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{argv[2:]} failed: {err.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.instances
    with tempfile.TemporaryDirectory() as tmp:
        files = {"chained": Path(tmp) / "chained.yaml", "flat": Path(tmp) / "flat.yaml"}
        files["chained"].write_text(chained(n))
        files["flat"].write_text(flat(n))
        print(f"chained: {n + n // (2 * PER_CITY):,} instances; flat: {n:,}   (best of {args.repeat}, whole processes)")
        print(f"{'':22} {'chained':>10} {'flat':>10} {'ratio':>8}   {'(CPU s)':>22}")
        for command in (["validate"], ["plan", "--json"]):
            best: dict[str, tuple[float, float]] = {}
            for _ in range(args.repeat):  # alternate, so that load on the machine hits both
                for kind, path in files.items():
                    wall, cpu = run([sys.executable, "-m", "renderer.cli", command[0], str(path), *command[1:]])
                    old = best.get(kind, (float("inf"), float("inf")))
                    best[kind] = (min(old[0], wall), min(old[1], cpu))
            (w1, c1), (w0, c0) = best["chained"], best["flat"]
            name = " ".join(command) + " (s)"
            print(f"{name:22} {w1:>10.2f} {w0:>10.2f} {w1 / w0:>7.2f}x   {c1:>7.2f} {c0:>7.2f} {c1 / c0:>5.2f}x   (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
