"""The naive baseline: submit every job at once, then read each job's status every second.

This is what a short asyncio + httpx script does. `bench_executor.py` runs it against
the same in-process sandbox as `renderer run` to compare wall time and status reads.
Run alone: python bench/naive_executor.py BASE_URL N
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx


async def naive(base_url: str, n: int, key: str = "bench-key", interval: float = 1.0,
                limit: int | None = None) -> dict[str, float]:
    """``limit``: bound concurrent requests with a semaphore (None: all at once, as written)."""
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    gate = asyncio.Semaphore(limit) if limit else None
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:

        async def bounded(call):
            if gate is None:
                return await call()
            async with gate:
                return await call()

        async def submit(i: int) -> str:
            r = await bounded(lambda: client.post("/image/enhance", json={"image_url": f"https://cdn.example.com/{i}.png", "resolution": "2k"}))
            r.raise_for_status()
            return r.json()["request_id"]

        ids = await asyncio.gather(*(submit(i) for i in range(n)))

        async def wait(rid: str) -> str:
            while True:
                await asyncio.sleep(interval)
                r = await bounded(lambda: client.get("/image/status", params={"request_id": rid}))
                if r.status_code == 200 and r.json().get("status") in ("COMPLETED", "FAILED"):
                    return r.json()["status"]

        results = await asyncio.gather(*(wait(rid) for rid in ids))
    return {"wall": time.perf_counter() - started, "completed": sum(s == "COMPLETED" for s in results)}


if __name__ == "__main__":  # pragma: no cover
    print(asyncio.run(naive(sys.argv[1], int(sys.argv[2]))))
