"""Throughput of the sandbox, next to the ceiling of its stack.

    python bench/bench_sandbox.py [--requests 20000] [--clients 32] [--reads 3] [--procs N] [--quick]

Starts the sandbox in this process (as tests and `renderer run --sandbox` do) and drives
it with N concurrent httpx clients: each submits a job (alternating image/enhance and
video/text_to_video, so validation, pricing and charging run) and then reads its status
`--reads` times. The baseline is the same load against a minimal Starlette app that
answers a fixed JSON, served the same way (uvicorn, h11, one event loop): the most this
stack can do here. The clients run in separate processes so they do not share the
server's interpreter lock.

Besides requests/second (which a slow client or a small machine can cap), it prints the
server's CPU time per request, measured in this process where only the server thread
works during the run, and the rate one core would sustain at that cost.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderer.sandbox import SandboxConfig, running_sandbox_sync
from renderer.sandbox.server import serving

HEADERS = {"Authorization": "Bearer bench-key"}
ENHANCE = ("/image/enhance", {"image_url": "https://cdn.example.com/p.png", "resolution": "2k"})
VIDEO = ("/video/text_to_video", {"input": {"prompt": "bench", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 5}})


@dataclass(frozen=True)
class Load:
    base_url: str
    requests: int  # for this worker process
    clients: int
    reads: int
    baseline: bool


async def _client(load: Load, quota: int, offset: int) -> int:
    done = 0
    async with httpx.AsyncClient(base_url=load.base_url, headers=HEADERS, timeout=30,
                                 limits=httpx.Limits(max_connections=1)) as client:
        n = offset
        while done < quota:
            n += 1
            if load.baseline:
                r = await client.post("/fixed", json=ENHANCE[1])
                request_id = "x"
            else:
                path, body = ENHANCE if n % 2 else VIDEO
                r = await client.post(path, json=body)
                request_id = r.json()["request_id"]
            r.raise_for_status()
            done += 1
            for _ in range(min(load.reads, quota - done)):
                r = await client.get("/fixed" if load.baseline else "/status", params={"request_id": request_id})
                r.raise_for_status()
                done += 1
    return done


def _worker(load: Load) -> int:
    async def main() -> int:
        per, extra = divmod(load.requests, load.clients)
        quotas = [per + (1 if i < extra else 0) for i in range(load.clients)]
        return sum(await asyncio.gather(*(_client(load, q, i * 1000) for i, q in enumerate(quotas) if q)))

    return asyncio.run(main())


def _drive(base_url: str, requests: int, clients: int, reads: int, procs: int, baseline: bool) -> tuple[int, float, float]:
    per, extra = divmod(requests, procs)
    loads = [Load(base_url, per + (1 if i < extra else 0), max(1, clients // procs), reads, baseline) for i in range(procs)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        pool.map(_worker, [Load(base_url, 4, 1, 1, baseline)] * procs)  # warm up imports and connections
        started, cpu = time.perf_counter(), time.process_time()
        total = sum(pool.map(_worker, loads))
        return total, time.perf_counter() - started, time.process_time() - cpu


def _fixed_app() -> Starlette:
    async def fixed(request: Request) -> JSONResponse:
        return JSONResponse({"request_id": "x", "status": "COMPLETED"})

    return Starlette(routes=[Route("/v1/fixed", fixed, methods=["GET", "POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32, help="concurrent httpx clients (connections)")
    parser.add_argument("--reads", type=int, default=3, help="status reads after each submission")
    parser.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="client processes")
    parser.add_argument("--quick", action="store_true", help="100 requests, 2 clients, 1 process: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.clients, args.procs, args.reads = 100, 2, 1, 1

    config = SandboxConfig(render_seconds=0, credits=10**12)
    with running_sandbox_sync(config) as sb:
        n, secs, cpu = _drive(sb.base_urls["samsar"], args.requests, args.clients, args.reads, args.procs, baseline=False)
        state = sb.state.snapshot()
    with serving(_fixed_app()) as (host, port):
        bn, bsecs, bcpu = _drive(f"http://{host}:{port}/v1", args.requests, args.clients, args.reads, args.procs, baseline=True)

    rows = [("sandbox", n, secs, cpu), ("baseline (fixed JSON)", bn, bsecs, bcpu)]
    print(f"{args.requests} requests, {args.clients} clients in {args.procs} process(es), "
          f"{args.reads} status read(s) per submission, {os.cpu_count()} CPU(s)")
    print(f"{'':24}{'requests':>10}{'seconds':>9}{'req/s':>8}{'server CPU/req':>16}{'1-core req/s':>14}")
    for name, count, wall, server_cpu in rows:
        per = server_cpu / count
        print(f"{name:24}{count:>10}{wall:>9.2f}{count / wall:>8.0f}{per * 1e6:>13.0f} us{1 / per:>14.0f}")
    ratio = (n / secs) / (bn / bsecs)
    errors = sum(v for k, v in state["responses"].items() if k.isdigit() and int(k) >= 400)
    print(f"sandbox / baseline: {ratio:.0%} of the req/s, {bcpu / bn / (cpu / n):.0%} of the CPU efficiency; "
          f"accepted {state['accepted_total']}, status reads {state['status_reads_total']}, errors {errors}")

if __name__ == "__main__":
    main()
