"""A campaign file, loaded and checked against the campaign schema.

``load_campaign`` collects every problem it can find at file level (schema,
unknown endpoints, unknown needs, cycles) before raising ``Invalid``; request
bodies are checked later, per expanded instance, by the planner.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from renderer import providers
from renderer.errors import Invalid, LoadError, Location, BadReference, SchemaError, UserError
from renderer.vocabulary import Route
from renderer.campaign import schemas
from renderer.campaign.durations import parse_duration
from renderer.campaign.yamlfile import Document, Limits, load_bytes, read_file

JOB_KEYS_BESIDE_INPUT = ("webhookUrl", "external_user")


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    endpoint: str
    route: Route
    input: Any
    extras: Mapping[str, Any]  # the keys the docs put beside `input`
    needs: tuple[str, ...]
    matrix: Mapping[str, Any] | None
    estimate: Mapping[str, Any]
    order: int  # position in the file
    approve: str | None = None  # "manual": the render stops at its approval point (``Provider.APPROVAL``)


@dataclass(frozen=True, slots=True)
class Campaign:
    path: str  # as the user named it; used in every location
    folder: Path  # data files are read below this folder only
    doc: Document
    sha256: str
    name: str
    budget: float | None
    vars: Mapping[str, Any]
    providers: Mapping[str, Any]
    pricing: Mapping[str, Any]
    jobs: Mapping[str, JobSpec]
    timeouts: Mapping[str, float] = field(default_factory=dict)  # "job", "run": seconds
    budget_probe: bool = True  # budget.probe: a pricing family's first job goes alone until its charge is known
    budget_account: str | None = None  # budget.account: the shared account budget it also spends from

    def loc(self, *path: Any, key: bool = False, instance: str | None = None) -> Location:
        return self.doc.loc(path, key=key, instance=instance)


def load_campaign(path: str | Path, limits: Limits = Limits()) -> Campaign:
    """Load and check one campaign file; raise ``Invalid`` with every problem found."""
    name = str(path)
    p = Path(path)
    try:
        raw = read_file(p, limits, display=name)  # a regular file only, read no further than the limit
        doc = load_bytes(raw, name, limits)
    except UserError as exc:
        raise Invalid([exc]) from None
    return campaign_from_document(doc, p.resolve().parent, hashlib.sha256(raw).hexdigest())


def campaign_from_document(doc: Document, folder: Path, sha256: str) -> Campaign:
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise Invalid([LoadError(f"a campaign is a YAML mapping with version, name and jobs; this file holds {kind}", doc.loc(()))])
    errors: list[UserError] = []
    # the compiled validator says yes quickly (a 100,000-item matrix list took jsonschema 2 s);
    # jsonschema finds and words the errors of a file it refuses
    found = [] if schemas.is_valid(schemas.CAMPAIGN_SCHEMA, data) else schemas.check(schemas.CAMPAIGN_SCHEMA, data)
    for v in found:
        # request bodies are checked per instance, after templates are rendered
        if len(v.path) >= 3 and v.path[0] == "jobs" and v.path[2] == "input":
            continue
        if len(v.path) == 3 and v.path[0] == "jobs" and v.path[2] == "endpoint":
            continue  # reported below with a suggestion
        if _missing_endpoint(data, v):
            continue  # reported below, with an example
        if len(v.path) == 2 and v.path[0] == "timeouts" and v.path[1] in ("job", "run"):
            continue  # reported below in words (90s, 30m, 2h)
        container = isinstance(schemas.value_at(data, v.path), (dict, list))
        errors.append(SchemaError(v.message, doc.loc(v.path, key=v.at_key or container)))

    name = data.get("name")
    if isinstance(name, str) and any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in name):
        # plans, logs and terminals print the name: an ESC or a newline in it would steer them
        errors.append(SchemaError("name must not contain control characters (newlines, tabs, escapes)", doc.loc(("name",))))
    jobs: dict[str, JobSpec] = {}
    raw_jobs = data.get("jobs")
    if isinstance(raw_jobs, dict):
        for order, (job_name, job) in enumerate(raw_jobs.items()):
            if not isinstance(job, dict):
                continue  # the schema has reported it
            spec = _job(doc, str(job_name), job, order, errors)
            if spec is not None:
                jobs[str(job_name)] = spec
        _check_needs(doc, raw_jobs, errors)
    timeouts = _timeouts(doc, data.get("timeouts"), errors)
    _counted_numbers(doc, data, errors)
    if errors:
        raise Invalid(errors)
    budget = data.get("budget") or {}
    return Campaign(
        path=doc.path,
        folder=folder,
        doc=doc,
        sha256=sha256,
        name=str(data.get("name", "")),
        budget=budget.get("max_credits") if isinstance(budget, dict) else None,
        vars=data.get("vars") or {},
        providers=data.get("providers") or {},
        pricing=data.get("pricing") or {},
        jobs=jobs,
        timeouts=timeouts,
        budget_probe=budget.get("probe") is not False if isinstance(budget, dict) else True,
        budget_account=budget.get("account") if isinstance(budget, dict) else None,
    )


def _missing_endpoint(data: dict[str, Any], v: schemas.Violation) -> bool:
    """The schema's "missing required field jobs.X.endpoint": `_job` says it better."""
    if len(v.path) != 2 or v.path[0] != "jobs" or not v.message.startswith("missing required field"):
        return False
    jobs = data.get("jobs")
    job = jobs.get(v.path[1]) if isinstance(jobs, dict) else None
    return isinstance(job, dict) and "endpoint" not in job and v.message.endswith(".endpoint")


