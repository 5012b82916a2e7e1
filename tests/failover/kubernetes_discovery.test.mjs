// Issue 6, acceptance 2, through the gateway: ringgate runs with
// `pool.discovery.kubernetes.apiServer` pointing at a fake Kubernetes API server that
// speaks the real wire format (tests/discovery/fake_kube_api.mjs), and sims are named by
// EndpointSlices (one slice per sim: its own port, merged per service). Each change —
// add, ready → not ready, ready again, terminating, delete, a relist after a 410 ERROR
// event (the change made while the watch was not told), a dropped watch connection (the
// change replayed when the watch resumes) — must show in the gateway's routable set
// (/debug/endpoints) quickly, and requests must land only on routable endpoints
// (x-gateway-destination-endpoint). The lag of each step is measured from the moment the
// event was written (or the watch cut) to the arrival of the first /debug/endpoints answer showing it,
// and printed; the issue asks for 100 ms, the assertion allows more for a loaded machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway } from '../lib/procs.mjs';
import { FakeKubeApi, endpoint } from '../discovery/fake_kube_api.mjs';

const MODEL = 'facebook/opt-125m';
const TARGET_MS = 100;        // the issue's figure (reported)
const LIMIT_MS = 1500;        // asserted: generous on a machine with load ~20
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function endpoints(adminUrl) {
  const d = await (await fetch(`${adminUrl}/debug/endpoints`)).json();
  return {
    known: d.endpoints.map((e) => e.address).sort(),
    routable: d.endpoints.filter((e) => e.routable).map((e) => e.address).sort(),
  };
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Polls /debug/endpoints back to back until routable (and, if given, known) match;
// resolves with the time the first matching answer arrived (an upper bound of the lag:
// it includes up to one poll round trip).
async function until(adminUrl, want, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  let last;
  for (;;) {
    last = await endpoints(adminUrl);
    if (same(last.routable, want.routable) && (!want.known || same(last.known, want.known))) return performance.now();
    if (performance.now() > deadline) throw new Error(`endpoints ${JSON.stringify(last)}, want ${JSON.stringify(want)}`);
  }
}

async function destinations(url, n) {
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: `probe ${i} ${Math.random()}`, max_tokens: 1 }),
    });
    await r.text();
    assert.equal(r.status, 200, `probe ${i}: ${r.status}`);
    seen.add(r.headers.get('x-gateway-destination-endpoint'));
  }
  return [...seen].sort();
}

test('EndpointSlice changes reach the gateway\'s routable set and its routing', { timeout: 80000 }, async () => {
  const sims = [];
  for (let i = 0; i < 3; i++) sims.push(await startSim(['--model', MODEL]));
  live.push(...sims);
  const [A, B, C] = sims.map((s) => `127.0.0.1:${s.port}`);
  const slice = (i, conditions) => ({
    service: 'vllm',
    ports: [{ name: 'http', protocol: 'TCP', port: sims[i].port }],
    endpoints: [endpoint('127.0.0.1', { pod: `vllm-${i}`, ...conditions })],
  });
  const api = await new FakeKubeApi().start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-kube-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', '    kubernetes:', '      namespace: default', '      service: vllm', '      port: http',
    `      apiServer: ${api.url}`, '',
  ].join('\n'));
  try {
    api.createSlice('vllm-0', slice(0));
    const gw = await startGateway(['--config', config, '--workers', '2']);
    live.push(gw);
    await until(gw.adminUrl, { routable: [A] }, 10000);
    await api.waitForWatches(1);
    const lags = [];
    const step = async (label, want, change, { probe = true } = {}) => {
      const seen = until(gw.adminUrl, want);
      const at = await change();
      const lag = Math.max(0, (await seen) - at);
      lags.push({ label, lag });
      for (let i = 0; i < 3; i++) {  // it stays so (no flicker)
        const now = await endpoints(gw.adminUrl);
        assert.deepEqual(now.routable, want.routable, `${label}: routable set did not stay`);
      }
      if (probe) {
        const dests = await destinations(gw.url, 8);
        for (const d of dests) assert.ok(want.routable.includes(d), `${label}: a request went to ${d}, not routable (${want.routable})`);
      }
    };
    const at = (r) => r.at;
    await step('slice vllm-1 added', { routable: [A, B].sort() }, async () => at(api.createSlice('vllm-1', slice(1))));
    await step('vllm-1 ready → not ready', { routable: [A] }, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: false, serving: false, terminating: false }; })));
    await step('vllm-1 ready again', { routable: [A, B].sort() }, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: true, serving: true, terminating: false }; })));
    await step('vllm-1 terminating', { routable: [A] }, async () =>
      at(api.updateSlice('vllm-1', (s) => { s.endpoints[0].conditions = { ready: false, serving: true, terminating: true }; })));
    await step('slice vllm-1 deleted', { routable: [A], known: [A] }, async () => at(api.deleteSlice('vllm-1')));
    // 410: the watch is told nothing of vllm-2; the ERROR event makes the gateway relist.
    const listsBefore = api.listRequests().length;
    api.createSlice('vllm-2', { ...slice(2), silent: true });
    assert.deepEqual((await endpoints(gw.adminUrl)).known, [A], 'the watch was not told of vllm-2');
    await step('relist after a 410 ERROR event finds vllm-2', { routable: [A, C].sort() }, async () => at(api.expire()));
    assert.ok(api.listRequests().length > listsBefore, 'the 410 made the gateway list again');
    await api.waitForWatches(1);
    // A dropped watch: vllm-2 is deleted while no watch is open; the deletion is replayed
    // when the watch resumes from its resourceVersion.
    const watchesBefore = api.watchRequests().length;
    await step('dropped watch, vllm-2 deleted meanwhile', { routable: [A], known: [A] }, async () => {
      api.dropWatches();
      const t = performance.now();
      api.deleteSlice('vllm-2');
      return t;
    });
    assert.ok(api.watchRequests().length > watchesBefore, 'the watch was resumed');
    const sorted = lags.map((l) => l.lag).sort((a, b) => a - b);
    console.log(`EndpointSlice changes → routable set: ${lags.map((l) => `${l.label}: ${l.lag.toFixed(1)} ms`).join('; ')}` +
      ` (median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms; ` +
      `${lags.filter((l) => l.lag <= TARGET_MS).length} of ${lags.length} within ${TARGET_MS} ms)`);
    for (const l of lags) assert.ok(l.lag < LIMIT_MS, `${l.label}: ${l.lag.toFixed(1)} ms (≥ ${LIMIT_MS} ms)`);
  } finally {
    await api.close();
  }
});
