// Issue 16 through the real binaries (ringgate + ringgate-sim): flow control and
// per-tenant rate limits.
//   1. Priority: with the pool saturated, requests wait in the gateway; a critical
//      (priority 10) request that waits is dispatched before every sheddable (-1) one
//      still waiting (one sequence at a time on the sim: the order it serves them in is
//      the order the gateway dispatched them).
//   2. Bounds: sheddable traffic beyond the band's bound is refused at once with 429
//      (Retry-After, OpenAI-style body); what waited past the TTL gets 429 too.
//   3. Saturation: with one server saturated and the other free, nothing is forwarded
//      to the saturated one (the scorers are set to ignore load, so only the detector
//      keeps requests away).
//   4. Fairness: two tenants in one band, one with 10x the clients, both backlogged,
//      two workers and the light tenant's connections all on one of them: each gets
//      >= 45% of what is served (fairness holds across workers, not per worker).
//   5. Rate limits: a tenant past its tokens-per-minute budget gets 429 with correct
//      x-ratelimit-* headers and Retry-After; the other tenant is served.
//   6. A client that disconnects while queued leaves the queue at once.
//   7. Headroom: with `sheddableHeadroom`, sheddable requests leave slots of a server
//      free (critical requests in flight fill them first); a critical request arriving
//      then is dispatched at once.
//   8. Pipelining under flow control: requests pipelined on one connection while the pool
//      is saturated queue, then dispatch, and are answered in order; each starts at the
//      loop's turn end, not inside the previous one's call stack (a debug build asserts it,
//      so a start inside another's dispatch would kill the gateway).
// Each test awaits conditions (the gateway's /debug/flow), never a fixed sleep; the
// assertions count what happened, they do not time it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { keepAliveAgent, post } from '../config/model_traffic.mjs';
import { rawExchange, statuses } from './raw_http.mjs';

const MODEL = 'facebook/opt-125m';
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-flow-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

let configSerial = 0;
function writeConfig(sims, gatewayExtra, objectives = true) {
  const file = path.join(dir, `ringgate-${++configSerial}.yaml`);
  let text = `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
${gatewayExtra}
`;
  if (objectives) {
    text += `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: critical}
spec: {priority: 10}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: -1}
`;
  }
  writeFileSync(file, text);
  return file;
}

async function debugFlow(gw) {
  return (await fetch(`${gw.adminUrl}/debug/flow`)).json();
}
function band(flow, priority) {
  return flow.bands.find((b) => b.priority === priority) ?? { queued: 0, dispatched: 0, rejected: 0, evicted: 0 };
}
async function until(what, fn, timeoutMs = 15000) {
  const limit = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(performance.now() < limit, `timed out waiting for ${what}`);
    await sleep(10);
  }
}
// Every sim answered its first scrape: the detector only trusts fresh metrics.
async function untilRoutable(gw, n) {
  await until(`${n} fresh endpoints`, async () => {
    const f = await debugFlow(gw);
    return f.endpoints.length === n && f.endpoints.every((e) => e.routable && !e.saturated);
  });
}

let serial = 0;
const body = (tokens, extra = {}) => ({ model: MODEL, prompt: `q${++serial} ${'x'.repeat(serial % 11)}`, max_tokens: tokens, ...extra });

