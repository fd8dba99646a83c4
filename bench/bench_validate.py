"""`renderer validate` against the validate-only floor.

    python bench/bench_validate.py            # 100,000 and 1,000,000 instances, 3 interleaved pairs each
    python bench/bench_validate.py --quick    # 500 and 2,000, one pair

Whole processes, timed from outside; CPU and peak RSS are each child's own. The
baseline is ``floor.py validate``: it reads the same file, expands the same
matrix, renders the same bodies and checks each against the same schema with the
same validator, keeping nothing: the least any validator must do. The renderer
also locates every error, bounds templates and requests, warns, and checks ids
and needs. The campaign is bench_plan's.

Targets (issue 28): at 100,000 instances CPU and wall <= 1.5x the floor's and peak
RSS <= 2x (validate streams: memory does not grow with the instances).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench_plan import campaign_text
from harness import PYTHON, ROOT, Sample, interleaved, measure, median, per_instance, renderer_argv, size_args, table


def main(argv: list[str] | None = None) -> int:
    sizes, repeat, _ = size_args(argv, __doc__ or "", [100_000, 1_000_000], [500, 2_000])
    results: dict[int, dict[str, Sample]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"validate-{n}.yaml"
            path.write_text(campaign_text(n), encoding="utf-8")
            sides = {
                "renderer": lambda path=path, n=n: measure(renderer_argv("validate", str(path), "--max-instances", str(n))),
                "floor": lambda path=path: measure([PYTHON, str(ROOT / "bench" / "floor.py"), "validate", str(path)]),
            }
            results[n] = {name: median(s) for name, s in interleaved(sides, repeat).items()}
    print(table(f"renderer validate vs the validate-only floor (floor.py validate); median of {repeat} "
                "interleaved pair(s)", sizes, results,
                targets={"wall": "<= 1.5x", "cpu": "<= 1.5x", "rss": "<= 2x"}))
    if len(sizes) > 1:
        print(per_instance(sizes, results, "renderer"))
        print(per_instance(sizes, results, "floor"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
