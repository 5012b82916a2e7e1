// Issue 30: a stream whose model server breaks mid-way continues on another one, and the
// client cannot tell apart from a pause. Four ringgate-sims with one --seed (each output
// follows from the seed and the text so far, so any sim continues any other's output
// token for token); the gateway in front; streams of 64 tokens, completions and chat.
//   1. One sim is SIGKILLed while ~60-100 streams run on it: no stream ends in an error, every
//      text and usage equals the same request's unbroken answer taken straight from a
//      surviving sim, one id/created/model per stream, and the pause p99 is ≤ 250 ms.
//   2. Every sim drops 5% of its answers mid-way (--fail-mid-stream-rate 0.05), 2,000
//      streams: no client-visible error, every text whole, migrations counted.
//   3. Requests a continuation cannot carry exactly end with the SSE error event, counted
//      by reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const TOKENS = 64;
const SIM_ARGS = ['--mode', 'random', '--seed', '7', '--inter-token-latency-ms', '20', '--max-num-seqs', '1024'];
// The pause a migrated stream's client sees, p99: 250 ms; 1 s under the sanitizers (a
// build several times slower, beside other tests).
const PAUSE_P99_LIMIT_S = process.env.ASAN_OPTIONS ? 1 : 0.25;
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// Each sim draws its faults from its own seed: sims sharing --seed (so that each continues
// the others' text) would otherwise drop their k-th answers alike, and a stream moved from
// one to the next would meet the same drop again and again.
let faultSeed = 0;
async function startSims(count, extra = []) {
  const sims = await Promise.all(Array.from({ length: count }, () => startSim([...SIM_ARGS, '--fault-seed', String(++faultSeed), ...extra])));
  live.push(...sims);
  return sims;
}

async function gatewayFor(sims, extraConfig = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-migration-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', `    static: [${sims.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]`,
    'retries: {budget: 3, deadline: 30s}',
    ...extraConfig, '',
  ].join('\n'));
  const gw = await startGateway(['--config', config]);
  live.push(gw);
  await waitRoutable(gw, sims.length);
  return gw;
}

