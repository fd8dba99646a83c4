// samsar_js_drive.mjs: drive a Samsar stand-in (or the real API) with the official samsar-js client.
//
// Every call the samsar-js README (shared/api-docs/samsar-js-client-readme.txt, v0.48.31)
// lists that is media work, status, list or credits, with the README's own sample arguments,
// in dependency order (a follow-up acts on a session an earlier call created). Per call it
// records the HTTP method and path the client used, the HTTP status, and whether the RAW
// answer (before the client's own normalisation) has the shape the client's dist/index.d.ts
// and README expect.
//
//   SAMSAR_BASE_URL       base URL ending in /v1 (the client derives /v2 from it)   [required]
//   SAMSAR_API_KEY        bearer key                                                [required]
//   SANDBOX_CONTROL_URL   root of the renderer sandbox (its /_sandbox/clock moves time on);
//                         default: SAMSAR_BASE_URL without /v1. Set to "none" against a real
//                         API: then the script polls getStatus (deadline DRIVE_WAIT_SECONDS).
//   DRIVE_OUT             write the results as JSON to this file (default: stdout only)
//   DRIVE_EXTRAS=1        also call the client methods the issue names that the README does
//                         not show (getCreditsBalance, addExternalVideoOutroImage,
//                         createExternalVideoFromImageList) and the README's
//                         replaceBrandingFromImage through the client's low-level post()
//                         (samsar-js 0.48.48 has no such method; the path is a guess).
//
//   SAMSAR_JS             file URL of samsar-js's dist/index.js (tests/sandbox/test_samsar_js_drive.py
//                         installs the pinned version into a cache); default: the `samsar-js` package
//
// Exit code: 0 when every in-scope call answered 2xx with the expected shape, 1 otherwise,
// 2 on a usage error. Needs Node >= 18 and samsar-js.

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const { default: SamsarClient } = await import(process.env.SAMSAR_JS || 'samsar-js');

// -- the README's sample values --------------------------------------------------------

const EXTERNAL_USER = {
  provider: 'whop',
  unique_key: 'whop:usr_123',
  external_user_id: 'usr_123',
  external_app_id: 'app_abc',
  username: 'roy24x7',
};
const HOOK = { webhookUrl: 'https://example.com/webhook' };
const FOCUS = { x: 680, y: 296, width: 432, height: 432 };
// a 1x1 PNG, for the README's binary assignImageTitle sample
const PNG = Uint8Array.from(Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==', 'base64'));

// -- shape checks on the raw answer ---------------------------------------------------------
// Each returns a list of problems (empty: the shape is what the client expects).

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v) => typeof v === 'string' && v.length > 0;
function need(body, keys, test = str) {
  if (!isObj(body)) return [`answer is ${Array.isArray(body) ? 'an array' : typeof body}, not an object`];
  return keys.filter((k) => !test(body[k])).map((k) => `missing or malformed ${k}`);
}
function anyOf(body, keys) {
  if (!isObj(body)) return ['answer is not an object'];
  return keys.some((k) => str(body[k])) ? [] : [`none of ${keys.join('/')} present`];
}
const SHAPES = {
  // CreateVideoResponse / ExternalRequestResponse / V2StepVideoCreateResponse: request_id: string
  created: (b) => need(b, ['request_id']),
  // CreateVideoFromImageListResponse and the follow-up answers: all ids optional, one expected
  session: (b) => anyOf(b, ['request_id', 'session_id', 'sessionID']),
  clone: (b) => need(b, ['request_id', 'session_id', 'status']),
  cancel: (b) => [...need(b, ['status']), ...(isObj(b) && b.cancelled === true ? [] : ['cancelled is not true'])],
  stepCreated: (b) => [...need(b, ['request_id']), ...(isObj(b) && isObj(b.step) ? [] : ['no step object (README reads data.step.current_step)'])],
  status: (b) => need(b, ['request_id', 'session_id', 'status']),
  stepStatus: (b) => [...need(b, ['request_id', 'session_id', 'status']),
    ...(isObj(b) && (typeof b.waiting_for_process_next === 'boolean' || isObj(b.step)) ? [] : ['neither waiting_for_process_next nor step'])],
  detailed: (b) => [...need(b, ['request_id', 'session_id', 'status']),
    ...(isObj(b) && isObj(b.session) && Array.isArray(b.session.layers) ? [] : ['no session.layers preview'])],
  latest: (b) => need(b, ['session_id']),
  completedList: (b) => (Array.isArray(b) ? b.flatMap((it, i) => need(it, ['session_id', 'langauge', 'result_url']).map((p) => `[${i}] ${p}`)) : ['answer is not an array']),
  requests: (b) => (isObj(b) && Array.isArray(b.requests) ? [] : ['no requests array']),
  credits: (b) => need(b, ['remainingCredits'], (v) => typeof v === 'number'),
  removeBranding: (b) => need(b, ['image_url', 'request_id']),
  imageSet: (b) => [...need(b, ['request_id']), ...(isObj(b) && Array.isArray(b.image_urls) ? [] : ['no image_urls array'])],
  title: (b) => need(b, ['content']),
  template: (b) => need(b, ['template_id']),
  templateJson: (b) => [...need(b, ['template_id']), ...(isObj(b) && isObj(b.template_json) ? [] : ['no template_json object'])],
  receipt: (b) => [...need(b, ['template_id']), ...(isObj(b) && isObj(b.receipt_json) ? [] : ['no receipt_json object'])],
  rollup: (b) => [...anyOf(b, ['request_id', 'session_id']), ...(isObj(b) && (str(b.result_url) || str(b.status)) ? [] : ['neither result_url nor status'])],
};

