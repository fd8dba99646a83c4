"""The official TypeScript client, samsar-js, driven against the sandbox.

Installs samsar-js (pinned) once into a cache under the temp dir, then runs a small
ES module that calls the client's methods and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from renderer.sandbox import ManualClock, SandboxConfig, running_sandbox_sync
from helpers.sandbox_requests import samsar_js

pytestmark = pytest.mark.node

SCRIPT = r"""
const { default: SamsarClient, SamsarRequestError } = await import(process.env.SAMSAR_JS);
const base = process.env.SAMSAR_BASE_URL;
const client = new SamsarClient({ apiKey: 'k', baseUrl: base, timeoutMs: 10000 });
const out = {};
const advance = (s) => fetch(base.replace(/\/v1$/, '/_sandbox/clock'), {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advance: s }) });
async function finish(id, get = (i) => client.getStatus(i)) {
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const s = await get(id);
    seen.push(s.data.status);
    if (s.data.status === 'COMPLETED') return { seen, data: s.data };
    await advance(5);
  }
  throw new Error(`never completed: ${id} ${seen}`);
}

const a = await client.createVideoFromText({ prompt: 'Clouds', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 10 });
const b = await client.createVideoFromText({ prompt: 'Sea', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 20 },
                                           { webhookUrl: 'https://example.com/hook' });
out.create = { charged: a.creditsCharged, remaining: a.creditsRemaining, id: a.data.request_id };
const doneA = await finish(a.data.request_id);
out.statusA = { seen: doneA.seen, url: doneA.data.result_url, subs: doneA.data.has_subtitles, lang: doneA.data.result_language };
await finish(b.data.request_id);

const tr = await client.translateVideo({ videoSessionId: a.data.request_id, language: 'es' });
const join = await client.joinVideos({ session_ids: [a.data.request_id, b.data.request_id] });
const clone = await client.cloneVideo({ videoSessionId: a.data.request_id });
// addVideoOutroImage always sends generate_outro_image: false; the schema accepts it
const outro = await client.addVideoOutroImage({ videoSessionId: a.data.request_id, outro_image_url: 'https://cdn.example.com/o.png' });
const outro2 = await client.updateVideoOutroImage({ videoSessionId: a.data.request_id, generate_outro_image: true, cta_url: 'https://example.com/book' });
const list = await client.createVideoFromImageList({ image_urls: ['https://cdn.example.com/1.png', 'https://cdn.example.com/2.png'], video_model: 'RUNWAYML' });
out.charges = {
  translate: tr.creditsCharged, join: join.creditsCharged, clone: clone.creditsCharged, cloneBody: clone.data.creditsCharged,
  outro: outro.creditsCharged, outro2: outro2.creditsCharged, imageList: list.creditsCharged,
};
out.translated = (await finish(tr.data.session_id)).data.result_language;

const enh = await client.enhanceImage({ image_url: 'https://cdn.example.com/p.png', resolution: '2k' }, { idempotencyKey: 'enh-1' });
const enhAgain = await client.enhanceImage({ image_url: 'https://cdn.example.com/p.png', resolution: '2k' }, { idempotencyKey: 'enh-1' });
const rm = await client.removeBrandingFromImage({ image_url: 'https://cdn.example.com/w.png' });
const rollup = await client.enhanceAndGenerateRollupBanner({ images: [{ image_url: 'https://cdn.example.com/t.png', image_text: 'Bar' }] });
// the docs show a rollup completed within the request: no polling needed
out.rollupAnswer = { status: rollup.data.status, url: rollup.data.result_url, thumb: rollup.data.thumbnail_url };
const rollupDone = await client.getImageStatus(rollup.data.session_id);
out.images = {
  enhance: enh.creditsCharged, sameId: enh.data.request_id === enhAgain.data.request_id, remove: rm.creditsCharged,
  rollup: rollup.creditsCharged, thumb: Boolean(rollupDone.data.thumbnail_url),
};
out.rollupStatus = { status: rollupDone.data.status, url: rollupDone.data.result_url };
out.latest = (await client.fetchLatestVideoVersion(a.data.request_id)).data.result_language;

async function failure(fn) {
  try { await fn(); return { thrown: false }; }
  catch (e) { return { thrown: true, isRequestError: e instanceof SamsarRequestError, status: e.status, message: e.body?.message }; }
}
out.badKey = await failure(() => new SamsarClient({ apiKey: 'wrong', baseUrl: base })
  .createVideoFromText({ prompt: 'x', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 5 }));
out.badBody = await failure(() => client.enhanceImage({ image_url: 'https://cdn.example.com/p.png', resolution: '16k' }));
console.log(JSON.stringify(out));
"""


def test_official_client_against_the_sandbox(tmp_path: Path) -> None:
    module = samsar_js()
    script = tmp_path / "drive.mjs"
    script.write_text(SCRIPT)
    clock = ManualClock()
    with running_sandbox_sync(SandboxConfig(api_key="k", render_seconds=5, clock=clock)) as sb:
        env = {**os.environ, "SAMSAR_JS": module.as_uri(), "SAMSAR_BASE_URL": sb.base_urls["samsar"]}
        run = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60, env=env)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout.strip().splitlines()[-1])
        counters = sb.state.counters
        assert counters.accepted["samsar/video/create"] == 2  # the client's path for text-to-video
        assert counters.accepted["samsar/image/enhance_and_generate_rollup_banner"] == 1
        assert counters.idempotent_replays == 1
    assert out["create"] == {"charged": 300, "remaining": 100_000 - 300, "id": out["create"]["id"]}
    assert out["statusA"]["seen"][0] == "PENDING" and out["statusA"]["seen"][-1] == "COMPLETED"
    assert out["statusA"]["url"] and out["statusA"]["subs"] is True and out["statusA"]["lang"] == "en"
    assert out["charges"] == {"translate": 30, "join": 90, "clone": 0, "cloneBody": 0, "outro": 75, "outro2": 75, "imageList": 300}
    assert out["translated"] == "es" and out["latest"] == "en"
    assert out["images"] == {"enhance": 50, "sameId": True, "remove": 50, "rollup": 50, "thumb": True}
    rollup = out["rollupAnswer"]  # completed within the request (render_seconds is 5 here)
    assert rollup["status"] == "completed" and rollup["url"].endswith(".png") and rollup["thumb"].endswith("-thumb.png")
    assert out["rollupStatus"] == {"status": "COMPLETED", "url": rollup["url"]}
    assert out["badKey"] == {"thrown": True, "isRequestError": True, "status": 401, "message": "Invalid API key"}
    assert out["badBody"]["isRequestError"] and out["badBody"]["status"] == 400
    assert "resolution" in out["badBody"]["message"]