test('a waiting critical request is dispatched before every waiting sheddable one', { timeout: 60000 }, async () => {
  // One sequence at a time, 40 ms per token: the sim serves strictly in arrival order.
  const sim = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '40', '--prefill-overhead-ms', '20']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '2', '--config', writeConfig([sim], `
saturationDetector: {queueDepthThreshold: 1}
flowControl: {enabled: true, defaultRequestTTL: 60s}
`)]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(32);
  const order = [];
  const send = (name, headers, tokens) => post(agent, gw.url, '/v1/completions', body(tokens), headers, 50000)
    .then((r) => { order.push(name); return r; });

  // Two blockers fill the server (one running, one waiting there): the pool is saturated.
  const all = [send('blocker0', {}, 20), send('blocker1', {}, 20)];
  await until('the blockers in flight', async () => band(await debugFlow(gw), 0).dispatched >= 2);
  for (let i = 0; i < 4; i++) all.push(send(`s${i}`, { 'x-gateway-inference-objective': 'batch' }, 3));
  await until('4 sheddable requests handled', async () => {
    const b = band(await debugFlow(gw), -1);
    return b.queued + b.dispatched === 4;
  });
  for (let i = 0; i < 3; i++) all.push(send(`c${i}`, { 'x-gateway-inference-objective': 'critical' }, 3));
  const settled = await until('3 critical requests queued or dispatched', async () => {
    const f = await debugFlow(gw);
    const c = band(f, 10);
    return c.queued + c.dispatched === 3 ? f : null;
  });
  // Sheddable requests dispatched before the critical ones arrived may finish before them;
  // none that was still waiting may.
  const early = band(settled, -1).dispatched;
  const results = await Promise.all(all);
  for (const r of results) assert.equal(r.status, 200, r.body);
  const lastCritical = Math.max(...['c0', 'c1', 'c2'].map((n) => order.indexOf(n)));
  const sheddableBefore = order.slice(0, lastCritical).filter((n) => n.startsWith('s')).length;
  assert.ok(sheddableBefore <= early, `order ${order}: ${sheddableBefore} sheddable finished before the last critical, ${early} had been dispatched before the critical ones came`);
  assert.ok(early < 4, `every sheddable request was dispatched before the critical ones came (${early}): the test saw no waiting`);
  const flow = await debugFlow(gw);
  assert.equal(band(flow, 10).queued, 0);
  assert.equal(band(flow, -1).queued, 0);
  // A held request is one scheduling attempt (when it is placed), not one per re-check.
  let success = 0, failure = 0;
  for (const [k, v] of await scrape(`${gw.adminUrl}/metrics`)) {
    if (!k.startsWith('inference_extension_scheduler_attempts_total{')) continue;
    if (k.includes('status="success"')) success += v;
    else failure += v;
  }
  assert.equal(success, 9);
  assert.equal(failure, 0);
  agent.destroy();
});

test('sheddable traffic beyond the band bound is refused with 429 and Retry-After; the TTL answers 429 too', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '50']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '2', '--config', writeConfig([sim], `
saturationDetector: {queueDepthThreshold: 1}
flowControl:
  enabled: true
  defaultRequestTTL: 1500ms
  priorityBands: [{priority: -1, maxRequests: 2}]
`)]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(32);
  // A long request saturates the one server (40 tokens x 50 ms).
  const blockers = [post(agent, gw.url, '/v1/completions', body(40), {}, 30000), post(agent, gw.url, '/v1/completions', body(40), {}, 30000)];
  await until('blockers dispatched', async () => band(await debugFlow(gw), 0).dispatched >= 2);
  const shed = await Promise.all(Array.from({ length: 8 }, () =>
    post(agent, gw.url, '/v1/completions', body(2), { 'x-gateway-inference-objective': 'batch' }, 30000)));
  const codes = shed.map((r) => { try { return JSON.parse(r.body).error?.code; } catch { return null; } });
  const full = shed.filter((r, i) => r.status === 429 && codes[i] === 'queue_full');
  const timedOut = shed.filter((r, i) => r.status === 429 && codes[i] === 'queue_timeout');
  // Two workers, two places in the band: each worker holds one.
  assert.ok(full.length >= 6, `statuses ${shed.map((r) => r.status)} codes ${codes}`);
  assert.equal(full.length + timedOut.length + shed.filter((r) => r.status === 200).length, 8);
  for (const r of [...full, ...timedOut]) {
    assert.equal(r.headers['retry-after'], '1');
    const e = JSON.parse(r.body).error;
    assert.equal(e.type, 'rate_limit_error', r.body);  // the OpenAI type of a 429
    assert.ok(e.message.length > 0);
  }
  // The blockers outlive the TTL (2 s of tokens each): whatever waited got queue_timeout.
  for (const r of await Promise.all(blockers)) assert.equal(r.status, 200);
  const f = await debugFlow(gw);
  assert.equal(band(f, -1).rejected, full.length);
  assert.equal(band(f, -1).evicted, timedOut.length);
  // GAIE's flow-control families on :9090.
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('inference_extension_flow_control_queue_size{fairness_id="default-flow",inference_pool="vllm",model_name="facebook/opt-125m",priority="-1",target_model_name="facebook/opt-125m"}'), 0);
  assert.equal(m.get('llm_d_epp_flow_control_queue_size{fairness_id="default-flow",inference_pool="vllm",model_name="facebook/opt-125m",priority="-1",target_model_name="facebook/opt-125m"}'), 0);
  assert.equal(m.get('inference_extension_flow_control_request_queue_duration_seconds_count{fairness_id="default-flow",inference_pool="vllm",outcome="RejectedCapacity",priority="-1"}'), full.length);
  assert.ok(m.has('inference_extension_flow_control_pool_saturation{inference_pool="vllm"}'));
  agent.destroy();
});

