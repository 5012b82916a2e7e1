// Issue 34 (a): every path of the route table is proxied to a model server, routed as
// the table says (text-bearing paths by prefix and load, the others by load only),
// audio uploads are read as multipart/form-data and routed by their model form field
// (bounded, rewritten in place), /v1/models still lists the pool, and any other path
// is the gateway's own 404. Real ringgate + ringgate-sim processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';
import { wav } from '../sim/sim_helpers.mjs';

const MODEL = 'facebook/opt-125m';
const ALIAS = 'whisper-alias';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-routes-'));
let sims, gw;

before(async () => {
  sims = await Promise.all([0, 1, 2].map(() => startSim(['--model', MODEL])));
  live.push(...sims);
  const config = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: audio-alias}
spec:
  rules:
  - matches: [{model: {type: Exact, value: ${ALIAS}}}]
    targets: [{modelRewrite: ${MODEL}}]
`);
  gw = await startGateway(['--config', config]);
  live.push(gw);
  await waitRoutable(gw, 3);
});
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const long = (tag) => `${tag}: ` + 'the quick brown fox jumps over the lazy dog. '.repeat(40);

// One JSON request per proxied path, with text in the path's own fields.
const jsonPaths = {
  '/v1/completions': (t) => ({ model: MODEL, prompt: t, max_tokens: 1 }),
  '/v1/chat/completions': (t) => ({ model: MODEL, messages: [{ role: 'user', content: t }], max_tokens: 1 }),
  '/v1/embeddings': (t) => ({ model: MODEL, input: t }),
  '/pooling': (t) => ({ model: MODEL, input: [t] }),
  '/classify': (t) => ({ model: MODEL, input: t }),
  '/v1/score': (t) => ({ model: MODEL, text_1: t, text_2: ['a', 'b'] }),
  '/score': (t) => ({ model: MODEL, text_1: [t], text_2: ['a'] }),
  '/v1/rerank': (t) => ({ model: MODEL, query: t, documents: ['a', 'b'] }),
  '/rerank': (t) => ({ model: MODEL, query: 'q', documents: [t, 'b'] }),
  '/v2/rerank': (t) => ({ model: MODEL, query: t, documents: ['a'] }),
  '/tokenize': (t) => ({ model: MODEL, prompt: t }),
  '/detokenize': () => ({ model: MODEL, tokens: [1819043176, 1870078063, 6581362] }),
};
const prefixPaths = ['/v1/completions', '/v1/chat/completions', '/v1/embeddings', '/pooling', '/classify', '/v1/score',
  '/score', '/v1/rerank', '/rerank', '/v2/rerank'];
const loadPaths = ['/tokenize', '/detokenize', '/v1/audio/transcriptions', '/v1/audio/translations'];

function audioForm(model, extra = {}) {
  const form = new FormData();
  form.append('model', model);
  form.append('file', new Blob([wav(1)], { type: 'audio/wav' }), 'speech.wav');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

function send(apiPath, text) {
  if (apiPath.startsWith('/v1/audio/')) return fetch(`${gw.url}${apiPath}`, { method: 'POST', body: audioForm(MODEL) });
  return fetch(`${gw.url}${apiPath}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonPaths[apiPath](text)),
  });
}

// Where `n` requests with the same text go, one after another (nothing in flight between them).
async function destinations(apiPath, text, n) {
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    const res = await send(apiPath, text);
    const body = await res.text();
    assert.equal(res.status, 200, `${apiPath}: ${body}`);
    seen.add(res.headers.get('x-gateway-destination-endpoint'));
  }
  return seen;
}

test('every proxied path reaches a model server and gets its answer', async () => {
  const expect = {
    '/v1/completions': (b) => b.object === 'text_completion',
    '/v1/chat/completions': (b) => b.object === 'chat.completion',
    '/v1/embeddings': (b) => b.data[0].object === 'embedding',
    '/pooling': (b) => b.data[0].object === 'pooling',
    '/classify': (b) => b.data[0].num_classes === 2,
    '/v1/score': (b) => b.data.length === 2 && b.data[0].object === 'score',
    '/score': (b) => b.data[0].object === 'score',
    '/v1/rerank': (b) => b.results.length === 2,
    '/rerank': (b) => b.results.length === 2,
    '/v2/rerank': (b) => b.results.length === 1,
    '/tokenize': (b) => b.count > 0 && Array.isArray(b.tokens),
    '/detokenize': (b) => b.prompt === 'hello world',
    '/v1/audio/transcriptions': (b) => b.usage.seconds === 1,
    '/v1/audio/translations': (b) => typeof b.text === 'string',
  };
  for (const [apiPath, ok] of Object.entries(expect)) {
    const res = await send(apiPath, 'hello world');
    const body = await res.json();
    assert.equal(res.status, 200, `${apiPath}: ${JSON.stringify(body)}`);
    assert.ok(sims.some((s) => s.api === res.headers.get('x-gateway-destination-endpoint')), apiPath);
    assert.ok(ok(body), `${apiPath}: ${JSON.stringify(body)}`);
  }
  // /v1/responses is proxied too (the sim's Responses API; its state: responses_state.test.mjs).
  const responses = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'x' }),
  });
  const answer = await responses.json();
  assert.equal(responses.status, 200, JSON.stringify(answer));
  assert.ok(responses.headers.get('x-gateway-destination-endpoint'));
  assert.equal(answer.object, 'response');
  assert.match(answer.id, /^resp_[0-9a-f]{32}$/);
});

