"""Samsar's step renders (/v2/video/step/*): a render that can stop after its images for an approval.

samsar-js documents the calls (createV2StepVideoFromText / FromImage, getV2StepVideoStatus,
getV2StepVideoStatusDetailed, processNextV2StepVideo) and their answer types; what the
server does around the stop is unpublished, so the stand-in assumes (and says so here):

- **The stop.** The stages before image-to-video (prompt, image, speech, music) take half
  of ``render_seconds``. A render asked to stop (``auto_render_full_video: false``, or
  ``manual_step_stages`` given: samsar-js's ``stepMode: 'two_step'`` sends both) then
  waits: ``status`` stays PENDING and ``waiting_for_process_next`` / ``can_process_next``
  are true (the README's own test), ``next_step`` is ``ai_video_generation``. It waits
  until ``POST /v2/video/step/{id}/process_next``; the rest takes the other half. It never
  expires. A straight render (the client's default) does not stop.
- **Money.** A straight render is charged in full when accepted (the video doc: "Credits
  are charged when a request is accepted"). One that stops is charged the stages before
  the stop at acceptance (duration x ``step_pre_gate_per_second``: 14 credits/s, the video
  doc's split of a per-second rate: pipeline 4, inference 4, image 2, speech 2, music 2;
  ``SandboxConfig.pricing``'s ``samsar_v2.step_pre_gate_per_second`` changes it) and the rest of
  its price when ``process_next`` is accepted. Step prices are unpublished: unknown, so
  charged as 0 (and counted under ``counters.unpriced``) unless the sandbox's ``pricing``
  gives ``samsar_v2.step_video_model_per_second``.
- ``process_next`` on a render that does not wait answers 400; an unknown id 404.
- **Previews.** Once the stop is reached, the detailed status shows a still per scene
  (``session.layers[i].image.url``) and the narration (``session.audioLayers``).

Faults: ``render_failure`` fails a render that would stop at the stop (FAILED instead of
waiting); ``drop_after`` on ``process_next`` loses its answer (the status then says it
went through); ``never_complete`` on reads keeps it PENDING.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.routes import PROCESS_NEXT, ROUTES
from renderer.providers.samsar.stand_in.common import gate, step_controls
from renderer.providers.samsar.stand_in.status import video_payload
from renderer.providers.samsar.stand_in.video import answer, aspect, create, image_list_duration, language, submit_route
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Process, handle, message, ok
from renderer.sandbox.session import CANCELLED, COMPLETED, FAILED, Session, iso
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call, submission

PRE_GATE = ("prompt_generation", "image_generation", "speech_generation", "music_generation")
GATE = "ai_video_generation"
AFTER_GATE = (GATE, "video_generation")
PRE_GATE_PER_SECOND = 14  # pipeline 4 + inference 4 + image gen/edit 2 + speech 2 + music 2 (video doc)
NEVER = 1e9  # seconds: a stopped render is not ready until it is let through
KIND = ("video",)


def _stops(body: dict[str, Any]) -> bool:
    stages = body.get("manual_step_stages")
    return body.get("auto_render_full_video") is False or (isinstance(stages, list) and bool(stages))


def _pre_gate_rate(state: SandboxState) -> float:
    rate = (state.table.get("samsar_v2") or {}).get("step_pre_gate_per_second", PRE_GATE_PER_SECOND)
    return float(rate)


def _create(route_type: str) -> Any:
    def handler(call: Call) -> Response | Accepted:
        inp = call.inp
        if route_type == "image_to_video":
            duration: float = image_list_duration(call)
            full = call.price({"duration": duration})
        else:
            duration = inp["duration"]
            full = call.price()
        stops = _stops(call.body)
        first = min(full, duration * _pre_gate_rate(call.state) * call.state.config.price_factor) if stops else full
        first = int(first) if float(first).is_integer() else first
        refused = call.charge(first)
        if refused:
            return refused
        session = create(
            call, "step", first, duration=duration, aspect_ratio=aspect(inp), language=language(inp),
            has_subtitles=inp.get("enable_subtitles") is not False,
            provider=inp.get("video_model") or "RUNWAYML",
        )
        half = call.state.config.render_seconds / 2
        scenes = len(inp["image_urls"]) if route_type == "image_to_video" else max(1, min(12, round(duration / 5)))
        session.extra["step"] = {"route_type": route_type, "stops": stops, "gate": half, "approved": None,
                                 "full": full, "charged": first, "scenes": scenes}
        if stops:  # waits at the stop (or fails there, with a render_failure)
            session.ready_at = session.created_at + (half if session.fail else NEVER)
        now = call.state.now()
        return answer(call, session, first, status="PENDING", step=_state(session, now))

    return handler


# -- where a step render is -------------------------------------------------------------------


def _step(session: Session) -> dict[str, Any]:
    step: dict[str, Any] = session.extra["step"]
    return step


def waiting(session: Session, now: float) -> bool:
    st = _step(session)
    return (st["stops"] and st["approved"] is None and not session.fail and not session.cancelled
            and now - session.created_at >= st["gate"])


def _where(session: Session, now: float) -> tuple[str, str | None]:
    """(current step, next step)."""
    st = _step(session)
    status = session.status(now)
    if status == COMPLETED:
        return "video_generation", None
    elapsed = now - session.created_at
    if st["approved"] is not None or (not st["stops"] and elapsed >= st["gate"]):
        current = GATE
    elif elapsed >= st["gate"]:
        current = PRE_GATE[-1]
    else:
        current = PRE_GATE[min(len(PRE_GATE) - 1, int(len(PRE_GATE) * elapsed / max(st["gate"], 1e-9)))]
    if status in (FAILED, CANCELLED):
        return current, None
    order = (*PRE_GATE, *AFTER_GATE)
    return current, order[order.index(current) + 1]


def _label(step: str) -> str:
    return step.replace("_", " ").capitalize()


def _state(session: Session, now: float) -> dict[str, Any]:
    """samsar-js ``V2StepVideoState``."""
    st = _step(session)
    current, after = _where(session, now)
    stopped = waiting(session, now)
    return {
        "enabled": True, "route_type": st["route_type"],
        "status": "COMPLETED" if stopped else session.status(now),  # the stages before the stop are done
        "current_step": current, "current_step_label": _label(current), "next_step": after,
        "manual_step_stages": [GATE] if st["stops"] else [],
        "auto_advance_step_stages": [s for s in (*PRE_GATE, *AFTER_GATE) if not (st["stops"] and s == GATE)],
        "waiting_for_process_next": stopped, "requires_user_action": stopped, "can_process_next": stopped,
        "updated_at": iso(session.created_wall + max(0.0, now - session.created_at)),
    }


def _files(session: Session) -> str:
    return session.result_urls[0].rsplit("/", 1)[0] + "/"


def _made_before_gate(session: Session, now: float) -> bool:
    st = session.extra.get("step")
    span = st["gate"] if st else max(session.ready_at - session.created_at, 0.0) / 2
    return now - session.created_at >= span and not session.fail


def _resources(session: Session, now: float) -> dict[str, Any]:
    if not _made_before_gate(session, now):
        return {}
    base, n = _files(session), _scenes(session)
    made = {"image_generation": {"images": [f"{base}{session.id}-scene-{i + 1}.png" for i in range(n)]},
            "speech_generation": {"audio": [f"{base}{session.id}-speech.mp4"]}}
    return {stage: {"step": stage, "label": _label(stage), "status": "COMPLETED", "resources": made.get(stage, {})}
            for stage in PRE_GATE}


def step_payload(session: Session, now: float) -> dict[str, Any]:
    """samsar-js ``V2StepVideoStatusResponse``: the status fields and where the render is."""
    state = _state(session, now)
    payload = video_payload(session, now)
    payload.update(
        step_status=state["status"], current_step=state["current_step"],
        current_step_label=state["current_step_label"], next_step=state["next_step"],
        waiting_for_process_next=state["waiting_for_process_next"],
        process_next_url=f"/v2/video/step/{session.id}/process_next", step=state,
        current_step_resources={"step": state["current_step"], "label": state["current_step_label"],
                                "status": state["status"], "resources": {}},
        completed_step_resources=_resources(session, now),
    )
    return payload


# -- the detailed status: what was made so far ----------------------------------------------------


def _scenes(session: Session) -> int:
    st = session.extra.get("step")
    if st:
        return int(st["scenes"])
    v2 = session.extra.get("v2") or {}
    return int(v2.get("image_count") or max(1, min(12, round((session.duration or 5) / 5))))


def preview_session(session: Session, now: float, route_type: str) -> dict[str, Any]:
    """samsar-js ``VideoStatusDetailedSession``: the layers made so far (scene stills, narration)."""
    made = _made_before_gate(session, now)
    done = session.status(now) == COMPLETED
    base, n = _files(session), _scenes(session)
    length = float(session.duration or 5)
    layers = []
    for i in range(n):
        start, end = round(i * length / n, 3), round((i + 1) * length / n, 3)
        still = f"{base}{session.id}-scene-{i + 1}.png"
        layer: dict[str, Any] = {
            "index": i, "id": f"{session.id}-layer-{i + 1}", "startTime": start, "endTime": end,
            "duration": round(end - start, 3), "status": "COMPLETED" if made else "PENDING",
            "prompt": f"scene {i + 1}", "image": {"status": "COMPLETED" if made else "PENDING", "url": still if made else None},
        }
        if made:
            layer["preview"] = {"stage": "image_generation", "type": "image", "url": still}
        if done:
            layer["aiVideo"] = {"status": "COMPLETED", "url": session.result_urls[0]}
        layers.append(layer)
    audio = [{"index": 0, "type": "speech", "status": "COMPLETED", "startTime": 0, "endTime": length,
              "url": f"{base}{session.id}-speech.mp4", "remoteAudioLinks": [f"{base}{session.id}-speech.mp4"]}] if made else []
    completed = [s for s in PRE_GATE] if made else []
    if done:
        completed += list(AFTER_GATE)
    current = "video_generation" if done else ("image_generation" if made else "prompt_generation")
    out: dict[str, Any] = {
        "id": session.id, "requestId": session.id, "type": "video", "routeType": route_type,
        "currentStage": current, "previewStage": "image_generation" if made else "prompt_generation",
        "completedStages": completed, "stages": {s: ("COMPLETED" if s in completed else "PENDING") for s in (*PRE_GATE, *AFTER_GATE)},
        "layers": layers, "audioLayers": audio, "globalAudioLayers": [], "globalVideos": [],
    }
    if done:
        url = session.result_urls[0]
        out["result"] = {"url": url, "remoteURL": url, "videoLink": url, "hasSubtitles": session.has_subtitles,
                         "hasFooter": False, "language": session.language}
    return out


def detailed(session: Session, now: float) -> dict[str, Any]:
    """A detailed status: the status answer and ``session`` (``status_detail_schema: video_session_preview.v1``)."""
    step = "step" in session.extra
    payload = step_payload(session, now) if step else video_payload(session, now)
    payload["status_detail_schema"] = "video_session_preview.v1"
    payload["session"] = preview_session(session, now, "step" if step else "express")
    return payload


# -- reading and continuing -------------------------------------------------------------------------


def _find(state: SandboxState, owner: str | None, rid: str) -> Session | None:
    session = state.find(owner or "", rid, KIND)
    return session if session is not None and "step" in session.extra else None


def _reader(state: SandboxState, tail: str) -> Process:
    label = f"GET /v2/video/step/{{request_id}}/{tail}"

    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        state.counters.status_reads[label] += 1
        rid = request.path_params["request_id"]
        session = _find(state, owner, rid)
        if session is None:
            return message(404, f"Step render {rid} not found")
        state.counters.status_reads_by_id[rid] += 1
        now = state.now()
        return ok(step_payload(session, now) if tail == "status" else detailed(session, now))

    return process


def _process_next(call: Call) -> Response | Accepted:
    rid = call.request.path_params["request_id"]
    session = _find(call.state, call.owner, rid)
    if session is None:
        return call.style(404, f"Step render {rid} not found")
    now = call.state.now()
    if not waiting(session, now):
        current, _ = _where(session, now)
        return call.style(400, f"Step render {rid} is not waiting for process_next (status {session.status(now)}, "
                               f"current_step {current})")
    st = _step(session)
    rest = max(0, st["full"] - st["charged"])
    refused = call.charge(rest)
    if refused:
        return refused
    st["approved"] = now - session.created_at
    st["charged"] += rest
    session.credits_charged = st["charged"]
    session.ready_at = now + st["gate"]
    call.state.touch(session)
    return Accepted(step_payload(session, now), rest, call.remaining)


async def _with_path_id(request: Request) -> dict[str, Any] | str | None:
    """process_next's body is {} (its id is in the path): the id is part of what it asks for."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return "Request body must be JSON"
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    return {**body, "request_id": request.path_params["request_id"]}


def routes(state: SandboxState) -> list[HttpRoute]:
    """The step routes below /v2: the two creations, their status reads, process_next."""
    out = [submit_route(state, r, _create(r.family.removeprefix("step_")), normalise=step_controls)
           for r in ROUTES if r.family in ("step_text_to_video", "step_image_to_video")]
    for tail in ("status", "status_detailed"):
        reader = _reader(state, tail)

        async def get(request: Request, reader: Process = reader) -> Response:
            return await handle(state, request, gate, reader)

        out.append(HttpRoute(f"/video/step/{{request_id}}/{tail}", get, methods=["GET"]))
    proceed = submission(state, PROCESS_NEXT, _process_next, read=_with_path_id)

    async def post(request: Request) -> Response:
        return await handle(state, request, gate, proceed, endpoint=PROCESS_NEXT.endpoint, submission=True)

    out.append(HttpRoute(PROCESS_NEXT.path, post, methods=["POST"]))
    return out
