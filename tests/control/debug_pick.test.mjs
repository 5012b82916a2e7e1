// POST /debug/pick on the admin port: the decision the data path would make for a
// request, made by the same router code, recording nothing. Real ringgate + ringgate-sim
// processes: sims publishing KV events behind a gateway in precise mode, and one in the
// default (approximate) mode, whose prefix index shows whether anything was recorded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { writePreciseConfig, debugEndpoints, waitSource } from '../sched/precise_gateway.mjs';
import { text } from '../lib/pseudo_text.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-pick-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const kvConfig = JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://127.0.0.1:*',
  topic: 'kv', replay_endpoint: 'tcp://127.0.0.1:*' });
const startEventSim = () => startSim(['--model', MODEL, '--kv-blocks', '256', '--block-size', '16', '--kv-events-config',
  kvConfig], { env: { PYTHONHASHSEED: '0' } });

async function send(url, body, apiPath = '/v1/completions') {
  const res = await fetch(`${url}${apiPath}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  await res.text();
  assert.equal(res.status, 200);
  return res.headers.get('x-gateway-destination-endpoint');
}

async function pick(gw, body, { apiPath = '/v1/completions', raw, headers = {} } = {}) {
  const res = await fetch(`${gw.adminUrl}/debug/pick?path=${apiPath}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
}

// What a real decision changes: scheduling statistics, in-flight counts, the prefix index.
async function recorded(gw) {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const sums = {};
  for (const [k, v] of m) {
    for (const name of ['scheduler_e2e_duration_seconds_count', 'scheduler_attempts_total', 'prefix_indexer_hit_ratio_count',
      'plugin_duration_seconds_count'])
      if (k.startsWith('inference_extension_' + name)) sums[name] = (sums[name] ?? 0) + v;
  }
  const eps = await debugEndpoints(gw);
  return { sums, inflight: eps.map((e) => e.inflight), index: eps.map((e) => e.prefix_index_entries) };
}

// Resolves once every server reads idle in the gateway's last scrape and nothing is in flight.
async function settled(gw, timeoutMs = 5000) {
  let eps;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    eps = await debugEndpoints(gw);
    if (eps.every((e) => e.metrics_fresh && e.running === 0 && e.waiting === 0 && e.kv_cache_usage === 0 && e.inflight === 0)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`servers not idle: ${JSON.stringify(eps)}`);
}

test('precise mode: the dry run picks the server whose KV events hold the prompt, and the data path agrees', async () => {
  const sims = await Promise.all([startEventSim(), startEventSim(), startEventSim()]);
  live.push(...sims);
  const gw = await startGateway(['--config', writePreciseConfig(dir, 'precise.yaml', sims)]);
  live.push(gw);
  await waitRoutable(gw, 3);
  let seed = 5000;
  for (const s of sims) {
    for (let i = 0; i < 100; i++) {
      await send(s.url, { model: MODEL, prompt: text(seed++, 100), max_tokens: 1 });
      try { await waitSource(gw, s.api, (p) => p.source === 'precise', 'precise', 200); break; } catch {}
    }
  }
  // A prompt warmed on the third sim directly: only its events say where it is.
  const warm = text(1, 3000);
  await send(sims[2].url, { model: MODEL, prompt: warm, max_tokens: 1 });
  await waitSource(gw, sims[2].api, (p) => p.blocks >= 40, 'the warm prompt\'s blocks');
  const r = await pick(gw, { model: MODEL, prompt: warm, max_tokens: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.match(r.type, /application\/json/);
  assert.equal(r.json.endpoint, sims[2].api);
  assert.equal(r.json.target_model, MODEL);
  assert.ok(r.json.precise_blocks >= 40, JSON.stringify(r.json));
  assert.equal(r.json.candidates.length, 3);
  // Precise mode's default load signal: the scraped picture only, in steps (replicas agree).
  assert.deepEqual(r.json.load_signal, { mode: 'shared', step: 4, kv_step: 0.25 });
  assert.equal((await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).load_signal.mode, 'shared');
  const byEndpoint = Object.fromEntries(r.json.candidates.map((c) => [c.endpoint, c]));
  assert.ok(byEndpoint[sims[2].api].prefix_blocks > 0);
  assert.equal(byEndpoint[sims[0].api].prefix_blocks, 0);
  // The default prefix-cache-affinity filter kept only the holder; the others are listed, marked.
  assert.equal(byEndpoint[sims[2].api].filtered, false);
  assert.equal(byEndpoint[sims[0].api].filtered, true);
  assert.equal(r.json.candidates.at(-1).filtered, true);
  assert.ok(byEndpoint[sims[2].api].total > byEndpoint[sims[0].api].total);

  // One request at a time on an idle pool: the dry run names where the request then goes,
  // completions and chat alike (chat bodies are rendered by the same tokenizer path).
  for (let i = 0; i < 12; i++) {
    const chat = i % 2 === 1;
    const apiPath = chat ? '/v1/chat/completions' : '/v1/completions';
    const body = chat
      ? { model: MODEL, messages: [{ role: 'system', content: text(100 + (i % 3), 600) }, { role: 'user', content: text(200 + i, 200) }], max_tokens: 1 }
      : { model: MODEL, prompt: text(100 + (i % 3), 600) + text(200 + i, 200), max_tokens: 1 };
    await settled(gw);  // nothing running, as scraped: no scrape can move the scores in between
    const before = await pick(gw, body, { apiPath });
    assert.equal(before.status, 200, JSON.stringify(before.json));
    const again = await pick(gw, body, { apiPath });
    // What a dry run could change (scrapes may move the sims' own numbers in between).
    const recordable = (j) => ({ matched: j.matched_blocks, total: j.total_blocks, precise: j.precise_blocks,
      candidates: j.candidates.map((c) => [c.endpoint, c.prefix_blocks, c.inflight]) });
    assert.deepEqual(recordable(again.json), recordable(before.json), 'a dry run changes nothing a second one would see');
    const seq = (await debugEndpoints(gw)).find((e) => e.address === before.json.endpoint).prefix_source.last_seq;
    assert.equal(await send(gw.url, body, apiPath), before.json.endpoint, `request ${i} (${apiPath})`);
    // Its blocks' events applied before the next dry run reads the picture.
    await waitSource(gw, before.json.endpoint, (p) => p.last_seq > seq, 'the request\'s events');
  }
});

test('approximate mode: a dry run records nothing (statistics, in-flight, prefix index); the real request does', async () => {
  const sims = await Promise.all([startSim(['--model', MODEL]), startSim(['--model', MODEL])]);
  live.push(...sims);
  const gw = await startGateway(['--endpoint', sims[0].api, '--endpoint', sims[1].api]);
  live.push(gw);
  await waitRoutable(gw, 2);
  const body = { model: MODEL, prompt: text(7, 4000), max_tokens: 1 };
  const start = await recorded(gw);
  for (let i = 0; i < 5; i++) assert.equal((await pick(gw, body)).status, 200);
  assert.deepEqual(await recorded(gw), start, 'five dry runs');
  const dest = await send(gw.url, body);
  const after = await recorded(gw);
  assert.notDeepEqual(after.index, start.index, 'the real request is remembered in the prefix index');
  assert.ok(after.sums.scheduler_attempts_total > (start.sums.scheduler_attempts_total ?? 0));
  // And the index it wrote is what the next dry run reads.
  const r = await pick(gw, body);
  assert.equal(r.json.endpoint, dest);
  assert.ok(r.json.matched_blocks > 0, JSON.stringify(r.json));
  // One prompt root against the sims' KV: the prefix scorer stands down (the filter keeps the holder).
  assert.equal(r.json.prefix_stood_down, true, JSON.stringify(r.json));
  assert.equal(r.json.load_signal.mode, 'local');  // approximate mode keeps the local signal
});

test('hostile input: OpenAI-style errors with the data path\'s statuses; the cap is the data path\'s body cap', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api, '--max-body-bytes', '65536']);
  live.push(gw);
  await waitRoutable(gw, 1);
  const isError = (r, status, code) => {
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.match(r.type, /application\/json/);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(typeof r.json.error.type, 'string');
    if (code) assert.equal(r.json.error.code, code);
  };
  isError(await pick(gw, null, { raw: '{"model": "x", "prompt": ' }), 400);
  isError(await pick(gw, null, { raw: '[1,2]' }), 400);
  isError(await pick(gw, { model: 'no-such-model', prompt: 'hello there', max_tokens: 1 }), 404, 'model_not_found');
  isError(await pick(gw, { model: MODEL, prompt: 'x' }, { apiPath: '/v1/models' }), 400, 'invalid_path');
  isError(await pick(gw, null, { raw: JSON.stringify({ model: MODEL, prompt: 'y'.repeat(70000) }) }), 413, 'body_too_large');
  // Within the cap it is read whole.
  assert.equal((await pick(gw, { model: MODEL, prompt: 'z'.repeat(60000) })).status, 200);
  // GET is not a dry run.
  assert.equal((await fetch(`${gw.adminUrl}/debug/pick`)).status, 405);
  // The other admin pages stay GET-only.
  assert.equal((await fetch(`${gw.adminUrl}/metrics`, { method: 'POST', body: 'x' })).status, 405);
  // A forced rewrite header is honoured as on the data path: routed as the model it names.
  const forced = await pick(gw, { model: 'alias-nobody-serves', prompt: 'hello', max_tokens: 1 },
    { headers: { 'x-gateway-model-name-rewrite': MODEL } });
  assert.equal(forced.status, 200, JSON.stringify(forced.json));
  assert.equal(forced.json.target_model, MODEL);
  assert.equal(forced.json.endpoint, sim.api);
});
