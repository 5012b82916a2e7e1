// Issue 5's acceptance, part 2: the llm-d guide 6 scenario. Model servers come
// and go — 1 → 3 → 1 — behind configured endpoints (servers starting, SIGTERM,
// SIGKILL) and through EndpointSlice changes (add, ready → not ready, delete on a
// fake Kubernetes API server); the admin port's inference_pool_ready_pods follows
// each change within 1 s (the guide shows it lagging a scale-up by up to a minute).
// The lag of each step is measured from the change (a server's listening line, the
// signal, the watch event written) to the first /metrics scrape that shows it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway } from '../lib/procs.mjs';
import { freePort } from '../lib/prometheus.mjs';
import { FakeKubeApi, endpoint } from '../discovery/fake_kube_api.mjs';

const MODEL = 'facebook/opt-125m';
const LIMIT_MS = 1000;
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function readyPods(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = /^inference_pool_ready_pods\{name="vllm"\} (\S+)$/m.exec(text);
  assert.ok(m, 'no inference_pool_ready_pods{name="vllm"} sample');
  return Number(m[1]);
}

// Scrapes /metrics back to back from now on; `until(want)` resolves with the time the
// first scrape showing `want` was sent (performance.now()). 5 s at most.
function watchReadyPods(adminUrl) {
  return {
    async until(want, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      let last;
      for (;;) {
        const sent = performance.now();
        last = await readyPods(adminUrl);
        if (last === want) return sent;
        if (performance.now() > deadline) throw new Error(`ready_pods stayed ${last}, want ${want}`);
      }
    },
  };
}

// Runs `change` (which resolves with the moment the change happened), then measures how
// long until ready_pods shows `want`. The watcher runs concurrently with the change, so
// a scrape that shows it before `change` has even returned counts as lag 0.
async function step(label, adminUrl, want, change, lags) {
  const watcher = watchReadyPods(adminUrl);
  const seen = watcher.until(want);
  const at = await change();
  const lag = Math.max(0, (await seen) - at);
  lags.push({ label, want, lag });
  // Stays there (not a flicker): three more scrapes agree.
  for (let i = 0; i < 3; i++) assert.equal(await readyPods(adminUrl), want, `${label}: ready_pods did not stay ${want}`);
  return lag;
}

function report(title, lags) {
  const sorted = lags.map((l) => l.lag).sort((a, b) => a - b);
  console.log(`${title}: ${lags.map((l) => `${l.label} → ${l.want}: ${l.lag.toFixed(1)} ms`).join('; ')}` +
    ` (median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms)`);
  for (const l of lags) assert.ok(l.lag < LIMIT_MS, `${l.label}: ready_pods took ${l.lag.toFixed(1)} ms (≥ ${LIMIT_MS} ms)`);
}

// Starts a sim on `port` and resolves with the moment its listening line arrived.
async function startSimAt(port, sims) {
  const sim = await startSim(['--model', MODEL, '--port', String(port)]);
  const at = performance.now();
  live.push(sim);
  sims.push(sim);
  return at;
}

test('configured endpoints: servers start and stop, 1 → 3 → 1, ready_pods follows each within 1 s', async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const sims = [];
  await startSimAt(ports[0], sims);
  const gw = await startGateway(['--workers', '1', ...ports.flatMap((p) => ['--endpoint', `127.0.0.1:${p}`])]);
  live.push(gw);
  await watchReadyPods(gw.adminUrl).until(1);
  const lags = [];
  await step('second server starts', gw.adminUrl, 2, () => startSimAt(ports[1], sims), lags);
  await step('third server starts', gw.adminUrl, 3, () => startSimAt(ports[2], sims), lags);
  await step('SIGTERM (drains, exits)', gw.adminUrl, 2, async () => {
    const at = performance.now();
    sims[1].proc.kill('SIGTERM');
    return at;
  }, lags);
  await step('SIGKILL', gw.adminUrl, 1, async () => {
    const at = performance.now();
    sims[2].proc.kill('SIGKILL');
    return at;
  }, lags);
  // A server that died comes back on its port.
  await step('restart on the same port', gw.adminUrl, 2, () => startSimAt(ports[2], sims), lags);
  report('static endpoints', lags);
  // /debug/endpoints agrees: the dead one is known, not routable.
  const debug = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
  const routable = debug.endpoints.filter((e) => e.routable).map((e) => e.address).sort();
  assert.deepEqual(routable, [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[2]}`].sort());
  assert.equal(debug.endpoints.length, 3);
});

test('EndpointSlice discovery: add, ready → not ready, delete, 1 → 3 → 1, ready_pods follows each within 1 s', async () => {
  const sims = [];
  for (let i = 0; i < 3; i++) { const s = await startSim(['--model', MODEL]); live.push(s); sims.push(s); }
  const api = await new FakeKubeApi().start();
  const slice = (i, opts) => ({
    service: 'vllm',
    ports: [{ name: 'http', protocol: 'TCP', port: sims[i].port }],
    endpoints: [endpoint('127.0.0.1', { pod: `vllm-${i}`, ...opts })],
  });
  api.createSlice('vllm-0', slice(0));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-lag-'));
  dirs.push(dir);
  const config = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1',
    'kind: Gateway',
    'pool:',
    '  name: vllm',
    '  discovery:',
    '    kubernetes:',
    '      namespace: default',
    '      service: vllm',
    '      port: http',
    `      apiServer: ${api.url}`,
    '',
  ].join('\n'));
  try {
    const gw = await startGateway(['--config', config, '--workers', '1']);
    live.push(gw);
    await watchReadyPods(gw.adminUrl).until(1);
    // Per-pod series carry the pod name from the slice's targetRef, as llm-d's EPP labels them.
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(text, /^inference_pool_per_pod_queue_size\{model_server_pod="vllm-0",name="vllm"\} 0$/m);
    const lags = [];
    const at = (r) => r.at;
    await step('slice vllm-1 added', gw.adminUrl, 2, async () => at(api.createSlice('vllm-1', slice(1))), lags);
    await step('slice vllm-2 added', gw.adminUrl, 3, async () => at(api.createSlice('vllm-2', slice(2))), lags);
    await step('vllm-1 ready → not ready', gw.adminUrl, 2, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: false, serving: false, terminating: false }; })), lags);
    await step('slice vllm-2 deleted', gw.adminUrl, 1, async () => at(api.deleteSlice('vllm-2')), lags);
    await step('vllm-1 ready again', gw.adminUrl, 2, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: true, serving: true, terminating: false }; })), lags);
    await step('vllm-1 terminating', gw.adminUrl, 1, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: false, serving: true, terminating: true }; })), lags);
    report('EndpointSlice discovery', lags);
    assert.equal(api.listRequests().length, 1, 'every change came through the one watch');
  } finally {
    await api.close();
  }
});
