"""`renderer plan --json` against the floor: the least work that writes the same bytes.

    python bench/bench_plan.py              # 100,000 and 1,000,000 instances, 3 interleaved pairs each
    python bench/bench_plan.py --quick      # 500 and 2,000, one pair: a smoke run

Both sides are whole processes (start-up, imports, reading the file, planning,
writing the JSON to a file), timed from outside; CPU and peak RSS are each
child's own (``os.wait4``). The baseline is ``floor.py plan``: it renders the same
bodies, checks them against the same schemas with the same validator, hashes
them the same way and writes the same JSON with the same encoder. Its output is
checked byte-identical to the renderer's with ``cmp`` at every size, so neither
side can do less than the other.

The campaign: one samsar/video/text_to_video job, a matrix of cities x 100
products x 10 languages, three templated fields.

Targets (issue 28): CPU and wall <= 2.0x the floor's at 100,000; at 1,000,000 the
time and memory per instance within ~1.2x of 100,000's (a linear planner).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from harness import PYTHON, ROOT, Sample, interleaved, measure, median, per_instance, renderer_argv, size_args, table

PRODUCTS = 100
LANGUAGES = ["en", "es", "fr", "de", "pt", "it", "nl", "sv", "hi", "ar"]


def campaign_text(instances: int) -> str:
    """``instances`` text_to_video jobs (a multiple of 10; of 1,000 past 1,000)."""
    products = max(1, min(PRODUCTS, instances // len(LANGUAGES)))
    cities = max(1, instances // (products * len(LANGUAGES)))
    return textwrap.dedent(f"""\
        version: 1
        name: bench
        vars:
          brand: Acme
        jobs:
          clip:
            endpoint: samsar/video/text_to_video
            matrix:
              city: {json.dumps([f"city{i}" for i in range(cities)])}
              product: {json.dumps([f"p{i}" for i in range(products)])}
              language: {json.dumps(LANGUAGES)}
            input:
              prompt: "{{{{ vars.brand }}}} {{{{ matrix.product }}}} in {{{{ matrix.city }}}}, a sunny morning"
              image_model: GPTIMAGE2
              video_model: RUNWAYML
              duration: 10
              language: "{{{{ matrix.language }}}}"
              cta_url: "https://example.com/{{{{ matrix.city }}}}/{{{{ matrix.product }}}}"
        """)


def main(argv: list[str] | None = None) -> int:
    sizes, repeat, _ = size_args(argv, __doc__ or "", [100_000, 1_000_000], [500, 2_000])
    results: dict[int, dict[str, Sample]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in sizes:
            path = folder / f"plan-{n}.yaml"
            path.write_text(campaign_text(n), encoding="utf-8")
            outs = {"renderer": folder / "renderer.json", "floor": folder / "floor.json"}
            sides = {
                "renderer": lambda path=path, n=n, outs=outs: measure(renderer_argv("plan", str(path), "--json", "--max-instances", str(n)),
                                                        stdout=outs["renderer"]),
                "floor": lambda path=path, outs=outs: measure([PYTHON, str(ROOT / "bench" / "floor.py"), "plan", str(path)],
                                                         stdout=outs["floor"]),
            }
            runs = interleaved(sides, repeat)
            same = subprocess.run(["cmp", str(outs["renderer"]), str(outs["floor"])], capture_output=True, text=True)
            if same.returncode != 0:
                raise SystemExit(f"the floor's output differs from the renderer's at {n:,} instances: {same.stdout.strip()}")
            results[n] = {name: median(samples) for name, samples in runs.items()}
            for p in outs.values():
                p.unlink()
    print(table(f"renderer plan --json vs the floor (floor.py plan; output identical, checked with cmp); "
                f"median of {repeat} interleaved pair(s)", sizes, results,
                targets={"wall": "<= 2.0x", "cpu": "<= 2.0x"}))
    if len(sizes) > 1:
        print(per_instance(sizes, results, "renderer") + "   (target ~1.2x: linear)")
        print(per_instance(sizes, results, "floor"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
