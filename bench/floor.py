"""The floor: the least work `renderer plan --json` (or `validate`) can do on a bench campaign.

    python bench/floor.py plan FILE       # writes what `renderer plan FILE --json` writes, byte for byte
    python bench/floor.py validate FILE   # what `renderer validate FILE` must at least do

A minimal script, written as someone would who knew the answer: no positions,
no error messages, no limits, no warnings, no Jinja. It does the same work the
same way as the renderer, nothing less:

- reads the YAML with PyYAML's C loader;
- expands each job's matrix with ``itertools.product``;
- renders the same bodies: plain substitutions (``{{ matrix.city }}``) by direct
  lookup, as the renderer's fast path does (any other template is refused);
- checks every body against the same schema files with the same compiled
  validator (``jsonschema_rs``, the same registry of every file in ``schemas/``);
- (plan) prices it from the same ``prices.json``, hashes its canonical JSON the
  same way (orjson, sorted keys, sha256) and writes the same document with the
  same encoder (orjson, indent 2, a chunk of jobs at a time).

It keeps what the output needs before the jobs are written (ids, hashes, prices),
not the bodies. It knows the routes the benchmarks use: samsar/video/text_to_video
and samsar/image/enhance, jobs without needs, matrices of lists.
`bench_plan.py` checks its output is byte-identical to the renderer's with `cmp`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from pathlib import Path

import jsonschema_rs
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
WRAPPED = {"samsar/video/text_to_video"}  # the docs wrap these bodies as {"input": {...}}
SUBST = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
CHUNK = 10_000


def compile_value(value):
    """A function of the context, or the constant itself (tagged)."""
    if isinstance(value, str) and "{{" in value:
        parts, pos = [], 0
        for m in SUBST.finditer(value):
            parts += [value[pos:m.start()], tuple(m.group(1).split("."))]
            pos = m.end()
        parts.append(value[pos:])
        parts = [p for p in parts if p != ""]
        if len(parts) == 1:
            names = parts[0]
            return lambda ctx: lookup(ctx, names)
        return lambda ctx: "".join(p if isinstance(p, str) else str(lookup(ctx, p)) for p in parts)
    if isinstance(value, (dict, list)) or (isinstance(value, str) and "{%" in value):
        raise SystemExit("floor: only flat inputs of constants and plain substitutions")
    return value


def lookup(ctx, names):
    for n in names:
        ctx = ctx[n]
    return ctx


def validator(schema_file: str):
    # the renderer's registry: the campaign and plan schemas, and each provider's request schemas
    files = [*SCHEMAS.glob("*.schema.json"), *ROOT.glob("renderer/providers/*/schemas/*.schema.json")]
    docs = {p.name: json.loads(p.read_text("utf-8")) for p in files}
    registry = jsonschema_rs.Registry(list(docs.items()))
    return jsonschema_rs.validator_for(docs[schema_file], registry=registry, validate_formats=False)


def instances(doc):
    """(job name, endpoint, id, matrix, body) of every instance, in file order; every body checked."""
    for name, job in doc["jobs"].items():
        endpoint = job["endpoint"]
        check = validator(endpoint.replace("/", ".") + ".schema.json")
        fields = {k: compile_value(v) for k, v in job["input"].items()}
        templated = [(k, f) for k, f in fields.items() if callable(f)]
        keys = list(job["matrix"])
        for combo in itertools.product(*(job["matrix"][k] for k in keys)):
            matrix = dict(zip(keys, combo))
            ctx = {"vars": doc.get("vars") or {}, "matrix": matrix}
            inner = dict(fields)
            for k, f in templated:
                inner[k] = f(ctx)
            if not check.is_valid(inner):
                raise SystemExit(f"floor: {name}: invalid body {inner}")
            iid = f"{name}[" + ",".join(f"{k}={v}" for k, v in matrix.items()) + "]"
            yield name, endpoint, iid, matrix, ({"input": inner} if endpoint in WRAPPED else inner)


def validate(doc) -> None:
    n = sum(1 for _ in instances(doc))
    sys.stdout.write(f"1 file(s) valid ({n} instances)\n")


def plan(doc) -> None:
    import hashlib

    import orjson

    tables = [json.loads(p.read_text("utf-8")) for p in ROOT.glob("renderer/providers/**/prices.json")]
    table = next(t["samsar"] for t in tables if "samsar" in t)

    def price(endpoint, body):
        """(credits, duration) as {min, max} values, the routes the benchmarks use."""
        if endpoint == "samsar/video/text_to_video":
            inner = body["input"]
            seconds = inner["duration"]
            credits = seconds * table["video_model_per_second"][inner["video_model"]]
            return {"min": credits, "max": credits}, {"min": seconds, "max": seconds}
        credits = table["image_enhance"][body["resolution"].lower()]
        return {"min": credits, "max": credits}, None

    rows = []  # what the head needs before the jobs are written: not the bodies
    for name, endpoint, iid, _, body in instances(doc):
        sha = hashlib.sha256(orjson.dumps({"endpoint": endpoint, "body": body}, option=orjson.OPT_SORT_KEYS)).hexdigest()
        credits, duration = price(endpoint, body)
        model = body["input"]["video_model"] if endpoint in WRAPPED else None
        rows.append((iid, name, endpoint, sha, credits, duration, model))

    def total(group):
        c = sum(r[4]["min"] for r in group)
        return {"jobs": len(group), "credits": {"min": c, "max": c}}

    spent = sum(r[4]["min"] for r in rows)
    budget = (doc.get("budget") or {}).get("max_credits")
    n = len(rows)
    head = {
        "campaign": doc["name"],
        "credits": {"min": spent, "max": spent},
        "budget": {"max_credits": budget, "over": budget is not None and spent > budget},
        "requests": {"submissions": n, "uploads": 0, "requests": 2 * n,
                     "by_provider": {"samsar": {"submissions": n, "uploads": 0, "requests": 2 * n}}},
        "totals": {
            "endpoint": {e: total([r for r in rows if r[2] == e]) for e in sorted({r[2] for r in rows})},
            "video_model": {m: total([r for r in rows if r[6] == m]) for m in sorted({r[6] for r in rows} - {None})},
        },
        "changes": {"added": [r[0] for r in rows], "changed": [], "reused": [], "removed": []},
        "unknown_prices": [],
        # where the plan runs: the base URL from the environment, else the documented one (bench URLs are plain)
        "targets": {"samsar": os.environ.get("SAMSAR_BASE_URL", "").strip().rstrip("/") or "https://api.samsar.one/v1"},
        "jobs": [],
    }
    out = sys.stdout.buffer
    text = orjson.dumps(head, option=orjson.OPT_INDENT_2)
    out.write(text[: -len("[]\n}")] + b"[")
    for start in range(0, n, CHUNK):
        jobs = [{"id": iid, "job": name, "endpoint": endpoint, "needs": [], "action": "run", "credits": credits,
                 "estimated_credits": credits, "duration": duration, "pending": False, "input_sha256": sha,
                 "assumptions": []}
                for iid, name, endpoint, sha, credits, duration, _ in rows[start : start + CHUNK]]
        items = orjson.dumps(jobs, option=orjson.OPT_INDENT_2)
        out.write((b"," if start else b"") + items[1:-2].replace(b"\n", b"\n  "))
    out.write(b"\n  ]\n}\n")


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as fh:
        doc = yaml.load(fh, Loader=yaml.CSafeLoader)
    {"plan": plan, "validate": validate}[mode](doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
