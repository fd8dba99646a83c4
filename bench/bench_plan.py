"""Plan a 100,000-instance campaign; compare with a minimal script doing the same work.

The baseline expands the same matrix with itertools.product, renders the same
template strings with plain Jinja2 and prices each instance with a dict lookup:
the least any planner must do. The renderer also validates every instance
against its route schema, hashes its input and tracks needs. Each side runs in
its own process so peak memory (max RSS) is its own.

    python bench/bench_plan.py [--instances 100000]

Targets (issue 3): at most 2x the baseline's time, peak memory under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CITIES = 100
PRODUCTS = 100


def campaign_text(instances: int) -> str:
    languages = max(1, instances // (CITIES * PRODUCTS))
    langs = ["en", "es", "fr", "de", "pt", "it", "nl", "sv", "hi", "ar", "ru", "ja", "ko", "th", "zh"]
    return textwrap.dedent(f"""\
        version: 1
        name: bench
        vars:
          brand: Acme
        jobs:
          clip:
            endpoint: samsar/video/text_to_video
            matrix:
              city: {json.dumps([f"city{i}" for i in range(CITIES)])}
              product: {json.dumps([f"p{i}" for i in range(PRODUCTS)])}
              language: {json.dumps(langs[:languages])}
            input:
              prompt: "{{{{ vars.brand }}}} {{{{ matrix.product }}}} in {{{{ matrix.city }}}}, a sunny morning"
              image_model: GPTIMAGE2
              video_model: RUNWAYML
              duration: 10
              language: "{{{{ matrix.language }}}}"
              cta_url: "https://example.com/{{{{ matrix.city }}}}/{{{{ matrix.product }}}}"
        """)


RENDERER = """
import sys, time, resource
from renderer.commands import Settings
from renderer.campaign.campaign import load_campaign
from renderer.plan.planner import build_plan
from renderer.plan.report import summarise
t = time.perf_counter()
plan, _ = build_plan(load_campaign(sys.argv[1]))
credits = summarise(plan).credits
dt = time.perf_counter() - t
print(len(plan.instances), credits.max, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

BASELINE = """
import sys, time, itertools, resource, yaml, jinja2
t = time.perf_counter()
doc = yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)
job = doc["jobs"]["clip"]
env = jinja2.Environment()
templates = {k: env.from_string(v) for k, v in job["input"].items() if isinstance(v, str) and "{{" in v}
rates = {"RUNWAYML": 30}
keys = list(job["matrix"])
total, out = 0, []
for combo in itertools.product(*(job["matrix"][k] for k in keys)):
    ctx = {"vars": doc["vars"], "matrix": dict(zip(keys, combo))}
    body = dict(job["input"])
    for k, tpl in templates.items():
        body[k] = tpl.render(ctx)
    total += body["duration"] * rates[body["video_model"]]
    out.append(body)
dt = time.perf_counter() - t
print(len(out), total, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(code: str, path: str) -> tuple[int, float, float, float]:
    res = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    n, credits, seconds, rss_kib = res.stdout.split()
    return int(n), float(credits), float(seconds), int(rss_kib) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(campaign_text(args.instances))
        n1, c1, t1, m1 = run(RENDERER, str(path))
        n0, c0, t0, m0 = run(BASELINE, str(path))
    assert n1 == n0 and c1 == c0, (n1, n0, c1, c0)
    print(f"instances          {n1:>12,}")
    print(f"{'':18} {'renderer':>12} {'baseline':>12} {'ratio':>8}")
    print(f"{'time (s)':18} {t1:>12.2f} {t0:>12.2f} {t1 / t0:>8.2f}x   (target <= 2x)")
    print(f"{'peak RSS (MiB)':18} {m1:>12.0f} {m0:>12.0f} {m1 / m0:>8.2f}x   (target < 1024 MiB)")
    print(f"credits            {c1:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