def _timeouts(doc: Document, raw: Any, errors: list[UserError]) -> dict[str, float]:
    """``timeouts: {job: 2h, run: 6h}`` in seconds (the schema has checked the shape)."""
    out: dict[str, float] = {}
    if not isinstance(raw, dict):
        return out
    for key in ("job", "run"):
        if key in raw:
            try:
                out[key] = parse_duration(raw[key])
            except ValueError as exc:
                errors.append(SchemaError(f"timeouts.{key}: {exc}", doc.loc(("timeouts", key))))
    return out


MAX_COUNTED = 1e300  # far past any price, and sums of millions of them stay within float range


def _counted_numbers(doc: Document, data: dict[str, Any], errors: list[UserError]) -> None:
    """Budgets, prices and estimates are counted with: a number past 10^300 (``1e400`` is
    Infinity, ``10^400`` an integer no float holds) is an error where it is written, not a crash."""
    roots: list[tuple[tuple[Any, ...], Any]] = [(("budget",), data.get("budget")), (("pricing",), data.get("pricing"))]
    jobs = data.get("jobs")
    if isinstance(jobs, dict):
        roots += [(("jobs", k, "estimate"), j.get("estimate")) for k, j in jobs.items() if isinstance(j, dict)]
    stack = roots
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack += [((*path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [((*path, i), v) for i, v in enumerate(value)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not abs(value) <= MAX_COUNTED:
            shown = f"a number of {len(str(abs(value))):,} digits" if isinstance(value, int) else f"{value:g}"
            errors.append(SchemaError(f"{'.'.join(map(str, path))} is {shown}: renderer counts credits and seconds "
                                      "up to 10^300", doc.loc(path)))


def _job(doc: Document, name: str, job: dict[str, Any], order: int, errors: list[UserError]) -> JobSpec | None:
    endpoint = job.get("endpoint")
    if not isinstance(endpoint, str):
        if "endpoint" not in job:
            errors.append(SchemaError(f"job {name!r} needs an endpoint, e.g. {providers.example_endpoint()}", doc.loc(("jobs", name), key=True)))
        else:
            errors.append(SchemaError(f"endpoint must be a string like {providers.example_endpoint()}", doc.loc(("jobs", name, "endpoint"))))
        return None
    route = providers.route(endpoint)
    if route is None:
        hint = difflib.get_close_matches(endpoint, list(providers.ROUTES), n=1, cutoff=0.5)
        msg = f"unknown endpoint {endpoint!r}"
        msg += f"; did you mean {hint[0]!r}?" if hint else "; run `renderer schema` to list endpoints"
        errors.append(BadReference(msg, doc.loc(("jobs", name, "endpoint"))))
        return None
    needs = job.get("needs") or []
    return JobSpec(
        name=name,
        endpoint=endpoint,
        route=route,
        input=job.get("input") if job.get("input") is not None else {},
        extras={**{k: job[k] for k in JOB_KEYS_BESIDE_INPUT if k in job}, **_gate_controls(route, job.get("approve"))},
        needs=tuple(n for n in needs if isinstance(n, str)) if isinstance(needs, list) else (),
        matrix=job.get("matrix") if isinstance(job.get("matrix"), dict) else None,
        estimate=_mapping(job.get("estimate")),
        order=order,
        approve=job["approve"] if job.get("approve") in ("manual", "auto") else None,
    )


def _gate_controls(route: Route, approve: Any) -> Mapping[str, Any]:
    """``approve: manual`` asks the render to stop at its approval point: the fields its provider
    sends for that (beside ``input``, so they are part of what the request hash covers)."""
    gate = providers.of(route).APPROVAL
    if approve != "manual" or gate is None or not gate.applies(route):
        return {}  # elsewhere the schema has refused it
    return gate.controls(True)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_needs(doc: Document, raw_jobs: dict[str, Any], errors: list[UserError]) -> None:
    names = list(raw_jobs)
    graph: dict[str, list[str]] = {}
    for name, job in raw_jobs.items():
        needs = job.get("needs") if isinstance(job, dict) else None
        graph[name] = []
        if not isinstance(needs, list):
            continue
        for i, need in enumerate(needs):
            if not isinstance(need, str):
                continue
            if need not in raw_jobs:
                hint = difflib.get_close_matches(need, names, n=1)
                msg = f"needs {need!r}: no job of that name"
                msg += f"; did you mean {hint[0]!r}?" if hint else f"; jobs are: {', '.join(names)}"
                errors.append(BadReference(msg, doc.loc(("jobs", name, "needs", i))))
            elif need == name:
                errors.append(BadReference(f"job {name!r} needs itself", doc.loc(("jobs", name, "needs", i))))
            else:
                graph[name].append(need)
    for cycle in find_cycles(graph):
        first = cycle[0]
        idx = raw_jobs[first]["needs"].index(cycle[1])
        errors.append(BadReference("needs form a cycle: " + " -> ".join(cycle), doc.loc(("jobs", first, "needs", idx))))


def find_cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected group, each as a closed path a -> b -> a."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles
