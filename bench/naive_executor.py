"""The naive baseline for `renderer run`: a short asyncio + httpx script, in a process of its own.

    python bench/naive_executor.py BASE_URL JOBS [--concurrency 8] [--interval 0.2] [--key K] [--per-axis 100]

Every job is a task: POST its image/enhance request, then read its status every
``--interval`` seconds until it is finished. At most ``--concurrency`` requests
are in flight at once (the renderer's default concurrency per provider). The
bodies are the ones bench_run.py's campaign renders (job i is matrix value
``a = i // per_axis``, ``b = i % per_axis``). No journal, no manifest, no budget, no
retries: the least a script can do and still run every job. Prints one line of
JSON: wall seconds, jobs completed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import httpx


async def naive(base_url: str, n: int, key: str = "bench-key", interval: float = 0.2, concurrency: int = 8,
                per_axis: int = 100) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120, limits=limits) as client:

        async def job(i: int) -> str:
            body = {"image_url": f"https://cdn.example.com/{i // per_axis}/{i % per_axis}.png", "resolution": "2k"}
            async with gate:
                r = await client.post("/image/enhance", json=body)
            r.raise_for_status()
            request_id = r.json()["request_id"]
            while True:
                await asyncio.sleep(interval)
                async with gate:
                    r = await client.get("/image/status", params={"request_id": request_id})
                if r.status_code == 200 and r.json().get("status") in ("COMPLETED", "FAILED"):
                    return str(r.json()["status"])

        results = await asyncio.gather(*(job(i) for i in range(n)))
    return {"wall": time.perf_counter() - started, "completed": sum(s == "COMPLETED" for s in results)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base_url")
    ap.add_argument("jobs", type=int)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--key", default="bench-key")
    ap.add_argument("--per-axis", type=int, default=100)
    a = ap.parse_args()
    result = asyncio.run(naive(a.base_url, a.jobs, a.key, a.interval, a.concurrency, a.per_axis))
    print(json.dumps(result))
    return 0 if result["completed"] == a.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
