"""`renderer plan --json` on 100,000 instances against a minimal script doing the same work.

Both sides are whole processes (imports, reading the file, building, writing the
JSON) with their output captured to a pipe, timed from outside; peak memory is
each child's own max RSS. The baseline expands the same matrix with
itertools.product, renders the same template strings with plain Jinja2, prices
each instance with a dict lookup and writes one JSON document of the same jobs
with the stdlib encoder: the least any planner must do. The renderer also
validates every instance against its route schema, hashes its input, tracks
needs and bounds its templates.

    python bench/bench_plan.py [--instances 100000] [--repeat 3]

Targets (issue 15): at most 1.5x the baseline's time, peak RSS under 2x its.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
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


BASELINE = """
import sys, itertools, json, yaml, jinja2
doc = yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)
env = jinja2.Environment()
rates = {"RUNWAYML": 30}
jobs, total = [], 0
for name, job in doc["jobs"].items():
    templates = {k: env.from_string(v) for k, v in job["input"].items() if isinstance(v, str) and "{{" in v}
    keys = list(job["matrix"])
    for combo in itertools.product(*(job["matrix"][k] for k in keys)):
        matrix = dict(zip(keys, combo))
        ctx = {"vars": doc["vars"], "matrix": matrix}
        body = dict(job["input"])
        for k, tpl in templates.items():
            body[k] = tpl.render(ctx)
        credits = body["duration"] * rates[body["video_model"]]
        total += credits
        iid = name + "[" + ",".join(f"{k}={v}" for k, v in matrix.items()) + "]"
        jobs.append({"id": iid, "job": name, "endpoint": job["endpoint"], "needs": [], "action": "run",
                     "credits": {"min": credits, "max": credits}, "estimated_credits": {"min": credits, "max": credits},
                     "duration": {"min": body["duration"], "max": body["duration"]}, "pending": False,
                     "assumptions": []})
sys.stdout.write(json.dumps({"campaign": doc["name"], "credits": {"min": total, "max": total}, "jobs": jobs}))
sys.stdout.write("\\n")
"""


def run(argv: list[str]) -> tuple[float, float, bytes, float]:
    """Wall seconds, peak RSS (MiB), stdout and CPU seconds (user + system) of one child process."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv[:4]} exited {child.returncode}: {err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def renderer_argv(path: str) -> list[str]:
    return [sys.executable, "-m", "renderer.cli", "plan", path, "--json"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side; the best is reported")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")  # as CI runners set it: small writes cost a syscall each
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(campaign_text(args.instances))
        mine, base = [], []
        for _ in range(args.repeat):  # alternate, so that load on the machine hits both
            mine.append(run(renderer_argv(str(path))))
            base.append(run([sys.executable, "-c", BASELINE, str(path)]))
    rss1, rss0 = max(m[1] for m in mine), max(b[1] for b in base)
    out1, out0 = json.loads(mine[0][2]), json.loads(base[0][2])
    assert len(out1["jobs"]) == len(out0["jobs"]) and out1["credits"] == out0["credits"], (out1["credits"], out0["credits"])
    t1, t0 = min(m[0] for m in mine), min(b[0] for b in base)
    c1, c0 = min(m[3] for m in mine), min(b[3] for b in base)
    print(f"instances          {len(out1['jobs']):>12,}   (best of {args.repeat}, whole processes, stdout to a pipe)")
    print(f"{'':18} {'renderer':>12} {'baseline':>12} {'ratio':>8}")
    print(f"{'time (s)':18} {t1:>12.2f} {t0:>12.2f} {t1 / t0:>8.2f}x   (target <= 1.5x)")
    print(f"{'CPU (s)':18} {c1:>12.2f} {c0:>12.2f} {c1 / c0:>8.2f}x   (user + system: steadier on a busy machine)")
    print(f"{'peak RSS (MiB)':18} {rss1:>12.0f} {rss0:>12.0f} {rss1 / rss0:>8.2f}x   (target < 2x)")
    print(f"{'output (MB)':18} {len(mine[0][2]) / 1e6:>12.1f} {len(base[0][2]) / 1e6:>12.1f}")
    print(f"credits            {out1['credits']['max']:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
