"""What every benchmark here shares: whole child processes, measured from outside, in interleaved pairs.

- ``measure(argv)`` runs one child and reads its own resource usage with ``os.wait4``:
  wall time, CPU (user + system) and peak RSS (``ru_maxrss``) of that process alone.
- ``interleaved(sides, repeat)`` runs renderer, baseline, renderer, baseline, ... so that
  load on the machine falls on both sides alike; medians are reported.
- ``table`` prints the sides side by side with their ratio, and ``growth`` the log-log
  slope of a figure between sizes (1.0 is linear, 2.0 quadratic).

The machine's load average is printed with every table: figures taken on a busy
machine are noisy (CPU time is the steadier of the two clocks there).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass(frozen=True, slots=True)
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    rss: float  # peak resident set, MiB
    extra: Mapping[str, float] = field(default_factory=dict)  # figures a side reports (requests per job)


def renderer_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "renderer.cli", *args]


class TimedOut(Exception):
    """A child ran past its time and was stopped; ``sample``: what it had used by then."""

    def __init__(self, message: str, sample: Sample) -> None:
        super().__init__(message)
        self.sample = sample


def measure(argv: Sequence[str], *, stdout: Path | None = None, env: Mapping[str, str] | None = None,
            timeout: float | None = None) -> Sample:
    """One child process, its output to ``stdout`` (a file) or discarded; fails loudly on a non-zero exit.
    Past ``timeout`` seconds the child is killed and ``TimedOut`` raised."""
    with tempfile.TemporaryFile() as err, open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        child = subprocess.Popen(list(argv), stdout=out, stderr=err, env=dict(env) if env is not None else None)
        killed = _Deadline(child.pid, timeout)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended; not reaped, so its pid stays its own
        killed.cancel()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        child.returncode = code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if killed.fired:
            raise TimedOut(f"{' '.join(argv[:5])} ... ran past {timeout:g} s",
                           Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv[:5])} ... exited {code}:\n{err.read().decode(errors='replace')[-3000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


class _Deadline:
    """Kills a child that runs past its time (the child is reaped only after ``cancel``)."""

    def __init__(self, pid: int, timeout: float | None) -> None:
        self.pid, self.fired = pid, False
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._kill) if timeout else None
        if self._timer is not None:
            self._timer.start()

    def _kill(self) -> None:
        with self._lock:
            if self._timer is not None:
                self.fired = True
                os.kill(self.pid, signal.SIGKILL)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


def size_args(argv: Sequence[str] | None, doc: str, sizes: Sequence[int], quick: Sequence[int],
              what: str = "instances") -> tuple[list[int], int, argparse.Namespace]:
    """The sizes and pairs a benchmark runs: --sizes a,b,c and --repeat N, or --quick (small sizes, one pair).
    Returns them and the parsed arguments."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=list(sizes))
    ap.add_argument("--repeat", type=int, default=3, help="interleaved pairs per size; medians are shown")
    ap.add_argument("--quick", action="store_true", help=f"{' and '.join(f'{n:,}' for n in quick)} {what}, one pair")
    args = ap.parse_args(argv)
    return (list(quick), 1, args) if args.quick else (args.sizes, args.repeat, args)


def interleaved(sides: Mapping[str, Callable[[], Sample]], repeat: int) -> dict[str, list[Sample]]:
    """Each side ``repeat`` times, alternating: a, b, a, b, ..."""
    out: dict[str, list[Sample]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, run in sides.items():
            out[name].append(run())
    return out


def median(samples: Sequence[Sample]) -> Sample:
    keys = set().union(*(s.extra for s in samples))
    return Sample(statistics.median(s.wall for s in samples), statistics.median(s.cpu for s in samples),
                  statistics.median(s.rss for s in samples),
                  {k: statistics.median(s.extra.get(k, math.nan) for s in samples) for k in sorted(keys)})


def growth(sizes: Sequence[int], values: Sequence[float]) -> list[float]:
    """The log-log slope between consecutive sizes: 1.0 linear, 2.0 quadratic."""
    return [math.log(v1 / v0) / math.log(n1 / n0) if v0 > 0 and v1 > 0 else math.nan
            for (n0, v0), (n1, v1) in zip(zip(sizes, values), zip(sizes[1:], values[1:]))]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPU(s)"


FIGURES = (("wall (s)", "wall", "{:.2f}"), ("CPU (s)", "cpu", "{:.2f}"), ("peak RSS (MiB)", "rss", "{:.0f}"))


def table(title: str, sizes: Sequence[int], results: Mapping[int, Mapping[str, Sample]], *,
          targets: Mapping[str, str] | None = None, extras: Sequence[tuple[str, str, str]] = ()) -> str:
    """Medians side by side for every size, the ratio of the first side to the second, then growth."""
    targets = targets or {}
    names = list(next(iter(results.values())))
    ours, base = names[0], names[1]
    lines = [title, load()]
    head = f"{'':>10} {'':18}" + "".join(f"{n:>14}" for n in names) + f"{'ratio':>9}"
    lines.append(head)
    figures = [(label, lambda s, k=key: getattr(s, k), fmt, key) for label, key, fmt in FIGURES]
    figures += [(label, lambda s, k=key: s.extra.get(k, math.nan), fmt, key) for label, key, fmt in extras]
    for n in sizes:
        row = results[n]
        for i, (label, get, fmt, key) in enumerate(figures):
            values = [get(row[name]) for name in names]
            ratio = values[0] / values[1] if values[1] else math.nan
            size = f"{n:,}" if i == 0 else ""
            target = f"   (target {targets[key]})" if key in targets else ""
            lines.append(f"{size:>10} {label:18}" + "".join(f"{fmt.format(v):>14}" for v in values)
                         + f"{ratio:>8.2f}x{target}")
    if len(sizes) > 1:
        pairs = ", ".join(f"{a:,}->{b:,}" for a, b in zip(sizes, sizes[1:]))
        lines.append(f"growth exponent (log-log slope, {pairs}; 1.0 is linear):")
        for label, get, _, _ in figures:
            per = "  ".join(f"{name} " + " ".join(f"{g:.2f}" for g in growth(sizes, [get(results[n][name]) for n in sizes]))
                            for name in (ours, base))
            lines.append(f"{'':>10} {label:18} {per}")
    return "\n".join(lines)


def per_instance(sizes: Sequence[int], results: Mapping[int, Mapping[str, Sample]], side: str) -> str:
    """CPU and peak RSS per instance at each size, and the largest size's against the smallest's."""
    cpu = [results[n][side].cpu / n * 1e6 for n in sizes]
    rss = [results[n][side].rss / n * 1024 * 1024 for n in sizes]
    shown = ", ".join(f"{n:,}: {c:.1f} us, {r:.0f} B" for n, c, r in zip(sizes, cpu, rss))
    return (f"{side} per instance (CPU, peak RSS): {shown}; largest / smallest size: "
            f"CPU {cpu[-1] / cpu[0]:.2f}x, RSS {rss[-1] / rss[0]:.2f}x")