test('text-bearing paths route by prefix: the same text goes where it went before', async () => {
  for (const apiPath of prefixPaths) {
    const seen = await destinations(apiPath, long(apiPath), 8);
    assert.equal(seen.size, 1, `${apiPath} spread the same prefix over ${[...seen]}`);
  }
});

test('the other paths route by load only: the same request spreads over idle servers', async () => {
  for (const apiPath of loadPaths) {
    // Idle servers tie on load and ties are broken at random: 24 requests all on one
    // of 3 servers happen with probability 3^-23.
    const seen = await destinations(apiPath, long(apiPath), 24);
    assert.ok(seen.size > 1, `${apiPath} went to ${[...seen]} only`);
  }
});

test('/debug/pick reads each path as the data path does', async () => {
  for (const apiPath of [...prefixPaths, '/tokenize', '/detokenize']) {
    const res = await fetch(`${gw.adminUrl}/debug/pick?path=${apiPath}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonPaths[apiPath](long('pick'))),
    });
    const body = await res.json();
    assert.equal(res.status, 200, `${apiPath}: ${JSON.stringify(body)}`);
    if (prefixPaths.includes(apiPath)) assert.ok(body.total_blocks > 10, `${apiPath}: ${body.total_blocks} blocks`);
    else assert.equal(body.total_blocks, 0, apiPath);
  }
  const audio = new Response(audioForm(MODEL));
  const res = await fetch(`${gw.adminUrl}/debug/pick?path=/v1/audio/transcriptions`, {
    method: 'POST', headers: { 'content-type': audio.headers.get('content-type') }, body: await audio.arrayBuffer(),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).model, MODEL);
  const models = await fetch(`${gw.adminUrl}/debug/pick?path=/v1/models`, { method: 'POST', body: '{}' });
  assert.equal(models.status, 400);
});

test('audio: routed by the model form field, rewritten in place, bounded', async () => {
  const url = `${gw.url}/v1/audio/transcriptions`;
  // The alias is spliced out of the form: the sim only knows the real name.
  const aliased = await fetch(url, { method: 'POST', body: audioForm(ALIAS) });
  const answer = await aliased.json();
  assert.equal(aliased.status, 200, JSON.stringify(answer));
  assert.equal(answer.usage.seconds, 1);
  const stream = await fetch(url, { method: 'POST', body: audioForm(ALIAS, { stream: 'true' }) });
  assert.match(stream.headers.get('content-type'), /event-stream/);
  assert.match(await stream.text(), /data: \[DONE\]/);

  const unknown = await fetch(url, { method: 'POST', body: audioForm('no-such-model') });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'model_not_found');

  const cases = [
    [{ 'content-type': 'application/json' }, JSON.stringify({ model: MODEL }), 'invalid_content_type'],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nm', 'invalid_multipart'],
    [{ 'content-type': 'multipart/form-data; boundary=b' },
      Array.from({ length: 65 }, () => '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n').join('') + '--b--\r\n', 'too_many_parts'],
    [{ 'content-type': 'multipart/form-data; boundary=b' },
      `--b\r\nContent-Disposition: form-data; name="model"\r\nX-Pad: ${'p'.repeat(5000)}\r\n\r\nm\r\n--b--\r\n`, 'part_head_too_large'],
    [{ 'content-type': 'multipart/form-data; boundary=b' },
      `--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${'w'.repeat(70000)}\r\n--b--\r\n`, 'form_field_too_large'],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n--b--\r\n', 'missing_model'],
  ];
  for (const [headers, body, code] of cases) {
    const res = await fetch(url, { method: 'POST', headers, body });
    const json = await res.json();
    assert.equal(res.status, 400, code);
    assert.equal(json.error.code, code);
    assert.equal(res.headers.get('x-gateway-destination-endpoint'), null);
  }
});

test('/v1/models lists the pool; unknown paths are 404 and wrong methods 405, from the gateway', async () => {
  const models = await (await fetch(`${gw.url}/v1/models`)).json();
  assert.deepEqual(models.data.map((m) => m.id).sort(), [ALIAS, MODEL].sort());
  for (const p of ['/v1/foo', '/v3/rerank', '/tokenize/', '/v1/audio/speech', '/health', '/metrics', '/V1/models']) {
    const res = await fetch(`${gw.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 404, p);
    assert.equal((await res.json()).error.code, 'not_found');
    assert.equal(res.headers.get('x-gateway-destination-endpoint'), null);
  }
  const get = await fetch(`${gw.url}/v1/rerank`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  const post = await fetch(`${gw.url}/v1/models`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});
