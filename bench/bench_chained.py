"""A chained campaign against a flat one of the same shape: `validate` and `plan --json`.

    python bench/bench_chained.py            # 100,000 (+500 joins) instances, 3 interleaved pairs
    python bench/bench_chained.py --quick    # 2,000 (+10), one pair

Both campaigns have the same three jobs with the same matrices, endpoints and
fields: N/2 image enhancements (cities x 100 shots), N/2 image-list videos (the
same matrix) and N/200 joins of 100 videos each (one per city). In the chained
one the videos need their still (each body holds a pending upstream output) and
each join needs its city's 100 videos (a list of pending session ids); in the
flat one the same fields hold constants and templates of the matrix. So the
difference is what needs cost: linking instances, pending values and their
checks. Whole processes, output to a file; CPU and peak RSS are each child's own.

Target (issues 15 and 28): chained at most 1.5x the flat campaign's time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness import Sample, interleaved, measure, median, renderer_argv, table

SHOTS = 100


def _matrices(instances: int) -> tuple[str, str]:
    cities = [f"c{i}" for i in range(max(1, instances // 2 // SHOTS))]
    return str(cities), str(list(range(SHOTS)))


def chained(instances: int) -> str:
    cities, shots = _matrices(instances)
    return f"""\
version: 1
name: chained
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix: {{city: {cities}, shot: {shots}}}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.city }}}}/{{{{ matrix.shot }}}}.png"
      resolution: 2k
  clips:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix: {{city: {cities}, shot: {shots}}}
    estimate: {{duration: 10}}
    input:
      image_urls: ["{{{{ needs.stills.result_url }}}}"]
      video_model: RUNWAYML
      language: en
  cuts:
    endpoint: samsar/video/join_videos
    needs: [clips]
    matrix: {{city: {cities}}}
    input:
      session_ids: "{{{{ needs.clips | map(attribute='session_id') | list }}}}"
"""


def flat(instances: int) -> str:
    """The same jobs, matrices and fields; constants and matrix templates where chained has needs."""
    cities, shots = _matrices(instances)
    sessions = [f"s{i}" for i in range(SHOTS)]
    return f"""\
version: 1
name: flat
vars:
  sessions: {sessions}
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix: {{city: {cities}, shot: {shots}}}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.city }}}}/{{{{ matrix.shot }}}}.png"
      resolution: 2k
  clips:
    endpoint: samsar/video/image_list_to_video
    matrix: {{city: {cities}, shot: {shots}}}
    estimate: {{duration: 10}}
    input:
      image_urls: ["https://cdn.example.com/out/{{{{ matrix.city }}}}/{{{{ matrix.shot }}}}.png"]
      video_model: RUNWAYML
      language: en
  cuts:
    endpoint: samsar/video/join_videos
    matrix: {{city: {cities}}}
    estimate: {{duration: {10 * SHOTS}}}
    input:
      session_ids: "{{{{ vars.sessions | list }}}}"
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved pairs; medians are shown")
    ap.add_argument("--quick", action="store_true", help="2,000 instances, one pair")
    args = ap.parse_args(argv)
    n, repeat = (2_000, 1) if args.quick else (args.instances, args.repeat)
    total = n + n // (2 * SHOTS)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"chained": Path(tmp) / "chained.yaml", "flat": Path(tmp) / "flat.yaml"}
        files["chained"].write_text(chained(n), encoding="utf-8")
        files["flat"].write_text(flat(n), encoding="utf-8")
        out = Path(tmp) / "out.json"
        for command in (["validate"], ["plan", "--json"]):
            def side(kind: str, command: list[str] = command) -> Sample:
                argv = renderer_argv(command[0], str(files[kind]), *command[1:], "--max-instances", str(total))
                return measure(argv, stdout=out)

            runs = interleaved({kind: lambda kind=kind: side(kind) for kind in files}, repeat)
            results = {total: {kind: median(samples) for kind, samples in runs.items()}}
            print(table(f"renderer {' '.join(command)}: chained vs a flat campaign of the same shape "
                        f"({total:,} instances each); median of {repeat} interleaved pair(s)", [total], results,
                        targets={"wall": "<= 1.5x", "cpu": "<= 1.5x"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
