// Issue 48: one pod, many engines. A vLLM server's data-parallel ranks are scheduled one by
// one: behind one port (ranks learnt from its /metrics engine labels, or declared), each
// request names its rank in X-data-parallel-rank; or one port per rank (--endpoint
// HOST:PORT,PORT,..., an InferencePool's targetPorts). A server or a rank dying mid-run
// costs no request; a pod leaving takes all its ranks in one snapshot.
//
// Real ringgate + ringgate-sim processes (the sim plays vLLM's two forms, src/sim/README.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { start, binaries, startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { FakeKubeApi } from '../discovery/fake_kube_api.mjs';
import { waitFor } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const keep = (p) => { live.push(p); return p; };

async function debugEndpoints(gw) {
  return (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;
}

// Polls until the gateway knows `count` endpoints, all routable.
async function waitEndpoints(gw, count, timeoutMs = 10000) {
  let last;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    last = await debugEndpoints(gw);
    if (last.length === count && last.every((e) => e.routable)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not ${count} routable endpoints: ${JSON.stringify(last?.map((e) => [e.address, e.data_parallel_rank, e.routable]))}`);
}

async function complete(gw, prompt, headers = {}) {
  const r = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2 }),
  });
  const text = await r.text();
  return { status: r.status, engine: r.headers.get('x-sim-engine'), endpoint: r.headers.get('x-gateway-destination-endpoint'), text };
}

// A streamed completion read to its end: ok when it ends with [DONE] and carries no error event.
async function stream(gw, prompt) {
  try {
    const r = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt, max_tokens: 24, stream: true }),
    });
    const text = await r.text();
    return r.status === 200 && text.trimEnd().endsWith('data: [DONE]') && !text.includes('"error"') ? null : `${r.status} ${text.slice(-300)}`;
  } catch (e) {
    return String(e);
  }
}

// `n` long prompts with distinct prefixes (several KV blocks each).
const prompts = (n, tag) => Array.from({ length: n }, (_, i) => `${tag} conversation ${i}: ${'the same long system prompt, '.repeat(12)}`);

test('ranks behind one port are learnt from /metrics and scheduled one by one; a client\'s own rank never reaches vLLM', { timeout: 60000 }, async () => {
  const sim = keep(await startSim(['--data-parallel-size', '4', '--data-parallel-stats-interval-ms', '0']));
  const gw = keep(await startGateway(['--endpoint', `127.0.0.1:${sim.port}`, '--workers', '2']));
  const eps = await waitEndpoints(gw, 4);
  assert.deepEqual(eps.map((e) => e.data_parallel_rank).sort(), [0, 1, 2, 3]);
  for (const e of eps) {
    assert.equal(e.address, `127.0.0.1:${sim.port}`);
    assert.equal(e.rank_header, true);
    assert.equal(e.pod, '127.0.0.1');
  }
  // Each new prompt is placed on a rank by the gateway, and its repeats go back there (its
  // prefix is cached on that rank only). vLLM's own balancer, idle, would send every one of
  // these sequential requests to engine 0.
  const engines = new Set();
  for (const p of prompts(12, 'learnt')) {
    const first = await complete(gw, p);
    assert.equal(first.status, 200, first.text);
    engines.add(first.engine);
    for (let k = 0; k < 2; k++) {
      const again = await complete(gw, p);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.engine, first.engine, `a repeat of "${p.slice(0, 20)}" went to another rank`);
    }
  }
  assert.ok(engines.size >= 2, `the gateway placed prompts on ${[...engines]} only`);
  // Out of range for the sim (its 400 if forwarded), and a rank the gateway did not choose: removed.
  for (const own of ['9', '0', 'x']) {
    const r = await complete(gw, `own rank ${own}`, { 'X-data-parallel-rank': own });
    assert.equal(r.status, 200, r.text);
  }
  // /debug/pick names the rank it would choose, and every candidate's.
  const pick = await (await fetch(`${gw.adminUrl}/debug/pick?path=/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'which rank?' }),
  })).json();
  assert.equal(pick.endpoint, `127.0.0.1:${sim.port}`);
  assert.ok([0, 1, 2, 3].includes(pick.data_parallel_rank), JSON.stringify(pick));
  assert.deepEqual(pick.candidates.map((c) => c.data_parallel_rank).sort(), [0, 1, 2, 3]);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('inference_pool_ready_pods{name="vllm"}'), 4);  // llm-d counts endpoints (ranks) here
});

