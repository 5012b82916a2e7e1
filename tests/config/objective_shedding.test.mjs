// InferenceObjective priorities through the real binaries: a request naming an objective
// with a negative priority (header x-gateway-inference-objective, or llm-d's
// x-llm-d-inference-objective) is answered 429 when every endpoint is saturated, and
// served when they are not; requests with no objective, a non-negative one or an
// unknown one are never shed, even while the pool is saturated.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { keepAliveAgent, post } from './model_traffic.mjs';

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-shed-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

// What the gateway last scraped: each pod's waiting requests (inference_pool_per_pod_queue_size).
async function gatewayQueues(gw) {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  return [...m].filter(([k]) => k.startsWith('inference_pool_per_pod_queue_size{')).map(([, v]) => v);
}
async function untilGatewayQueues(gw, pred, what) {
  const limit = performance.now() + 5000;
  for (;;) {
    const q = await gatewayQueues(gw);
    if (q.length > 0 && pred(q)) return q;
    assert.ok(performance.now() < limit, `${what}: gateway sees queues ${q}`);
    await sleep(20);
  }
}

async function waiting(sim) {
  const m = await scrape(`${sim.url}/metrics`);
  for (const [k, v] of m) if (k.startsWith('vllm:num_requests_waiting')) return v;
  return NaN;
}

test('negative priority is shed (429) only while every endpoint is saturated; others are served', { timeout: 55000 }, async () => {
  // One sequence at a time, 1 s per answer (10 tokens x 100 ms): a handful of requests saturates a server.
  const simArgs = ['--max-num-seqs', '1', '--inter-token-latency-ms', '100'];
  const sims = await Promise.all([startSim(simArgs), startSim(simArgs)]);
  procs.push(...sims);
  const config = path.join(dir, 'ringgate.yaml');
  const objectives = (batchPriority) => `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["${sims[0].api}", "${sims[1].api}"]}}
# Queue depth decides here: a scrape that a loaded CI machine delays past GAIE's 200 ms
# default must not shed the idle-pool request (staleness has its own unit tests).
saturationDetector: {metricsStalenessThreshold: 2s}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: ${batchPriority}, poolRef: {name: vllm}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: interactive}
spec: {priority: 10}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: bulk}
spec: {priority: -5}
`;
  writeFileSync(config, objectives(-1));
  const gw = await startGateway(['--config', config]);
  procs.push(gw);
  const agent = keepAliveAgent(64);
  let serial = 0;
  // Distinct prompts, so prefix affinity does not pile them on one server.
  const ask = (headers = {}, tokens = 10) => post(agent, gw.url, '/v1/completions',
    { model: 'facebook/opt-125m', prompt: `request ${++serial} ${'w'.repeat(serial % 7)}`, max_tokens: tokens }, headers, 40000);

  // Idle pool: a sheddable request is served.
  const idle = await ask({ 'x-gateway-inference-objective': 'batch' }, 1);
  assert.equal(idle.status, 200, idle.body);

  // Saturate both servers: 20 ordinary requests, 1 running + ~9 waiting on each.
  const background = Array.from({ length: 20 }, () => ask());
  const give_up = performance.now() + 5000;
  let queues = [];
  for (;;) {
    queues = await Promise.all(sims.map(waiting));
    if (queues.every((q) => q >= 5)) break;
    assert.ok(performance.now() < give_up, `both servers saturated (waiting ${queues})`);
    await sleep(20);
  }
  await untilGatewayQueues(gw, (q) => q.every((n) => n >= 5), 'the gateway has scraped the saturation');

  const t = performance.now();
  const shed = await Promise.all([
    ...Array.from({ length: 8 }, () => ask({ 'x-gateway-inference-objective': 'batch' })),
    ...Array.from({ length: 2 }, () => ask({ 'x-llm-d-inference-objective': 'batch' })),
  ]);
  const shedMs = performance.now() - t;
  const served = Promise.all([ask(), ask({ 'x-gateway-inference-objective': 'interactive' }),
                              ask({ 'x-gateway-inference-objective': 'no-such-objective' })]);
  console.log(`saturated (waiting ${queues}): ${shed.filter((r) => r.status === 429).length}/10 sheddable answered 429 ` +
              `within ${Math.round(shedMs)} ms`);
  for (const r of shed) {
    assert.equal(r.status, 429, r.body);
    const body = JSON.parse(r.body);
    assert.equal(body.error.code, 'pool_saturated', r.body);
    assert.equal(typeof body.error.message, 'string');
  }
  assert.ok(shedMs < 5000, `shed at once, not after queueing (${shedMs} ms)`);

  // Objectives apply live: a reload makes batch non-sheddable while the pool is still
  // saturated (bulk, still negative, is the control that it is).
  writeFileSync(config, objectives(0));
  gw.proc.kill('SIGHUP');
  for (const limit = performance.now() + 5000; (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_config_reloads_total') !== 1;) {
    assert.ok(performance.now() < limit, 'reload applied');
    await sleep(20);
  }
  const batchAfter = ask({ 'x-gateway-inference-objective': 'batch' });
  const bulk = await ask({ 'x-gateway-inference-objective': 'bulk' });
  assert.equal(bulk.status, 429, `still saturated: bulk shed (${bulk.body})`);

  const rest = await served;
  const batch = await batchAfter;
  assert.equal(batch.status, 200, `after the reload batch is queued and served, not shed: ${batch.body}`);
  for (const r of rest) assert.equal(r.status, 200, `not sheddable, served: ${r.status} ${r.body}`);
  const bg = await Promise.all(background);
  assert.deepEqual(bg.map((r) => r.status), Array(20).fill(200));

  // Drained: sheddable requests are served again, once the gateway has seen the queues empty.
  await untilGatewayQueues(gw, (q) => q.every((n) => n === 0), 'the gateway has scraped the drained queues');
  const later = await ask({ 'x-gateway-inference-objective': 'batch' }, 1);
  assert.equal(later.status, 200, later.body);

  const m = await scrape(`${gw.adminUrl}/metrics`);
  let errors429 = 0;
  for (const [k, v] of m) {
    if (k.startsWith('inference_objective_request_error_total{') && k.includes('error_code="ResourceExhausted"')) errors429 += v;
  }
  assert.equal(errors429, 11, 'the 429s are counted');
  agent.destroy();
});