test('sheddableHeadroom: sheddable requests leave slots free, critical ones fill them first and take one at once', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '4', '--inter-token-latency-ms', '50']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '2', '--config', writeConfig([sim], `
saturationDetector: {maxConcurrency: 4, sheddableHeadroom: 2}
flowControl: {enabled: true, defaultRequestTTL: 60s}
`)]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  assert.equal((await debugFlow(gw)).saturation_detector.sheddableHeadroom, 2);
  const agent = keepAliveAgent(16);
  const critical = { 'x-gateway-inference-objective': 'critical' };
  // One critical request of 5 s holds one of the two kept slots.
  const long = post(agent, gw.url, '/v1/completions', body(100), critical, 60000);
  await until('the long critical request in flight', async () => band(await debugFlow(gw), 10).dispatched === 1);
  // Four sheddable requests of 5 s: two run (4 slots - the reserve of 2, which the
  // critical one is using), two wait in the gateway.
  const shed = Array.from({ length: 4 }, () =>
    post(agent, gw.url, '/v1/completions', body(100), { 'x-gateway-inference-objective': 'batch' }, 60000));
  let last = null;
  const settled = await until('2 sheddable dispatched, 2 waiting', async () => {
    last = await debugFlow(gw);
    const b = band(last, -1);
    return b.dispatched === 2 && b.queued === 2 ? last : null;
  }).catch((e) => { throw new Error(`${e.message}; last /debug/flow: ${JSON.stringify([last?.endpoints, last?.bands])}`); });
  assert.equal(settled.endpoints[0].sheddable_inflight, 2);
  assert.equal(settled.endpoints[0].saturated_for_sheddable, true);
  assert.equal(settled.endpoints[0].saturated, false);
  // A second critical request takes the last kept slot while the sheddable ones wait.
  const short = await post(agent, gw.url, '/v1/completions', body(2), critical, 30000);
  assert.equal(short.status, 200, short.body);
  assert.equal(band(await debugFlow(gw), -1).dispatched, 2, 'a sheddable request was dispatched into the headroom (or the first two already ended)');
  for (const r of [await long, ...await Promise.all(shed)]) assert.equal(r.status, 200, r.body);
  assert.equal((await debugFlow(gw)).endpoints[0].sheddable_inflight, 0);
  agent.destroy();
});

test('nothing is forwarded to a saturated server while another is free', { timeout: 60000 }, async () => {
  const sims = await Promise.all([
    startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '50']),
    startSim(['--max-num-seqs', '4', '--inter-token-latency-ms', '5']),
  ]);
  procs.push(...sims);
  // Scorers that ignore load: without the detector, routing would be prefix/random.
  const gw = await startGateway(['--workers', '2', '--config', writeConfig(sims, `
scheduler: {scorers: {queue: 0, kv-cache: 0, prefix: 1}}
flowControl: {enabled: true}
`, false)]);
  procs.push(gw);
  await untilRoutable(gw, 2);
  // Saturate sims[0] with traffic that does not go through the gateway: 9 waiting, at
  // least 5 for the next 15 s (3 s a request).
  const direct = keepAliveAgent(16);
  const load = Array.from({ length: 10 }, () => post(direct, sims[0].url, '/v1/completions', body(60), {}, 60000));
  await until('sims[0] saturated in the gateway\'s view', async () => {
    const f = await debugFlow(gw);
    return f.endpoints.find((e) => e.endpoint === sims[0].api)?.saturated && !f.endpoints.find((e) => e.endpoint === sims[1].api)?.saturated;
  });
  const agent = keepAliveAgent(4);
  const destinations = [];
  for (let i = 0; i < 12; i++) {
    const r = await post(agent, gw.url, '/v1/completions', body(2), {}, 30000);
    assert.equal(r.status, 200, r.body);
    destinations.push(r.headers['x-gateway-destination-endpoint']);
  }
  assert.deepEqual([...new Set(destinations)], [sims[1].api], `destinations ${destinations}`);
  await sims[0].stop('SIGKILL');  // ends the direct load
  await Promise.all(load);
  direct.destroy();
  agent.destroy();
});

