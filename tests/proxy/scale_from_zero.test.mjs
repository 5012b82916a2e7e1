// Scale from zero (issue 66) through the real binaries: a pool with no ready server holds
// requests (nothing sent to the client) until a server appears, then releases them in
// priority order, paced by the saturation detector; waiting out noEndpointRequestTTL with
// no server answers 503 rejected-no-endpoints; a client that leaves while held leaves no
// entry behind; the held requests show in llm_d_epp_flow_control_queue_size.
// The pool "starts empty" as a static pool can: its one endpoint (127.0.0.1:1) never
// answers; a SIGHUP with the file rewritten brings the sim in.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { waitFor, timeScale } from '../lib/timing.mjs';
import { startPrometheus } from '../lib/prometheus.mjs';
import { priorityObjectives } from './priority_objectives.mjs';

const MODEL = 'facebook/opt-125m';
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-s0-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

let configs = 0;
function config(endpoints, extra = '') {
  return `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${endpoints.map((e) => `"${e}"`).join(', ')}]}}
${extra}
${priorityObjectives}`;
}
function writeConfig(text) {
  const file = path.join(dir, `ringgate-${++configs}.yaml`);
  writeFileSync(file, text);
  return file;
}

// One request, read whole: {status, headers, body, at (ms, performance.now() of its first response byte), done}.
function ask(gw, { stream = false, objective, tenant, signal } = {}) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ model: MODEL, prompt: `hello ${Math.random()}`, max_tokens: 4, stream });
    const headers = { 'content-type': 'application/json' };
    if (objective) headers['x-gateway-inference-objective'] = objective;
    if (tenant) headers['x-gateway-inference-fairness-id'] = tenant;
    const req = http.request(`${gw.url}/v1/completions`, { method: 'POST', headers, signal }, (res) => {
      const at = performance.now();
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, at, done: performance.now() }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function queued(gw) {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  let n = 0;
  for (const [k, v] of m) if (k.startsWith('llm_d_epp_flow_control_queue_size{')) n += v;
  return n;
}

test('cold start: requests held while the pool is empty are all served 200 once a sim appears, highest priority first', { timeout: 60000 }, async (t) => {
  const flow = `flowControl: {enabled: true, noEndpointRequestTTL: 60s}
saturationDetector: {maxConcurrency: 2, metricsStalenessThreshold: 2s}`;
  const file = writeConfig(config(['127.0.0.1:1'], flow));
  const gw = await startGateway(['--workers', '1', '--config', file]);
  procs.push(gw);
  const objectives = ['high', 'mid', undefined];
  const pending = [];
  for (let i = 0; i < 24; ++i) {
    const objective = objectives[i % 3];
    pending.push(ask(gw, { stream: i % 2 === 0, objective, tenant: i % 4 < 2 ? 'a' : 'b' })
      .then((r) => ({ ...r, objective: objective ?? 'none', stream: i % 2 === 0 })));
  }
  await waitFor('24 requests held', async () => (await queued(gw)) === 24);
  const sim = await startSim(['--max-num-seqs', '2', '--inter-token-latency-ms', '20']);
  procs.push(sim);
  const released = performance.now();
  writeFileSync(file, config([sim.api], flow));
  gw.proc.kill('SIGHUP');
  const answers = await Promise.all(pending);
  for (const r of answers) {
    assert.equal(r.status, 200, r.body);
    assert.ok(r.at >= released, 'answered before the server was there');
    if (r.stream) assert.ok(r.body.trimEnd().endsWith('data: [DONE]'), r.body);
    else assert.equal(JSON.parse(r.body).choices.length, 1);
  }
  const last = (o) => Math.max(...answers.filter((r) => r.objective === o).map((r) => r.done));
  const first = (o) => Math.min(...answers.filter((r) => r.objective === o).map((r) => r.done));
  t.diagnostic(`release after the sim came: high done by ${(last('high') - released).toFixed(0)} ms, ` +
    `mid by ${(last('mid') - released).toFixed(0)} ms, none by ${(last('none') - released).toFixed(0)} ms`);
  // Two at a time (maxConcurrency 2): every high one is done before any unprioritized one ends.
  assert.ok(last('high') < first('none'), 'a priority-0 request ended before every priority-10 one');
  assert.ok(first('mid') < last('none'));
  await waitFor('the queue gauges back to 0', async () => (await queued(gw)) === 0);
});

test('noEndpointRequestTTL 3s with no server: 503 rejected-no-endpoints after 3 s', { timeout: 30000 }, async (t) => {
  const gw = await startGateway(['--config', writeConfig(config(['127.0.0.1:1'], 'flowControl: {noEndpointRequestTTL: 3s}'))]);
  procs.push(gw);
  const t0 = performance.now();
  const answers = await Promise.all([0, 1, 2, 3].map((i) => ask(gw, { stream: i % 2 === 0 })));
  for (const r of answers) {
    const waited = r.at - t0;
    assert.equal(r.status, 503, r.body);
    assert.equal(r.headers['x-llm-d-request-dropped-reason'], 'rejected-no-endpoints');
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(JSON.parse(r.body).error.code, 'no_endpoint');
    assert.ok(waited >= 3000 - 10, `answered after ${waited} ms`);
    assert.ok(waited <= 3000 + 500 * timeScale, `answered after ${waited} ms`);
  }
  t.diagnostic(`answered after ${answers.map((r) => (r.at - t0).toFixed(0)).join(', ')} ms`);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const evicted = [...m].filter(([k]) => k.startsWith('llm_d_epp_flow_control_request_queue_duration_seconds_count{') &&
    k.includes('outcome="EvictedNoEndpoints"')).reduce((s, [, v]) => s + v, 0);
  assert.equal(evicted, 4);
});

test('a client that disconnects while held leaves the queue gauges at 0', { timeout: 30000 }, async () => {
  const gw = await startGateway(['--config', writeConfig(config(['127.0.0.1:1'], 'flowControl: {noEndpointRequestTTL: 60s}'))]);
  procs.push(gw);
  const abort = new AbortController();
  const gone = ask(gw, { signal: abort.signal }).catch((e) => e);
  await waitFor('one request held', async () => (await queued(gw)) === 1);
  abort.abort();
  await gone;
  await waitFor('the queue gauges back to 0', async () => (await queued(gw)) === 0);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const bytes = [...m].filter(([k]) => k.startsWith('llm_d_epp_flow_control_queue_bytes{')).reduce((s, [, v]) => s + v, 0);
  assert.equal(bytes, 0);
});

test('a saturated server and a short TTL: 429 rejected-ttl-expired', { timeout: 30000 }, async () => {
  const sim = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '200']);
  procs.push(sim);
  const gw = await startGateway(['--config', writeConfig(config([sim.api],
    `flowControl: {enabled: true, defaultRequestTTL: 300ms}
saturationDetector: {maxConcurrency: 1, metricsStalenessThreshold: 2s}`))]);
  procs.push(gw);
  await waitFor('the sim routable', async () => (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json())
    .endpoints.some((e) => e.routable));
  const blocker = ask(gw);
  // The second goes once the first holds the server's one slot: sent together, two workers
  // can each find it free before either takes it.
  await waitFor('the first request in flight', async () => (await (await fetch(`${gw.adminUrl}/debug/endpoints`))
    .json()).endpoints.some((e) => e.inflight === 1));
  const waiting = ask(gw);
  const r = await waiting;
  assert.equal(r.status, 429, r.body);
  assert.equal(r.headers['x-llm-d-request-dropped-reason'], 'rejected-ttl-expired');
  assert.equal((await blocker).status, 200);
});

