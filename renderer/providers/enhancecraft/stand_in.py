"""The sandbox's EnhanceCraft: multipart upload, jobs, job status.

Its published per-tier rate limits come from the provider's ``rate_tier``: the
sandbox's gateway counts a key's requests in fixed one-minute windows (and a month,
for the tiers that have one), answers 429 with Retry-After over the limit, and adds
the X-RateLimit-* headers to every authenticated answer.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.forms import parse_multipart
from renderer.sandbox.gateway import key_is_valid
from renderer.sandbox.pipeline import Admission, Process, bearer, detail, handle, ok
from renderer.sandbox.session import COMPLETED, FAILED, PENDING, Session, iso, owner_of
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call, submission
from renderer.vocabulary import Route

MOUNT = "/enhancecraft"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def gate(state: SandboxState, request: Request, plan: FaultPlan) -> Admission:
    scheme, key = bearer(request)
    if scheme != "bearer" or not key:
        return Admission(reject=detail(401, "Not authenticated"))
    if not key_is_valid(state, key):
        return Admission(reject=detail(401, "Invalid API key"))
    return Admission(owner_of(key))


# -- upload -----------------------------------------------------------------------------


def _upload(state: SandboxState) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        body = await request.body()
        if len(body) > MAX_UPLOAD_BYTES:
            return detail(413, f"File too large; the limit is {MAX_UPLOAD_BYTES} bytes")
        try:
            fields = parse_multipart(body, request.headers.get("content-type", ""))
        except ValueError as exc:
            return detail(400, str(exc))
        if "file" not in fields:
            return detail(400, "missing required field file")
        filename, ctype, data = fields["file"]
        filename = filename or "image"
        ctype = ctype if ctype and ctype != "application/octet-stream" else mimetypes.guess_type(filename)[0]
        if not ctype or not ctype.startswith("image/"):
            return detail(400, f"file must be an image, not {ctype or 'an unknown type'}")
        ext = mimetypes.guess_extension(ctype) or ".img"
        key = f"uploads/{owner}/{state.new_id('')}{'.jpg' if ext == '.jpe' else ext}"
        state.add_upload(key, owner or "")
        return ok({"storage_key": key, "filename": filename, "size": len(data), "content_type": ctype})

    return process


# -- jobs ------------------------------------------------------------------------------


def _new_job_id(state: SandboxState) -> str:
    while True:
        h = f"{state.new_id('', 128)}"
        job_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if job_id not in state.sessions:
            return job_id


def _output_ext(body: dict[str, Any]) -> str:
    for op in body["operations"]:
        fmt = (op.get("params") or {}).get("output_format")
        if isinstance(fmt, str):
            return "jpg" if fmt == "jpeg" else fmt
    ext = body["input_key"].rsplit(".", 1)[-1].lower() if "." in body["input_key"] else ""
    return ext if ext in ("png", "jpg", "jpeg", "webp") else "png"


def _create_job(call: Call) -> Response | Accepted:
    state, owner, key = call.state, call.owner, call.inp["input_key"]
    holder = state.uploads.get(key)
    foreign = key.startswith("uploads/acct_") and not key.startswith(f"uploads/{owner}/")
    if (holder is not None and holder != owner) or (holder is None and foreign):
        return detail(404, f"Input {key} not found")
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    job_id = _new_job_id(state)
    session = call.new_session(
        job_id, "enhancecraft", credits_charged=price,
        case_type=",".join(op["type"] for op in call.inp["operations"]),
        extra={"input_key": key, "ext": _output_ext(call.inp)},
    )
    return Accepted(job_payload(session, state.now()), None, None)


def job_payload(session: Session, now: float) -> dict[str, Any]:
    status = session.status(now)
    span = max(session.ready_at - session.created_at, 1e-9)
    if status == PENDING:
        shown = "queued" if (now - session.created_at) / span < 0.25 else "processing"
    else:
        shown = {COMPLETED: "completed", FAILED: "failed"}.get(status, "failed")
    finished = session.created_wall + span
    return {
        "id": session.id,
        "status": shown,
        "input_url": session.extra["input_key"],
        "output_url": f"outputs/{session.owner}/{session.id}.{session.extra['ext']}" if status == COMPLETED else None,
        "error_message": "Processing failed." if status == FAILED else None,
        "created_at": iso(session.created_wall),
        "updated_at": iso(session.created_wall if status == PENDING else finished),
    }


def _job_status(state: SandboxState, label: str) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        state.counters.status_reads[label] += 1
        job_id = request.path_params["job_id"]
        session = state.find(owner or "", job_id, ("enhancecraft",))
        if session is None:
            return detail(404, "Job not found")
        state.counters.status_reads_by_id[job_id] += 1
        return ok(job_payload(session, state.now()))

    return process


def routes(state: SandboxState, job_route: Route, upload_path: str) -> dict[str, list[HttpRoute]]:
    """Its routes, mounted under /enhancecraft."""
    upload, create = _upload(state), submission(state, job_route, _create_job, style=detail)
    status_path = job_route.status_path.replace("{id}", "{job_id}")
    read = _job_status(state, f"GET {MOUNT}{status_path}")

    async def post_upload(request: Request) -> Response:
        return await handle(state, request, gate, upload, endpoint="enhancecraft/upload", style=detail)

    async def post_job(request: Request) -> Response:
        return await handle(state, request, gate, create, endpoint=job_route.endpoint, submission=True, style=detail)

    async def get_job(request: Request) -> Response:
        return await handle(state, request, gate, read, style=detail)

    return {MOUNT: [
        HttpRoute(upload_path, post_upload, methods=["POST"]),
        HttpRoute(job_route.path, post_job, methods=["POST"]),
        HttpRoute(status_path, get_job, methods=["GET"]),
    ]}