// The worker a keep-alive connection (one agent, one socket) landed on: the worker
// whose count of `tenant`'s dispatched requests grew by this request (/debug/flow).
function dispatchedPerWorker(flow, tenant) {
  return flow.workers.map((w) => w.flows.filter((f) => f.fairness_id === tenant).reduce((n, f) => n + f.dispatched, 0));
}
async function workerOf(gw, agent, tenant) {
  const before = dispatchedPerWorker(await debugFlow(gw), tenant);
  const r = await post(agent, gw.url, '/v1/completions', body(1), { 'x-gateway-inference-fairness-id': tenant }, 30000);
  assert.equal(r.status, 200, r.body);
  const after = dispatchedPerWorker(await debugFlow(gw), tenant);
  const grew = after.map((n, i) => n - before[i]);
  assert.equal(grew.reduce((a, b) => a + b, 0), 1, `one dispatch counted: ${grew}`);
  return grew.findIndex((d) => d === 1);
}

test('two tenants in one band, one with 10x the clients, both backlogged, the light one on one worker only: each gets >= 45% of what is served', { timeout: 120000 }, async (t) => {
  // 2 sims x 2 sequences, nothing waits inside a server: 4 slots the workers share.
  const sims = await Promise.all([0, 1].map(() => startSim(['--max-num-seqs', '2', '--inter-token-latency-ms', '10'])));
  procs.push(...sims);
  const gw = await startGateway(['--workers', '2', '--config', writeConfig(sims, `
saturationDetector: {queueDepthThreshold: 1, maxConcurrency: 2}
flowControl: {enabled: true, defaultRequestTTL: 120s}
`, false)]);
  procs.push(gw);
  await untilRoutable(gw, 2);
  // The light tenant's connections all on one worker: SO_REUSEPORT spreads connections
  // by a hash; open connections and keep those that landed where the first one did.
  const LIGHT = 6, HEAVY = 60;
  const lightAgents = [];
  let lightWorker = -1;
  for (let tries = 0; lightAgents.length < LIGHT; tries++) {
    assert.ok(tries < 80, `only ${lightAgents.length} of ${tries} connections landed on worker ${lightWorker}`);
    const agent = keepAliveAgent(1);
    const w = await workerOf(gw, agent, 'light');
    if (lightWorker < 0) lightWorker = w;
    if (w === lightWorker) lightAgents.push(agent);
    else agent.destroy();
  }
  const served = { heavy: 0, light: 0 };
  let stop = false;
  const client = (tenant, agent) => async () => {
    while (!stop) {
      const r = await post(agent, gw.url, '/v1/completions', body(3), { 'x-gateway-inference-fairness-id': tenant }, 60000);
      assert.equal(r.status, 200, r.body);
      served[tenant]++;
    }
    agent.destroy();
  };
  const clients = [...Array.from({ length: HEAVY }, () => client('heavy', keepAliveAgent(1))()),
    ...lightAgents.map((a) => client('light', a)())];
  // Both backlogged: each tenant has requests waiting.
  const queued = (flow, tenant) => flow.workers.flatMap((w) => w.flows).filter((f) => f.fairness_id === tenant).reduce((n, f) => n + f.queued, 0);
  await until('both tenants queued', async () => {
    const f = await debugFlow(gw);
    return queued(f, 'heavy') > 10 && queued(f, 'light') > 0;
  }, 30000);
  const startFlow = await debugFlow(gw);
  const from = { ...served };
  await until('200 more served', async () => served.heavy + served.light - from.heavy - from.light >= 200, 90000);
  const heavy = served.heavy - from.heavy, light = served.light - from.light;
  const endFlow = await debugFlow(gw);
  stop = true;
  await Promise.all(clients);
  // The placement held: every light request went through its one worker, and the heavy
  // tenant was served by both.
  // (Deltas: the probes of the connections not kept went to the other worker.)
  const lightBy = dispatchedPerWorker(endFlow, 'light').map((n, i) => n - dispatchedPerWorker(startFlow, 'light')[i]);
  const heavyBy = dispatchedPerWorker(endFlow, 'heavy').map((n, i) => n - dispatchedPerWorker(startFlow, 'heavy')[i]);
  assert.equal(lightBy.filter((n, i) => i !== lightWorker && n > 0).length, 0, `light served by ${lightBy}`);
  assert.ok(heavyBy.every((n) => n > 0), `heavy served by ${heavyBy}`);
  const total = heavy + light;
  t.diagnostic(`heavy ${heavy}, light ${light} (light on worker ${lightWorker}; heavy per worker ${heavyBy})`);
  assert.ok(light / total >= 0.45 && heavy / total >= 0.45, `heavy ${heavy}, light ${light} (light on worker ${lightWorker}; heavy per worker ${heavyBy})`);
});