// The autoscaler's view: a real Prometheus scraping the admin port (as KEDA's Prometheus
// scaler reads it) sees the held request within one scrape, and 0 once it was released.
test('a real Prometheus reads llm_d_epp_flow_control_queue_size >= 1 within one scrape of the first held ' +
  'request, 0 after the release', { timeout: 60000 }, async (t) => {
  const INTERVAL_MS = 1000;
  const file = writeConfig(config(['127.0.0.1:1'], 'flowControl: {noEndpointRequestTTL: 60s}'));
  const gw = await startGateway(['--workers', '1', '--config', file]);
  procs.push(gw);
  const prom = await startPrometheus([`127.0.0.1:${gw.adminPort}`], { scrapeInterval: `${INTERVAL_MS}ms` });
  procs.push(prom);
  const held = async () => (await prom.query('sum(llm_d_epp_flow_control_queue_size{job="ringgate"})'))
    .reduce((s, r) => s + Number(r.value[1]), 0);
  await waitFor('Prometheus scraping the gateway', async () =>
    (await prom.query('up{job="ringgate"}')).some((r) => r.value[1] === '1'), 10000, 50);
  assert.equal(await held(), 0);
  const pending = ask(gw, { stream: true });
  await waitFor('the request held', async () => (await queued(gw)) === 1);
  const heldAt = performance.now();
  await waitFor('Prometheus reads it', async () => (await held()) >= 1, 5000, 20);
  const seenAfter = performance.now() - heldAt;
  const sim = await startSim();
  procs.push(sim);
  writeFileSync(file, config([sim.api], 'flowControl: {noEndpointRequestTTL: 60s}'));
  gw.proc.kill('SIGHUP');
  const r = await pending;
  assert.equal(r.status, 200, r.body);
  const answeredAt = performance.now();
  await waitFor('Prometheus reads 0', async () => (await held()) === 0, 5000, 20);
  const zeroAfter = performance.now() - answeredAt;
  t.diagnostic(`scrape every ${INTERVAL_MS} ms: held seen ${seenAfter.toFixed(0)} ms after it was held, ` +
    `0 seen ${zeroAfter.toFixed(0)} ms after the answer`);
  // One scrape (and the query's own time: a scrape of the admin port takes a few ms).
  assert.ok(seenAfter <= INTERVAL_MS + 200 * timeScale, `held seen after ${seenAfter} ms`);
  assert.ok(zeroAfter <= INTERVAL_MS + 200 * timeScale, `0 seen after ${zeroAfter} ms`);
});