// -- the run ----------------------------------------------------------------------------

export async function drive({ baseUrl, apiKey, controlUrl, extras = false, waitSeconds = 120, log = () => {} }) {
  const wire = []; // every HTTP exchange, in order
  const recording = async (url, init = {}) => {
    const res = await fetch(url, init);
    const text = await res.clone().text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    const sent = typeof init.body === 'string' ? JSON.parse(init.body) : init.body ? `[${init.body.constructor?.name ?? 'binary'}]` : null;
    wire.push({ method: init.method ?? 'GET', url: String(url), sent, status: res.status, body });
    return res;
  };
  const client = new SamsarClient({ apiKey, baseUrl, fetch: recording, timeoutMs: 30000 });
  const results = [];
  const ids = {};

  async function call(label, method, scope, shape, fn, { save } = {}) {
    const before = wire.length;
    const row = { label, method, scope, http: null, path: null, status: null, shape_ok: null, problems: [], error: null, sent: null, answer: null };
    try {
      const res = await fn();
      const ex = wire[wire.length - 1];
      Object.assign(row, { http: ex.method, path: pathOf(ex.url, baseUrl), status: res.status, sent: ex.sent, answer: ex.body });
      row.problems = SHAPES[shape](ex.body);
      row.shape_ok = row.problems.length === 0;
      if (save) {
        const d = ex.body ?? {};
        ids[save] = d.request_id ?? d.session_id ?? d.sessionID ?? d.template_id ?? null;
      }
    } catch (err) {
      const ex = wire.length > before ? wire[wire.length - 1] : null;
      if (ex) {
        Object.assign(row, { http: ex.method, path: pathOf(ex.url, baseUrl), status: ex.status, sent: ex.sent, answer: ex.body });
        row.error = messageOf(ex.body) ?? err.message;
      } else {
        row.error = `client refused before sending: ${err.message}`;
      }
    }
    results.push(row);
    log(`${String(row.status ?? '---').padEnd(4)} ${row.shape_ok ? 'shape-ok ' : row.status && row.status < 300 ? 'SHAPE-BAD' : '         '} ${label}  ${row.http ?? ''} ${row.path ?? ''}${row.error ? `  :: ${row.error.slice(0, 160)}` : ''}`);
    return row;
  }
  const id = (name, ...fallbacks) => ids[name] ?? fallbacks.map((f) => ids[f]).find(Boolean) ?? `missing_${name}`;

  async function settle() {
    // sessions become COMPLETED after the sandbox's render time: move its clock on, or poll
    if (controlUrl) {
      const res = await fetch(`${controlUrl}/_sandbox/clock`, { method: 'POST', body: JSON.stringify({ advance: 3600 }) });
      if (res.ok) return;
    }
    const target = ids.vidImg ?? ids.vidText;
    if (!target) return;
    const deadline = Date.now() + waitSeconds * 1000;
    while (Date.now() < deadline) {
      try {
        const s = await client.getStatus(target);
        if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(String(s.data.status).toUpperCase())) return;
      } catch { /* keep polling until the deadline */ }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  // 1. work that needs no earlier session ------------------------------------------------
  await call('createVideoFromText #1 (README sample)', 'createVideoFromText', 'media', 'created',
    () => client.createVideoFromText({ prompt: 'A drone shot of a beach at sunrise', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 30, font_key: 'Poppins', enable_subtitles: true }, HOOK), { save: 'vidText' });
  await call('createVideoFromText #2 (QR outro + footer, 9:16)', 'createVideoFromText', 'media', 'created',
    () => client.createVideoFromText({ prompt: 'A boutique hotel launch reel with cinematic room details', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 20, aspect_ratio: '9:16', generate_outro_image: true, cta_url: 'https://example.com/book', cta_text_top: 'Scan to book', cta_text_bottom: 'Opening offers', add_footer_animation: true, footer_metadata: [{ url: 'https://example.com/book', title: 'Book your stay' }] }));
  await call('createVideoFromImageList #1 (README sample)', 'createVideoFromImageList', 'media', 'session',
    () => client.createVideoFromImageList({ image_urls: ['https://example.com/a.jpg', 'https://example.com/b.jpg'], prompt: 'Cinematic sequence with smooth transitions', metadata: { project: 'demo' }, video_model: 'RUNWAYML', aspect_ratio: '16:9', language: 'en', font_key: 'Poppins', enable_subtitles: true }, HOOK), { save: 'vidImg' });
  await call('createVideoFromImageList #2 (provided outro + focus area)', 'createVideoFromImageList', 'media', 'session',
    () => client.createVideoFromImageList({ image_urls: ['https://example.com/a.jpg', 'https://example.com/b.jpg'], prompt: 'Product launch teaser with a clean final CTA', video_model: 'KLINGIMGTOVID3PRO', aspect_ratio: '16:9', outro_image_url: 'https://cdn.example.com/outro.png', add_outro_animation: true, add_outro_focus_area: true, outro_focust_area: FOCUS }));
  await call('createVideoFromImageList #3 (QR outro + narrator avatar)', 'createVideoFromImageList', 'media', 'session',
    () => client.createVideoFromImageList({ image_urls: [{ image_url: 'https://example.com/a.jpg', title: 'Blue Lagoon Tour' }, { image_url: 'https://example.com/b.jpg', title: 'Sunset Dinner' }], prompt: 'Travel offer reel with a scannable booking outro', video_model: 'RUNWAYML', aspect_ratio: '9:16', add_narrator_avatar: true, generate_outro_image: true, cta_url: 'https://example.com/book', cta_text_top: 'Scan to book', cta_text_bottom: 'Limited availability', cta_logo: 'https://cdn.example.com/logo-white.png', add_footer_animation: true, footer_metadata: [{ url: 'https://example.com/blue-lagoon', title: 'Blue Lagoon Tour' }, { url: 'https://example.com/sunset-dinner', title: 'Sunset Dinner' }] }));
  await call('createVideoFromImageList #4 (express CTA)', 'createVideoFromImageList', 'media', 'session',
    () => client.createVideoFromImageList({ image_urls: [{ image_url: 'https://example.com/a.jpg', title: 'Blue Lagoon Tour' }, { image_url: 'https://example.com/b.jpg', title: 'Sunset Dinner' }], prompt: 'Travel offer reel with concise scene CTAs', metadata: { brand: 'Guidestination', offer: 'Bookable Bangkok experiences' }, video_model: 'RUNWAYML', aspect_ratio: '9:16', express_cta_generation: true, cta_url: 'https://example.com/book' }));
  await call('createExternalVideoFromText (external user)', 'createExternalVideoFromText', 'media', 'created',
    () => client.createExternalVideoFromText(EXTERNAL_USER, { prompt: 'A sleek teaser for a futuristic running shoe', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 10, enable_subtitles: true }), { save: 'extRender' });
  if (extras) {
    await call('createExternalVideoFromImageList (extra)', 'createExternalVideoFromImageList', 'media', 'created',
      () => client.createExternalVideoFromImageList(EXTERNAL_USER, { image_urls: ['https://example.com/a.jpg', 'https://example.com/b.jpg'], video_model: 'RUNWAYML' }));
  }
  await call('createV2VideoFromText (README prose; sample #1 body)', 'createV2VideoFromText', 'media', 'created',
    () => client.createV2VideoFromText({ prompt: 'A drone shot of a beach at sunrise', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 30 }));
  await call('createV2VideoFromImageList (express CTA, internal billing)', 'createV2VideoFromImageList', 'media', 'session',
    () => client.createV2VideoFromImageList({ image_urls: ['https://cdn.example.com/a.png', 'https://cdn.example.com/b.png'], video_model: 'RUNWAYML', express_cta_generation: true, cta_url: 'https://example.com/book' }), { save: 'v2Video' });
  await call('createV2VideoFromImageList (externalUser option)', 'createV2VideoFromImageList', 'media', 'session',
    () => client.createV2VideoFromImageList({ image_urls: ['https://cdn.example.com/a.png', 'https://cdn.example.com/b.png'], video_model: 'KLINGIMGTOVID3PRO' }, { externalUser: EXTERNAL_USER }));
  const stepText = { prompt: 'A 20 second launch teaser for a new travel app', image_model: 'GPTIMAGE2', video_model: 'RUNWAYML', duration: 20, aspect_ratio: '16:9', enable_subtitles: true };
  await call('createV2StepVideoFromText (default 1-step)', 'createV2StepVideoFromText', 'media', 'stepCreated',
    () => client.createV2StepVideoFromText(stepText), { save: 'stepVideo' });
  await call('createV2StepVideoFromText (stepMode two_step)', 'createV2StepVideoFromText', 'media', 'stepCreated',
    () => client.createV2StepVideoFromText(stepText, { stepMode: 'two_step' }), { save: 'twoStep' });
  await call('createV2StepTextToVideo (alias)', 'createV2StepTextToVideo', 'media', 'stepCreated',
    () => client.createV2StepTextToVideo(stepText));
  const stepImage = { image_url: 'https://cdn.example.com/product-frame.png', prompt: 'Turn this product frame into a cinematic ad', video_model: 'KLINGIMGTOVID3PRO', aspect_ratio: '16:9' };
  await call('createV2StepVideoFromImage', 'createV2StepVideoFromImage', 'media', 'stepCreated',
    () => client.createV2StepVideoFromImage(stepImage), { save: 'stepImage' });
  await call('createV2StepImageToVideo (alias)', 'createV2StepImageToVideo', 'media', 'stepCreated',
    () => client.createV2StepImageToVideo(stepImage));
  await call('removeBrandingFromImage', 'removeBrandingFromImage', 'media', 'removeBranding',
    () => client.removeBrandingFromImage({ image_url: 'https://example.com/photo.png' }), { save: 'imgRm' });
  await call('extendImageList (with aspect_ratio)', 'extendImageList', 'media', 'imageSet',
    () => client.extendImageList({ image_urls: ['https://example.com/extra.jpg'], prompt: 'Create a cinematic travel header banner', num_images: 4, aspect_ratio: '16:9' }));
  await call('assignImageTitle (image_url)', 'assignImageTitle', 'media', 'title',
    () => client.assignImageTitle({ image_url: 'https://example.com/product-photo.png', metadata: { product: 'linen travel shirt', collection: 'spring essentials' } }));
  await call('assignImageTitle (binary upload)', 'assignImageTitle', 'media', 'title',
    () => client.assignImageTitle({ image: new Blob([PNG], { type: 'image/png' }), fileName: 'product-photo.png', mimeType: 'image/png', metadata: { product: 'linen travel shirt' } }));
  await call('assignV2ImageTitle', 'assignV2ImageTitle', 'media', 'title',
    () => client.assignV2ImageTitle({ image_url: 'https://cdn.example.com/product-frame.png', metadata: { product: 'travel shirt', channel: 'marketplace' } }));
  await call('createReceiptTemplate (free; prerequisite of a query)', 'createReceiptTemplate', 'template-free', 'template',
    () => client.createReceiptTemplate({ image_url: 'https://example.com/receipt-template.png', template_name: 'kbank-transfer-template' }), { save: 'template' });
  await call('getReceiptTemplateJson (free)', 'getReceiptTemplateJson', 'template-free', 'templateJson',
    () => client.getReceiptTemplateJson(id('template', 'none')));
  await call('queryReceiptTemplate (50 credits)', 'queryReceiptTemplate', 'media', 'receipt',
    () => client.queryReceiptTemplate({ image_url: 'https://example.com/receipt-instance.png', template_id: id('template') }));
  await call('enhanceAndGenerateRollupBanner', 'enhanceAndGenerateRollupBanner', 'media', 'rollup',
    () => client.enhanceAndGenerateRollupBanner({ images: [{ image_url: 'https://example.com/tile-1.png', image_text: 'Rooftop Bar', image_category: 'Social', overlay: { top_left: '2 hours', top_right: 'City', footer: 'Rooftop Bar' } }], header_image_url: 'https://example.com/header.png', footer_image_url: 'https://example.com/footer.png' }), { save: 'rollup' });
  if (extras) {
    await call('replaceBrandingFromImage via post("image/replace_branding") (extra; no client method)', 'replaceBrandingFromImage', 'media', 'session',
      () => client.post('image/replace_branding', { image_urls: ['https://example.com/photo.png', 'https://example.com/new-logo.png'] }));
  }

  // 2. follow-ups on finished sessions -------------------------------------------------------
  await settle();
  const src = id('vidImg', 'vidText');
  await call('updateVideoOutroImage (provided image)', 'updateVideoOutroImage', 'media', 'session',
    () => client.updateVideoOutroImage({ videoSessionId: src, outro_image_url: 'https://cdn.example.com/outro-v2.png', add_outro_animation: true, add_outro_focus_area: true, outro_focust_area: FOCUS }, HOOK));
  await call('updateVideoOutroImage (generated QR)', 'updateVideoOutroImage', 'media', 'session',
    () => client.updateVideoOutroImage({ videoSessionId: src, generate_outro_image: true, cta_url: 'https://example.com/book', cta_text_top: 'Scan to book', cta_text_bottom: 'Limited availability', add_outro_animation: true }, HOOK));
  await call('updateVideoFooterImage (CTA)', 'updateVideoFooterImage', 'media', 'session',
    () => client.updateVideoFooterImage({ videoSessionId: src, cta_text: 'Scan to book', cta_logo: 'https://cdn.example.com/logo-white.png', cta_url: 'https://example.com/book' }, HOOK));
  await call('updateVideoFooterImage (remove_footer)', 'updateVideoFooterImage', 'media', 'session',
    () => client.updateVideoFooterImage({ videoSessionId: src, remove_footer: true }));
  await call('addVideoOutroImage (README prose)', 'addVideoOutroImage', 'media', 'session',
    () => client.addVideoOutroImage({ videoSessionId: src, outro_image_url: 'https://cdn.example.com/outro.png', add_outro_animation: true }, HOOK));
  await call('translateVideo', 'translateVideo', 'media', 'session',
    () => client.translateVideo({ videoSessionId: src, language: 'es', enable_subtitles: false, translate_outro: true, translate_footer: true }, HOOK), { save: 'translated' });
  await call('cloneVideo', 'cloneVideo', 'media', 'clone',
    () => client.cloneVideo({ videoSessionId: src }, HOOK));
  const ext = id('extRender');
  await call('updateExternalVideoOutroImage (external user)', 'updateExternalVideoOutroImage', 'media', 'created',
    () => client.updateExternalVideoOutroImage(EXTERNAL_USER, { request_id: ext, generate_outro_image: true, cta_url: 'https://example.com/shop', cta_text_top: 'Scan to shop', cta_text_bottom: 'Limited drop', add_outro_animation: true }));
  await call('updateExternalVideoFooterImage (external user)', 'updateExternalVideoFooterImage', 'media', 'created',
    () => client.updateExternalVideoFooterImage(EXTERNAL_USER, { request_id: ext, cta_text: 'Scan to shop', cta_logo: 'https://cdn.example.com/logo-white.png', cta_url: 'https://example.com/shop' }));
  if (extras) {
    await call('addExternalVideoOutroImage (extra)', 'addExternalVideoOutroImage', 'media', 'created',
      () => client.addExternalVideoOutroImage(EXTERNAL_USER, { request_id: ext, outro_image_url: 'https://cdn.example.com/outro.png' }));
  }
  const v2 = id('v2Video', 'vidImg');
  await call('translateV2Video', 'translateV2Video', 'media', 'session',
    () => client.translateV2Video({ videoSessionId: v2, language: 'es', enable_subtitles: false, translate_outro: true, translate_footer: true }));
  await call('cloneV2Video', 'cloneV2Video', 'media', 'clone', () => client.cloneV2Video({ videoSessionId: v2 }));
  await call('regenerateV2VideoAvatar', 'regenerateV2VideoAvatar', 'media', 'session', () => client.regenerateV2VideoAvatar({ videoSessionId: v2 }));
  await call('updateV2VideoOutroImage (README prose)', 'updateV2VideoOutroImage', 'media', 'session',
    () => client.updateV2VideoOutroImage({ videoSessionId: v2, generate_outro_image: true, cta_url: 'https://example.com/book' }));
  await call('updateV2VideoFooterImage (README prose)', 'updateV2VideoFooterImage', 'media', 'session',
    () => client.updateV2VideoFooterImage({ videoSessionId: v2, cta_text: 'Scan to book', cta_url: 'https://example.com/book' }));
  await call('addV2VideoOutroImage (README prose)', 'addV2VideoOutroImage', 'media', 'session',
    () => client.addV2VideoOutroImage({ videoSessionId: v2, outro_image_url: 'https://cdn.example.com/outro.png' }));

  // 3. the step render: paused after its images, continued once -----------------------------------
  const two = id('twoStep', 'stepVideo');
  const paused = await call('getV2StepVideoStatus (two_step render)', 'getV2StepVideoStatus', 'status', 'stepStatus',
    () => client.getV2StepVideoStatus(two));
  const pausedBody = wire[wire.length - 1]?.body;
  const waiting = isObj(pausedBody) && (pausedBody.waiting_for_process_next === true || pausedBody.can_process_next === true
    || pausedBody.step?.waiting_for_process_next === true || pausedBody.step?.can_process_next === true);
  if (paused.status && paused.status >= 300) ids.stepWaiting = null;
  await call(`processNextV2StepVideo${waiting ? '' : ' (status did not say paused; called anyway)'}`, 'processNextV2StepVideo', 'media', 'stepStatus',
    () => client.processNextV2StepVideo(two));
  await call('getV2StepVideoStatusDetailed (1-step render)', 'getV2StepVideoStatusDetailed', 'status', 'detailed',
    () => client.getV2StepVideoStatusDetailed(id('stepVideo', 'twoStep')));

  // 4. chains: join needs the translation finished; subtitles need the join --------------------------
  await settle();
  await call('joinVideos', 'joinVideos', 'media', 'session',
    () => client.joinVideos({ session_ids: [src, id('translated', 'vidText')] }, HOOK), { save: 'joined' });
  await settle();
  await call('removeSubtitles', 'removeSubtitles', 'media', 'session',
    () => client.removeSubtitles({ videoSessionId: id('joined', 'vidImg') }, HOOK), { save: 'noSubtitles' });
  await settle();
  await call('addSubtitles', 'addSubtitles', 'media', 'session',
    () => client.addSubtitles({ videoSessionId: id('noSubtitles', 'vidImg') }, HOOK), { save: 'withSubtitles' });
  // cancel right away: the render it cancels must still be running
  await call('cancelRender', 'cancelRender', 'media', 'cancel',
    () => client.cancelRender({ videoSessionId: id('withSubtitles', 'vidText') }));

  // 5. status, lists, credits --------------------------------------------------------------
  await call('getStatus (video)', 'getStatus', 'status', 'status', () => client.getStatus(id('vidText')));
  await call('getImageStatus (image)', 'getImageStatus', 'status', 'status', () => client.getImageStatus(id('rollup', 'imgRm')));
  await call('fetchLatestVideoVersion', 'fetchLatestVideoVersion', 'status', 'latest', () => client.fetchLatestVideoVersion(id('vidText')));
  await call('getV2Status', 'getV2Status', 'status', 'status', () => client.getV2Status(v2));
  await call('getV2StatusDetailed', 'getV2StatusDetailed', 'status', 'detailed', () => client.getV2StatusDetailed(v2));
  await call('listCompletedVideoSessions', 'listCompletedVideoSessions', 'list', 'completedList', () => client.listCompletedVideoSessions());
  await call('listV2Requests', 'listV2Requests', 'list', 'requests', () => client.listV2Requests());
  await call('listExternalUserRequests (platform key + externalUser, limit 12)', 'listExternalUserRequests', 'list', 'requests',
    () => client.listExternalUserRequests(EXTERNAL_USER, { limit: 12 }));
  await call('listExternalUserRequests (external client, no user)', 'listExternalUserRequests', 'list', 'requests',
    () => client.listExternalUserRequests());
  await call('getV2Credits', 'getV2Credits', 'credits', 'credits', () => client.getV2Credits());
  await call('getV2Credits (externalUser)', 'getV2Credits', 'credits', 'credits', () => client.getV2Credits({ externalUser: EXTERNAL_USER }));
  await call('getV2UserCredits (README uses an app-key client; bearer here)', 'getV2UserCredits', 'credits', 'credits', () => client.getV2UserCredits());
  if (extras) {
    await call('getCreditsBalance (extra; what renderer reads today)', 'getCreditsBalance', 'credits', 'credits', () => client.getCreditsBalance());
  }
  return { results, wire };
}

function pathOf(url, baseUrl) {
  const u = new URL(url);
  const root = new URL(baseUrl).pathname.replace(/\/v1\/?$/, '');
  return u.pathname.slice(root.length) + (u.search ? u.search.replace(/([?&](request_id|session_id|template_id)=)[^&]+/g, '$1…') : '');
}
function messageOf(body) {
  if (isObj(body)) return body.message ?? body.detail ?? body.error ?? null;
  return typeof body === 'string' ? body.slice(0, 200) : null;
}

export function summarise(results) {
  const inScope = results.filter((r) => !r.label.includes('(extra'));
  const count = (rows, test) => rows.filter(test).length;
  const sum = (rows) => ({
    calls: rows.length,
    methods: new Set(rows.map((r) => r.method)).size,
    ok_2xx: count(rows, (r) => r.status >= 200 && r.status < 300),
    ok_2xx_shape_ok: count(rows, (r) => r.status >= 200 && r.status < 300 && r.shape_ok),
    http_404: count(rows, (r) => r.status === 404),
    http_400: count(rows, (r) => r.status === 400),
    http_other: count(rows, (r) => r.status && r.status >= 300 && ![400, 404].includes(r.status)),
    not_sent: count(rows, (r) => r.status === null),
  });
  return { in_scope: sum(inScope), with_extras: sum(results) };
}

async function main() {
  const baseUrl = process.env.SAMSAR_BASE_URL;
  const apiKey = process.env.SAMSAR_API_KEY;
  if (!baseUrl || !apiKey || !/\/v1\/?$/.test(baseUrl)) {
    console.error('set SAMSAR_BASE_URL (ending in /v1) and SAMSAR_API_KEY');
    process.exit(2);
  }
  const control = process.env.SANDBOX_CONTROL_URL ?? baseUrl.replace(/\/v1\/?$/, '');
  const { results } = await drive({
    baseUrl, apiKey, controlUrl: control === 'none' ? null : control,
    extras: process.env.DRIVE_EXTRAS === '1',
    waitSeconds: Number(process.env.DRIVE_WAIT_SECONDS ?? 120),
    log: (line) => console.log(line),
  });
  const summary = summarise(results);
  console.log(JSON.stringify(summary, null, 2));
  if (process.env.DRIVE_OUT) writeFileSync(process.env.DRIVE_OUT, JSON.stringify({ summary, results }, null, 2));
  const s = summary.in_scope;
  process.exit(s.ok_2xx_shape_ok === s.calls ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