test('a tenant over its token budget gets 429 with x-ratelimit-* headers; the other tenant is not affected', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '8']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '2', '--config', writeConfig([sim], `
rateLimits: {tokensPerMinute: 300, requestsPerMinute: 100}
`, false)]);
  procs.push(gw);
  const agent = keepAliveAgent(4);
  const ask = (tenant, headers = {}) => post(agent, gw.url, '/v1/completions',
    { model: MODEL, prompt: 'word '.repeat(40), max_tokens: 20 }, { 'x-gateway-inference-fairness-id': tenant, ...headers }, 30000);
  const greedy = [];
  for (let i = 0; i < 20; i++) {
    const r = await ask('greedy');
    greedy.push(r);
    if (r.status === 429) break;
  }
  const ok = greedy.filter((r) => r.status === 200);
  const refused = greedy.at(-1);
  assert.ok(ok.length >= 1, 'the first request fits the budget');
  assert.equal(refused.status, 429, `statuses ${greedy.map((r) => r.status)}`);
  for (const r of greedy) {
    assert.equal(r.headers['x-ratelimit-limit-tokens'], '300');
    assert.equal(r.headers['x-ratelimit-limit-requests'], '100');
    assert.match(r.headers['x-ratelimit-reset-tokens'], /^[0-9.]+s$/);
    assert.match(r.headers['x-ratelimit-reset-requests'], /^[0-9.]+s$/);
  }
  // Remaining tokens fall as the answers' usage is counted.
  const remaining = ok.map((r) => Number(r.headers['x-ratelimit-remaining-tokens']));
  for (let i = 1; i < remaining.length; i++) assert.ok(remaining[i] < remaining[i - 1], `remaining ${remaining}`);
  assert.equal(Number(refused.headers['x-ratelimit-remaining-requests']), 100 - ok.length);
  const retry = Number(refused.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 60, `retry-after ${refused.headers['retry-after']}`);
  const e = JSON.parse(refused.body).error;
  assert.equal(e.code, 'rate_limit_exceeded_tokens');
  assert.equal(e.type, 'rate_limit_error');
  // The other tenant has its own budget.
  const other = await ask('modest');
  assert.equal(other.status, 200, other.body);
  assert.equal(other.headers['x-ratelimit-remaining-requests'], '99');
  assert.ok(Number(other.headers['x-ratelimit-remaining-tokens']) > Number(refused.headers['x-ratelimit-remaining-tokens']));
  // The refusal is counted per tenant.
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_rate_limit_rejections_total{budget="tokens",tenant="greedy"}'), 1);
  // A tenant header past 128 bytes is refused, not tracked.
  const long = await ask('t'.repeat(200));
  assert.equal(long.status, 400);
  assert.equal(JSON.parse(long.body).error.code, 'invalid_tenant');
  agent.destroy();
});