test('declared ranks: engine labels past dataParallelSize are counted, never scheduled', { timeout: 60000 }, async () => {
  const sim = keep(await startSim(['--data-parallel-size', '4', '--data-parallel-stats-interval-ms', '0']));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-dp-'));
  dirs.push(dir);
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${sim.port}", dataParallelSize: 2}`, ''].join('\n'));
  const gw = keep(await startGateway(['--config', file]));
  const eps = await waitEndpoints(gw, 2);
  assert.deepEqual(eps.map((e) => e.data_parallel_rank).sort(), [0, 1]);
  for (let i = 0; i < 8; i++) {
    const r = await complete(gw, `declared ${i}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(['0', '1'].includes(r.engine), `went to engine ${r.engine}`);
  }
  for (const t0 = performance.now(); ; await new Promise((r) => setTimeout(r, 20))) {
    const e = (await debugEndpoints(gw))[0];
    if (e.health.undeclared_engine_samples > 0) break;
    assert.ok(performance.now() - t0 < 5000, 'engines 2 and 3 were not counted as undeclared');
  }
});

// A front for `sim` that passes everything on and keeps the X-data-parallel-rank of each
// POST (null: none), in arrival order (the gateway's polls are GETs).
async function rankRecordingFront(sim) {
  const agent = new http.Agent({ keepAlive: true });
  const handle = { ranks: [] };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') handle.ranks.push(req.headers['x-data-parallel-rank'] ?? null);
    const up = http.request({ host: '127.0.0.1', port: sim.port, method: req.method, path: req.url,
      headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  handle.port = server.address().port;
  handle.stop = () => { server.closeAllConnections(); agent.destroy(); return new Promise((r) => server.close(r)); };
  return keep(handle);
}

// Issue 71 §7, rank boundaries: every request to a rank behind one port names its rank,
// the first (0) and the last (N-1) as every other, from the first request on (the test
// sends once /debug/endpoints shows the ranks: learnt ones come from the first scrape).
// Seen through a front: a sim without the header picks rank 0 itself when idle, so a
// request meant for rank 0 that lost its header would still land there.
for (const form of ['learnt', 'declared']) {
  test(`the forwarded X-data-parallel-rank names rank 0 and rank N-1 (${form} ranks)`, { timeout: 60000 }, async () => {
    const N = 4;
    const sim = keep(await startSim(['--data-parallel-size', String(N), '--data-parallel-stats-interval-ms', '0',
      '--inter-token-latency-ms', '20']));
    const front = await rankRecordingFront(sim);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-dp-'));
    dirs.push(dir);
    const file = path.join(dir, 'gateway.yaml');
    const address = `"127.0.0.1:${front.port}"`;
    const entry = form === 'declared' ? `{address: ${address}, dataParallelSize: ${N}}` : address;
    fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    static:',
      `    - ${entry}`, ''].join('\n'));
    const gw = keep(await startGateway(['--config', file, '--workers', '1']));
    const eps = await waitEndpoints(gw, N);
    assert.deepEqual(eps.map((e) => e.data_parallel_rank).sort(), [0, 1, 2, 3]);
    // N at a time, each in flight for a while, so that they spread over the ranks; rounds
    // until rank 0 and rank N-1 have each been named. Every request must name its rank.
    const named = new Set();
    for (let round = 0; round < 8 && !(named.has('0') && named.has(String(N - 1))); round++) {
      const rs = await Promise.all(Array.from({ length: N }, (_, i) => fetch(`${gw.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: `${form} round ${round} request ${i}`, max_tokens: 4,
          ignore_eos: true }),
      }).then(async (r) => ({ status: r.status, engine: r.headers.get('x-sim-engine'), text: await r.text() }))));
      for (const r of rs) assert.equal(r.status, 200, r.text);
      for (const rank of front.ranks) named.add(rank);
      assert.deepEqual(front.ranks.filter((rank) => !/^[0-3]$/.test(rank ?? '')), [],
        `round ${round}: requests forwarded without their rank (all: ${JSON.stringify(front.ranks)})`);
    }
    assert.ok(named.has('0') && named.has(String(N - 1)), `ranks named: ${JSON.stringify(front.ranks)}`);
  });
}

