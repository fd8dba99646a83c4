"""Helpers of the hardening tests (issue 6): run the CLI on hostile input, in-process.

Every call goes through ``renderer.cli.main`` with an environment that holds canary
keys, times itself in CPU seconds (``time.process_time``: other processes' load on the
machine does not count, so the bounds catch a hang or a blow-up, not a busy CI host), and
fails the test on the CLI's last-resort "internal error" handler: a hostile file must end in a located error
of ours, never in a bug report. Network access is cut for every test here that
does not ask for it (``allow_network``): validate and plan must not need it.
"""

from __future__ import annotations

import io
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from renderer.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "hardening" / "corpus"

SAMSAR_CANARY = "sk-canary-7f3a9c"
ENHANCECRAFT_CANARY = "ec-canary-19b2"
OTHER_CANARY = "canary-env-value-5d1e"  # an unrelated variable: templates must not reach it either
CANARIES = (SAMSAR_CANARY, ENHANCECRAFT_CANARY, OTHER_CANARY)
CANARY_ENV = {
    "SAMSAR_API_KEY": SAMSAR_CANARY,
    "ENHANCECRAFT_API_KEY": ENHANCECRAFT_CANARY,
    "RENDERER_CANARY": OTHER_CANARY,
}

# FILE:LINE:COL: message (LINE and COL from 1), or FILE: message for a whole-file problem
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): \S")
WHOLE_FILE = re.compile(r"^(?P<file>[^:]+): \S")
BOUND = 5.0  # seconds: generous; the point is "not minutes, not forever"


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln and not re.fullmatch(r"\d+ errors", ln)]

    def assert_located(self, file: str | os.PathLike[str] | None = None, whole_file: bool = False) -> None:
        """Every error line is FILE:LINE:COL: message (or FILE: message when allowed)."""
        assert self.lines, f"no error printed (exit {self.code})"
        for ln in self.lines:
            m = LOCATED.match(ln) or (WHOLE_FILE.match(ln) if whole_file else None)
            assert m, f"not a located error: {ln!r}"
            if file is not None:
                assert m.group("file") == str(file), ln


def run_cli(*argv: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    started = time.process_time()
    code = main([str(a) for a in argv], out, err, dict(CANARY_ENV if env is None else env))
    seconds = time.process_time() - started
    result = Result(code, out.getvalue(), err.getvalue(), seconds)
    assert "internal error" not in result.err, f"reached the last-resort handler:\n{result.err}"
    assert "Traceback" not in result.err + result.out
    for canary in CANARIES:
        assert canary not in result.out and canary not in result.err, f"canary {canary!r} leaked"
    return result


def expect_refusal(path: Path, *fragments: str, commands: tuple[tuple[str, ...], ...] = (("validate",), ("plan", "--json")),
                   whole_file: bool = False, bound: float = BOUND) -> list[Result]:
    """Validate and plan ``path``: exit 1, located errors naming ``fragments``, quickly."""
    results = []
    for command in commands:
        r = run_cli(*command, path)
        assert r.code == 1, f"{command}: exit {r.code}\n{r.err}\n{r.out[:500]}"
        r.assert_located(path, whole_file=whole_file)
        for fragment in fragments:
            assert fragment in r.err, f"{command}: {fragment!r} not in\n{r.err}"
        assert r.seconds < bound, f"{command} took {r.seconds:.2f} s"
        results.append(r)
    return results


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``folder`` with its size and mtime: to prove nothing was written."""
    out = {}
    for p in folder.rglob("*"):
        try:
            st = p.lstat()
        except OSError:
            continue
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def job(input_yaml: str, *, endpoint: str = "samsar/image/enhance", extra: str = "", head: str = "") -> str:
    """A one-job campaign; ``input_yaml`` is the body of `input:` indented by six spaces."""
    return (
        "version: 1\nname: hostile\n" + head + "vars:\n  brand: Acme\n  tags: [a, b]\njobs:\n  a:\n"
        f"    endpoint: {endpoint}\n" + extra + "    input:\n" + input_yaml
    )