test('a client that disconnects while its request waits leaves the queue at once', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '50']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '1', '--config', writeConfig([sim], `
saturationDetector: {queueDepthThreshold: 1}
flowControl: {enabled: true, defaultRequestTTL: 60s}
`)]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(4);
  const blockers = [post(agent, gw.url, '/v1/completions', body(40), {}, 30000), post(agent, gw.url, '/v1/completions', body(40), {}, 30000)];
  await until('blockers dispatched', async () => band(await debugFlow(gw), 0).dispatched >= 2);
  const payload = JSON.stringify(body(2));
  const req = http.request(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-gateway-inference-objective': 'critical' } });
  req.on('error', () => {});
  req.end(payload);
  await until('the request queued', async () => band(await debugFlow(gw), 10).queued === 1);
  req.destroy();
  const f = await until('the queue empty again', async () => { const f = await debugFlow(gw); return band(f, 10).queued === 0 ? f : null; });
  assert.equal(band(f, 10).dispatched, 0, 'it left without being dispatched');
  assert.equal(band(f, 10).evicted, 1);
  for (const r of await Promise.all(blockers)) assert.equal(r.status, 200);
  agent.destroy();
});

test('3 requests pipelined on one connection into a saturated pool queue, dispatch and are answered in order', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '40']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '1', '--config', writeConfig([sim], `
saturationDetector: {queueDepthThreshold: 1}
flowControl: {enabled: true, defaultRequestTTL: 60s}
`, false)]);
  procs.push(gw);
  let exited = null;
  gw.proc.on('exit', (code, signal) => { exited = code ?? signal; });
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(2);
  const blockers = [post(agent, gw.url, '/v1/completions', body(15), {}, 30000), post(agent, gw.url, '/v1/completions', body(15), {}, 30000)];
  await until('blockers dispatched', async () => band(await debugFlow(gw), 0).dispatched >= 2);
  const ids = ['pipe1', 'pipe2', 'pipe3'];
  const bytes = ids.map((id, i) => {
    const payload = JSON.stringify(body(3));
    const close = i === ids.length - 1 ? 'Connection: close\r\n' : '';
    return `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: ${id}\r\n${close}Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
  }).join('');
  const answered = rawExchange(gw.port, [bytes], { idleMs: 20000, maxMs: 40000 });
  await until('the first pipelined request queued', async () => band(await debugFlow(gw), 0).queued >= 1);
  const res = await answered;
  assert.equal(exited, null, 'the gateway is still running');
  assert.deepEqual(statuses(res.text), [200, 200, 200], res.text);
  assert.equal(res.closed, true, 'the third asked to close');
  assert.deepEqual([...res.text.matchAll(/x-request-id: (pipe\d)/g)].map((m) => m[1]), ids);
  for (const r of await Promise.all(blockers)) assert.equal(r.status, 200);
  const f = await debugFlow(gw);
  assert.equal(band(f, 0).queued, 0);
  assert.equal(band(f, 0).dispatched, 5);
  agent.destroy();
});

test('rate limits and flow control reload with the config file (SIGHUP)', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '8']);
  procs.push(sim);
  const file = writeConfig([sim], 'rateLimits: {requestsPerMinute: 1000}\n', false);
  const gw = await startGateway(['--workers', '2', '--config', file]);
  procs.push(gw);
  const agent = keepAliveAgent(2);
  const ask = () => post(agent, gw.url, '/v1/completions', body(2), { 'x-gateway-inference-fairness-id': 'reloaded' }, 30000);
  const before = await ask();
  assert.equal(before.status, 200, before.body);
  assert.equal(before.headers['x-ratelimit-limit-requests'], '1000');
  assert.equal(before.headers['x-ratelimit-limit-tokens'], undefined);
  writeFileSync(file, readFileSync(file, 'utf8').replace('rateLimits: {requestsPerMinute: 1000}', 'rateLimits: {requestsPerMinute: 3, tokensPerMinute: 100000}'));
  gw.proc.kill('SIGHUP');
  // The new budget applies to the same tenant's window: 1 of 3 used already.
  const after = await until('the reloaded budget', async () => {
    const r = await ask();
    return r.headers['x-ratelimit-limit-requests'] === '3' ? r : null;
  });
  assert.equal(after.headers['x-ratelimit-limit-tokens'], '100000');
  let last = after;
  for (let i = 0; i < 5 && last.status === 200; i++) last = await ask();
  assert.equal(last.status, 429);
  assert.equal(JSON.parse(last.body).error.code, 'rate_limit_exceeded_requests');
  agent.destroy();
});

test('fairness_id labels are bounded: past 64 series per worker a new id is counted as "other" (and counted)', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '8']);
  procs.push(sim);
  const gw = await startGateway(['--workers', '1', '--config', writeConfig([sim], 'flowControl: {enabled: true}\n', false)]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(1);
  for (let i = 0; i < 70; i++) {
    const r = await post(agent, gw.url, '/v1/completions', body(1), { 'x-gateway-inference-fairness-id': `tenant-${i}` }, 30000);
    assert.equal(r.status, 200, r.body);
  }
  agent.destroy();
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const ids = new Set();
  let otherDispatched = 0;
  for (const [series, v] of m) {
    const id = /^inference_extension_flow_control_request_queue_duration_seconds_count\{fairness_id="([^"]*)",.*outcome="Dispatched"/.exec(series)?.[1];
    if (id === undefined) continue;
    ids.add(id);
    if (id === 'other') otherDispatched += v;
  }
  assert.equal(ids.size, 65, [...ids].join(','));  // 64 named + "other"
  assert.equal(otherDispatched, 6);
  assert.equal(m.get('ringgate_metric_label_overflow_total{family="fairness_id"}'), 6);
  const f = await debugFlow(gw);
  assert.equal(f.workers[0].flows.length, 65);
});

test('a config reload that changes the saturation thresholds changes the detector and the reported gauge', { timeout: 60000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '8', '--inter-token-latency-ms', '20']);
  procs.push(sim);
  const file = writeConfig([sim], 'saturationDetector: {maxConcurrency: 4}\nflowControl: {enabled: true}\n', false);
  const gw = await startGateway(['--workers', '2', '--config', file]);
  procs.push(gw);
  await untilRoutable(gw, 1);
  const agent = keepAliveAgent(1);
  const longAgent = keepAliveAgent(1);
  // One long streamed request in flight (1500 tokens, 30 s: it must outlast every step below
  // on a loaded CI machine; its client hangs up once the second request is seen queued, which
  // frees its slot): saturation 1/4 under maxConcurrency 4. (An endpoint whose metrics went
  // stale counts as saturated, 1: on a machine starved enough to delay a scrape, each read
  // waits for fresh ones.)
  const long = post(longAgent, gw.url, '/v1/completions', body(1500, { stream: true }), {}, 50000);
  let f = await until('one request in flight (and fresh metrics)', async () => {
    const v = await debugFlow(gw);
    return v.endpoints[0].inflight === 1 && v.pool_saturation < 1 ? v : null;
  });
  assert.equal(f.saturation_detector.maxConcurrency, 4);
  assert.equal(f.endpoints[0].saturated, false);
  assert.ok(f.pool_saturation >= 0.25 && f.pool_saturation < 0.5, JSON.stringify(f));
  const gauge = async () => (await scrape(`${gw.adminUrl}/metrics`)).get('inference_extension_flow_control_pool_saturation{inference_pool="vllm"}');
  await until('the gauge at one request in four', async () => {
    const g = await gauge();
    return g >= 0.25 && g < 0.5 ? g : null;
  });
  // Reload with maxConcurrency 1: the same in-flight request now saturates the server.
  writeFileSync(file, readFileSync(file, 'utf8').replace('maxConcurrency: 4', 'maxConcurrency: 1'));
  gw.proc.kill('SIGHUP');
  f = await until('the reloaded detector', async () => {
    const v = await debugFlow(gw);
    return v.saturation_detector.maxConcurrency === 1 ? v : null;
  });
  assert.equal(f.endpoints[0].saturated, true, JSON.stringify(f));
  assert.ok(f.pool_saturation >= 1, JSON.stringify(f));
  assert.ok((await gauge()) >= 1);
  // And the workers' detector: a second request waits in the gateway until the first ends.
  const second = post(agent, gw.url, '/v1/completions', body(1), {}, 30000);
  await until('the second request queued', async () => band(await debugFlow(gw), 0).queued === 1);
  await sleep(300);
  assert.equal(band(await debugFlow(gw), 0).queued, 1, 'the second request stays queued while the first runs');
  longAgent.destroy();
  const [a, b] = await Promise.all([long, second]);
  assert.equal(a.status, 0);  // cut off by its own client
  assert.equal(b.status, 200, b.body);
  agent.destroy();
});