test('one port per rank: a rank SIGKILLed mid-run fails no request or stream; a server behind one port dying likewise', { timeout: 90000 }, async () => {
  // Pod A: two ranks, a port each (external load balancing). Pod B: two ranks behind one port.
  const a0 = keep(await startSim(['--data-parallel-size', '2', '--data-parallel-rank', '0', '--inter-token-latency-ms', '3']));
  const a1 = keep(await startSim(['--data-parallel-size', '2', '--data-parallel-rank', '1', '--inter-token-latency-ms', '3']));
  const b = keep(await startSim(['--data-parallel-size', '2', '--inter-token-latency-ms', '3']));
  const gw = keep(await startGateway(['--endpoint', `127.0.0.1:${a0.port},${a1.port}`, '--endpoint', `127.0.0.1:${b.port}`, '--workers', '2']));
  const eps = await waitEndpoints(gw, 4);
  const byPort = (port) => eps.filter((e) => e.address === `127.0.0.1:${port}`);
  assert.deepEqual(byPort(a0.port).map((e) => [e.data_parallel_rank, e.rank_header]), [[0, false]]);
  assert.deepEqual(byPort(a1.port).map((e) => [e.data_parallel_rank, e.rank_header]), [[1, false]]);
  assert.deepEqual(byPort(b.port).map((e) => e.data_parallel_rank).sort(), [0, 1]);

  const failures = [];
  let sent = 0;
  const load = async (until) => {
    while (!until()) {
      const p = `load ${sent++} ${'x '.repeat(40)}`;
      const err = await stream(gw, p);
      if (err) failures.push(err);
    }
  };
  let stopped = false;
  const workers = Array.from({ length: 6 }, () => load(() => stopped));
  // Each kill comes with streams under way, counted rather than timed (a sanitized build
  // on a loaded machine runs fewer a second).
  await waitFor('streams before the first kill', () => sent >= 12, 30000);
  a1.proc.kill('SIGKILL');  // one rank's process: its port refuses, the other rank lives on
  await waitFor('streams between the kills', () => sent >= 24, 30000);
  b.proc.kill('SIGKILL');   // a whole server behind one port: both its ranks at once
  await waitFor('streams after the second kill', () => sent >= 36, 30000);
  stopped = true;
  await Promise.all(workers);
  assert.deepEqual(failures, [], `${failures.length} of ${sent} streams failed`);
});

test('an InferencePool with a targetPort per rank: a pod\'s ranks join and leave together', { timeout: 60000 }, async () => {
  // One pod (127.0.0.2) with four rank processes, one port each.
  const ranks = [];
  for (let r = 0; r < 4; r++)
    ranks.push(keep(await start(binaries.sim, ['--host', '127.0.0.2', '--port', '0', '--data-parallel-size', '4', '--data-parallel-rank', String(r)])));
  const ports = ranks.map((s) => s.port);
  const api = await new FakeKubeApi().start();
  try {
    api.createObject('inferencepools', {
      metadata: { name: 'wide-ep' },
      spec: { selector: { matchLabels: { app: 'ds' } }, targetPorts: ports.map((number) => ({ number })), endpointPickerRef: { name: 'epp', port: { number: 9002 } } },
    });
    api.createPod('ds-0', { labels: { app: 'ds' }, ip: '127.0.0.2', port: ports[0] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-dp-'));
    dirs.push(dir);
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    kubernetes:',
      '      namespace: default', '      inferencePool: wide-ep', `      apiServer: ${api.url}`, ''].join('\n'));
    const gw = keep(await startGateway(['--config', file]));
    const eps = await waitEndpoints(gw, 4);
    assert.deepEqual(eps.map((e) => [e.address, e.data_parallel_rank, e.pod]).sort(),
      ports.map((p, r) => [`127.0.0.2:${p}`, r, 'ds-0']).sort());
    const m = await scrape(`${gw.adminUrl}/metrics`);
    assert.equal(m.get('inference_pool_ready_pods{name="wide-ep"}'), 4);  // as llm-d: one per (pod, targetPort)
    // Deleted: every look at the pool sees all four ranks or none, never some.
    api.deletePod('ds-0');
    const seen = new Set();
    for (const t0 = performance.now(); ; ) {
      const n = (await debugEndpoints(gw)).length;
      seen.add(n);
      if (n === 0) break;
      assert.ok(performance.now() - t0 < 5000, 'the pod\'s ranks did not leave');
    }
    assert.deepEqual([...seen].filter((n) => n !== 0 && n !== 4), [], `partial pools seen: ${[...seen]}`);
  } finally {
    await api.close();
  }
});