// Request i: even ones completions, odd ones chat, each with its own text.
function request(i) {
  if (i % 2 === 0) {
    return { path: '/v1/completions', body: { model: MODEL, prompt: `Request ${i}: the pod went away while `, max_tokens: TOKENS } };
  }
  return {
    path: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Question ${i}?` }], max_tokens: TOKENS },
  };
}

// Streams request i through `url`: { text, usage, finish, ids: Set of id|created|model, error }.
async function stream(url, i) {
  const { path: p, body } = request(i);
  const res = await fetch(`${url}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  const raw = await res.text();
  const out = { status: res.status, raw, text: '', usage: null, finish: null, ids: new Set(), error: null, done: raw.endsWith('data: [DONE]\n\n') };
  for (const e of raw.split('\n\n')) {
    if (!e.startsWith('data: {')) continue;
    const ev = JSON.parse(e.slice(6));
    if (ev.error) { out.error = ev.error; continue; }
    out.ids.add(`${ev.id}|${ev.created}|${ev.model}|${ev.system_fingerprint ?? ''}`);
    if (ev.usage) out.usage = ev.usage;
    for (const c of ev.choices) {
      out.text += c.text ?? c.delta?.content ?? '';
      if (c.finish_reason) out.finish = c.finish_reason;
    }
  }
  return out;
}

// The unbroken answer to request i, straight from one sim, not streamed.
async function unbroken(sim, i) {
  const { path: p, body } = request(i);
  const res = await fetch(`${sim.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await res.json();
  assert.equal(res.status, 200, JSON.stringify(j));
  const c = j.choices[0];
  return { text: c.text ?? c.message.content, usage: j.usage, finish: c.finish_reason };
}

// Runs fn(i) for i in [0, n) with at most `width` at once.
async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

// What the gateway says of its endpoints and migrations, for a failure's message.
async function gatewayState(gw) {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const moves = [...m].filter(([k, v]) => k.startsWith('ringgate_stream_migrations_total{') && v > 0).map(([k, v]) => `${k.slice(33)} ${v}`);
  const eps = (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints
    .map((e) => ({ address: e.address, routable: e.routable, health: e.health ?? e.passive_health, ...e }));
  return JSON.stringify({ migrations: moves, endpoints: eps }).slice(0, 4000);
}

async function checkWhole(gw, results, references) {
  try {
    checkResults(results, references);
  } catch (e) {
    throw new Error(`${e.message}\ngateway: ${await gatewayState(gw)}`);
  }
}

function checkResults(results, references) {
  results.forEach((r, i) => {
    const where = `request ${i} (${request(i).path})`;
    assert.equal(r.status, 200, `${where}: ${r.raw.slice(0, 300)}`);
    assert.equal(r.error, null, `${where} ended in an error: ${JSON.stringify(r.error)}`);
    assert.ok(r.done, `${where}: no [DONE]: ${r.raw.slice(-300)}`);
    assert.equal(r.ids.size, 1, `${where}: one id, created, model: ${[...r.ids]}`);
    assert.equal(r.text, references[i].text, where);
    assert.equal(r.finish, references[i].finish, where);
    const counts = (u) => [u?.prompt_tokens, u?.completion_tokens, u?.total_tokens];
    assert.deepEqual(counts(r.usage), counts(references[i].usage), `${where}: usage`);
  });
}

const migrations = (m, outcome) => [...m].filter(([k]) => k.startsWith('ringgate_stream_migrations_total{') && k.includes(`outcome="${outcome}"`))
  .reduce((sum, [, v]) => sum + v, 0);

// SIGKILLs `sim` `delayMs` after it first reports `running` sequences or more, or, on a
// machine too loaded to build that many up, at once when its count has stopped rising
// for 300 ms at `floor` or more. Watched from a worker thread (its own event loop). Resolves, once the
// sim has exited, to the count it last reported before the kill.
async function killWhenRunning(sim, running, floor, delayMs) {
  const exited = new Promise((resolve) => sim.proc.once('exit', resolve));
  const worker = new Worker(`
    const { parentPort, workerData: { url, pid, running, floor, delayMs } } = require('node:worker_threads');
    const series = /^vllm:num_requests_running\\{[^}]*\\} (\\S+)$/m;
    (async () => {
      let peak = 0, peakAt = Date.now();
      for (const t0 = Date.now(); Date.now() - t0 < 30000;) {
        const m = (await (await fetch(url)).text()).match(series);
        const now = m ? Number(m[1]) : 0;
        if (now > peak) { peak = now; peakAt = Date.now(); }
        const reached = now >= running;
        if (reached || (peak >= floor && Date.now() - peakAt > 300)) {
          if (reached) await new Promise((r) => setTimeout(r, delayMs));
          parentPort.postMessage(now);
          process.kill(pid, 'SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the victim never ran ' + floor + ' streams (at most ' + peak + ')');
    })();
  `, { eval: true, workerData: { url: `${sim.url}/metrics`, pid: sim.proc.pid, running, floor, delayMs } });
  let seen = 0;
  worker.on('message', (n) => { seen = n; });
  const failed = new Promise((_, reject) => worker.once('error', reject));
  await Promise.race([exited, failed]);
  return seen;
}

// The smallest bucket bound under which `q` of the pauses fall.
function pauseQuantile(m, q) {
  const count = m.get('ringgate_stream_migration_pause_seconds_count');
  const buckets = [...m].filter(([k]) => k.startsWith('ringgate_stream_migration_pause_seconds_bucket{'))
    .map(([k, v]) => ({ le: Number(k.match(/le="([^"]+)"/)[1].replace('+Inf', 'Infinity')), v })).sort((a, b) => a.le - b.le);
  return buckets.find((b) => b.v >= q * count).le;
}

test('a sim SIGKILLed under 400 streams: every stream continues elsewhere, token for token', { timeout: 120000 }, async () => {
  const sims = await startSims(4);
  const gw = await gatewayFor(sims);
  const victim = sims[0];
  const streams = pool(400, 400, (i) => stream(gw.url, i));
  // Kill it mid-way: once it runs 60 streams (or, on a loaded machine, at least 20 and no
  // more coming), 200 ms (~10 tokens) later.
  const ran = await killWhenRunning(victim, 60, 20, 200);
  const results = await streams;
  const references = await pool(400, 200, (i) => unbroken(sims[1 + (i % 3)], i));
  await checkWhole(gw, results, references);
  for (const r of references) assert.equal(r.usage.completion_tokens, TOKENS);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const resumed = migrations(m, 'resumed');
  assert.ok(resumed >= 20, `${resumed} streams resumed (the victim ran ${ran} 200 ms before): ${await gatewayState(gw)}`);
  assert.equal(migrations(m, 'gave_up'), 0);
  assert.equal(m.get('ringgate_stream_migration_pause_seconds_count'), resumed);
  const p99 = pauseQuantile(m, 0.99);
  assert.ok(p99 <= PAUSE_P99_LIMIT_S, `pause p99 ≤ ${p99} s`);
  console.log(`kill: the victim ran ${ran}, ${resumed} streams resumed, pause p99 ≤ ${p99} s`);
});

test('every sim drops 5% of its answers mid-way: 2,000 streams whole, migrations counted', { timeout: 150000 }, async () => {
  const sims = await startSims(4, ['--fail-mid-stream-rate', '0.05']);
  // A stream fails only when every leg breaks: 0.05^(1 + maxPerRequest) a stream. With the
  // default 2 that is ~1 run in 4 failing somewhere among 2,000 streams; 4 makes it 1 in 10^6.
  // Drops spread over every sim are not one sick server; passive ejection (3 failures in a
  // row, and a stream's success counts only at its end) would take sims out for seconds,
  // and a continuation could find none left. Ejection has its own tests.
  const gw = await gatewayFor(sims, ['migration: {maxPerRequest: 4}', 'health: {ejectAfterFailures: 100}']);
  const results = await pool(2000, 400, (i) => stream(gw.url, i));
  // The oracle keeps idle connections: undici forgets its own after ~4 s by a coarse timer, and
  // a loaded machine let the sim's 5 s (uvicorn's) close one first under a reused POST.
  const [reference] = await startSims(1, ['--timeout-keep-alive', '0']);
  const references = await pool(2000, 400, (i) => unbroken(reference, i));
  await checkWhole(gw, results, references);
  let drops = 0;
  for (const s of sims) drops += (await scrape(`${s.url}/metrics`)).get('ringgate_sim_mid_stream_drops_total');
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const resumed = migrations(m, 'resumed');
  assert.ok(drops >= 40, `${drops} answers dropped (5% of ≥ 2,000)`);
  assert.equal(resumed, drops, 'every drop resumed');
  assert.equal(migrations(m, 'gave_up'), 0);
  console.log(`fail-mid-stream-rate 0.05: ${drops} drops, ${resumed} resumed, pause p99 ≤ ${pauseQuantile(m, 0.99)} s`);
});

test('requests a continuation cannot carry exactly end with the error event, counted by reason', { timeout: 60000 }, async () => {
  const sims = await startSims(2, ['--fail-mid-stream-rate', '1']);
  const gw = await gatewayFor(sims);
  const prompt = 'The pod went away while ';
  const messages = [{ role: 'user', content: 'Why?' }];
  const kinds = [
    ['several_choices', '/v1/completions', { prompt, n: 2 }],
    ['logprobs', '/v1/completions', { prompt, logprobs: 1 }],
    ['echo', '/v1/completions', { prompt, echo: true }],
    ['prompt_shape', '/v1/completions', { prompt: [1, 2, 3, 4] }],
    ['logprobs', '/v1/chat/completions', { messages, logprobs: true }],
    ['guided_decoding', '/v1/chat/completions', { messages, response_format: { type: 'json_object' } }],
    ['continues_final_message', '/v1/chat/completions',
      { messages: [...messages, { role: 'assistant', content: 'Because' }], continue_final_message: true, add_generation_prompt: false }],
  ];
  const expected = new Map();
  for (const [reason, p, body] of kinds) {
    const res = await fetch(`${gw.url}${p}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, ...body, stream: true }),
    });
    const raw = await res.text();
    assert.equal(res.status, 200, `${reason}: ${raw}`);
    const last = raw.trim().split('\n\n').at(-1);
    assert.match(last, /^data: \{"error":/, `${reason} (${p}): ends with the error event: ${raw.slice(-300)}`);
    assert.doesNotMatch(raw, /\[DONE\]/, reason);
    expected.set(reason, (expected.get(reason) ?? 0) + 1);
  }
  const m = await scrape(`${gw.adminUrl}/metrics`);
  for (const [reason, n] of expected) {
    assert.equal(m.get(`ringgate_stream_migrations_total{outcome="gave_up",reason="${reason}"}`), n, reason);
  }
  assert.equal(migrations(m, 'resumed'), 0);
});
