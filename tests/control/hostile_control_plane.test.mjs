// Issue 12: the control plane against hostile clients and hostile model servers,
// through the real gateway. Each test pins one "Why" bullet of the issue:
//  - a 2 MB (or control-character) model name is a 400, and client-chosen names never
//    become label values: /metrics stays small, unknown names count as "other";
//  - /metrics pages past a cap (8 MB, 50k model names, 50k adapters, +Inf) are failed
//    scrapes with a clear last_error, the control thread stays responsive, requests
//    keep going to the healthy endpoints, num_gpu_blocks is clamped;
//  - 1,000 idle or slow connections on :9090 do not lock /healthz out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway } from '../lib/procs.mjs';
import { timeScale } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const servers = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const s of servers) { s.closeAllConnections?.(); s.close(); }
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, probe, timeoutMs = 15000) {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// A fake model server: /v1/models lists MODEL, /metrics is `page` (chunked or with a length).
function fakeServer(page, { chunked = false } = {}) {
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model' }] }));
      } else if (req.url === '/metrics') {
        const headers = { 'content-type': 'text/plain' };
        if (!chunked) headers['content-length'] = String(page.length);
        res.writeHead(200, headers);
        res.end(page);
      } else {
        res.writeHead(500);
        res.end('not a real server');
      }
    });
    s.on('clientError', (_e, sock) => sock.destroy());
    s.listen(0, '127.0.0.1', () => { servers.push(s); resolve(s.address().port); });
  });
}

// Repeats `line(i)` until the page reaches `bytes`.
function page(bytes, line) {
  const parts = [];
  let size = 0;
  for (let i = 0; size < bytes; ++i) { const l = line(i); parts.push(l); size += l.length; }
  return Buffer.from(parts.join(''));
}

const EIGHT_MB = 8 << 20;
const hostilePages = [
  page(EIGHT_MB, (i) => `vllm:num_requests_waiting{model_name="m${i}"} 1\n`),
  page(EIGHT_MB, (i) => (i === 0 ? 'vllm:lora_requests_info{max_lora="1",waiting_lora_adapters="",running_lora_adapters="' : '') +
    `a${i},` + (i % 1000 === 999 ? '"} 1\nvllm:lora_requests_info{max_lora="1",waiting_lora_adapters="",running_lora_adapters="' : '')),
  page(EIGHT_MB, (i) => (i === 0 ? 'vllm:kv_cache_usage_perc{model_name="x"} +Inf\n' : `# padding ${i}\n`)),
  page(EIGHT_MB, (i) => (i === 0 ? 'vllm:cache_config_info{block_size="16",num_gpu_blocks="1000000000000"} 1\n' : `# padding ${i}\n`)),
];

async function timedGet(url) {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - t0 };
}

// What a probe may take: 100 ms (stretched under the sanitizers) more than a sim's /health
// probed at the same moments. The reference takes what the machine adds to both: two cores
// shared with other test files (three at once once read healthz p50 294 ms, the sim's too
// slow to serve 3-token completions in under 700 ms), and this process serving the 8 MB
// pages. A blocked admin server takes seconds.
const PROBE_LIMIT_MS = 100 * timeScale;
const p95of = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

const completion = (gw, body) => fetch(`${gw.url}/v1/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

test('8 endpoints serving hostile 8 MB /metrics pages: /healthz within 100 ms, requests go to the healthy ones', async () => {
  const sims = [await startSim(['--model', MODEL]), await startSim(['--model', MODEL])];
  live.push(...sims);
  const hostile = [];
  for (let i = 0; i < 8; ++i) hostile.push(await fakeServer(hostilePages[i % 4], { chunked: i >= 4 }));
  const endpoints = [...sims.map((s) => `127.0.0.1:${s.port}`), ...hostile.map((p) => `127.0.0.1:${p}`)];
  const gw = await startGateway(['--workers', '2', ...endpoints.flatMap((e) => ['--endpoint', e])]);
  live.push(gw);

  // Every hostile endpoint ends up unroutable with a clear reason; the sims stay routable.
  let debug;
  await waitFor('hostile endpoints refused', async () => {
    debug = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
    return debug.endpoints.filter((e) => !e.routable && /refused/.test(e.health.last_error)).length === 8;
  }, 30000);
  for (const e of debug.endpoints) {
    const isSim = sims.some((s) => e.address === `127.0.0.1:${s.port}`);
    assert.equal(e.routable, isSim, JSON.stringify(e));
    if (!isSim) assert.match(e.health.last_error, /\/metrics refused: .*(larger than the limit)/, e.health.last_error);
  }

  // Under that load: /healthz probes and real requests, interleaved.
  const latencies = [], reference = [];
  let statuses = new Map();
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    const [h, ref, r] = await Promise.all([
      timedGet(`${gw.adminUrl}/healthz`),
      timedGet(`${sims[0].url}/health`),
      completion(gw, { model: MODEL, prompt: 'hello there', max_tokens: 3 }),
    ]);
    assert.equal(h.status, 200);
    latencies.push(h.ms);
    reference.push(ref.ms);
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    await r.text();
  }
  latencies.sort((a, b) => a - b);
  const p95 = latencies[Math.floor(latencies.length * 0.95)];
  console.log(`healthz probes: ${latencies.length}, p50 ${latencies[latencies.length >> 1].toFixed(1)} ms, ` +
    `p95 ${p95.toFixed(1)} ms, max ${latencies.at(-1).toFixed(1)} ms (a sim's /health: p95 ${p95of(reference).toFixed(1)} ms); ` +
    `completions by status: ${JSON.stringify([...statuses])}`);
  assert.ok(p95 < PROBE_LIMIT_MS + p95of(reference), `/healthz p95 ${p95} ms, a sim's /health ${p95of(reference)} ms`);
  assert.deepEqual([...statuses.keys()], [200]);
  // The sims served them.
  debug = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
  for (const e of debug.endpoints) {
    if (!sims.some((s) => e.address === `127.0.0.1:${s.port}`)) assert.equal(e.routable, false);
  }
});

test('hostile pages under the size cap: too many models or adapters, +Inf, absurd num_gpu_blocks', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const manyModels = page(2_500_000, (i) => `vllm:num_requests_waiting{model_name="m${i}"} 1\n`);
  const manyAdapters = Buffer.from('vllm:lora_requests_info{max_lora="1",waiting_lora_adapters="",running_lora_adapters="' +
    Array.from({ length: 600 }, (_, i) => `a${i}`).join(',') + '"} 1\n');
  const inf = Buffer.from('vllm:num_requests_waiting{model_name="x"} 0\nvllm:kv_cache_usage_perc{model_name="x"} +Inf\n');
  const blocks = Buffer.from('vllm:num_requests_waiting{model_name="x"} 0\n' +
    'vllm:cache_config_info{block_size="16",num_gpu_blocks="1000000000000"} 1\n');
  const ports = [];
  for (const p of [manyModels, manyAdapters, inf, blocks]) ports.push(await fakeServer(p));
  const gw = await startGateway(['--workers', '1', '--endpoint', `127.0.0.1:${sim.port}`,
    ...ports.flatMap((p) => ['--endpoint', `127.0.0.1:${p}`])]);
  live.push(gw);
  const byPort = (debug, p) => debug.endpoints.find((e) => e.address === `127.0.0.1:${p}`);
  let debug;
  await waitFor('scrape verdicts', async () => {
    debug = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
    return [0, 1, 2].every((i) => /refused/.test(byPort(debug, ports[i]).health.last_error)) &&
      byPort(debug, ports[3]).health.scrapes_ok > 0;
  });
  assert.match(byPort(debug, ports[0]).health.last_error, /model_name/);
  assert.match(byPort(debug, ports[1]).health.last_error, /adapters/);
  assert.match(byPort(debug, ports[2]).health.last_error, /non-finite/);
  const clamped = byPort(debug, ports[3]);
  assert.ok(clamped.num_gpu_blocks > 0 && clamped.num_gpu_blocks <= (1 << 24), JSON.stringify(clamped));
  // No NaN in the pool's averages.
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const kv = text.split('\n').find((l) => l.startsWith('inference_pool_average_kv_cache_utilization'));
  assert.ok(kv && Number.isFinite(Number(kv.split(' ').pop())), kv);
});

test('client model names: 2 MB and control characters are 400; unknown names share model_name="other"', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--workers', '2', '--endpoint', `127.0.0.1:${sim.port}`]);
  live.push(gw);
  const huge = await completion(gw, { model: 'x'.repeat(2 << 20), prompt: 'hi' });
  assert.equal(huge.status, 400);
  const err = await huge.json();
  assert.equal(err.error.code, 'invalid_model');
  assert.match(err.error.message, /256 bytes/);
  const spoof = await completion(gw, { model: 'spoofed-target\u001fvictim', prompt: 'hi' });
  assert.equal(spoof.status, 400);
  assert.equal((await spoof.json()).error.code, 'invalid_model');
  for (let i = 0; i < 300; ++i) {
    const r = await completion(gw, { model: `junk-${i}-${'y'.repeat(200)}`, prompt: 'hi' });
    assert.equal(r.status, 404);
    await r.text();
  }
  const ok = await completion(gw, { model: MODEL, prompt: 'hi', max_tokens: 2 });
  assert.equal(ok.status, 200);
  await ok.text();
  const t = await timedGet(`${gw.adminUrl}/metrics`);
  assert.equal(t.status, 200);
  assert.ok(!t.body.includes('junk-'), 'a client-chosen model name became a label');
  assert.ok(!t.body.includes('victim'));
  assert.ok(t.body.length < 256 * 1024, `metrics page ${t.body.length} bytes`);
  // GAIE counts request_total at scheduling: the unknown names are errors (NotFound), all
  // under the one "other" label; the served model's request is counted by name.
  const line = (family, ...parts) => t.body.split('\n').find((l) => l.startsWith(`${family}{`) && parts.every((p) => l.includes(p)));
  assert.match(line('inference_objective_request_error_total', 'model_name="other"', 'error_code="NotFound"') ?? '', / 300$/);
  assert.match(line('inference_objective_request_total', `model_name="${MODEL}"`) ?? '', / 1$/);
});

test('1,000 idle or slow connections on the admin port: /healthz and /readyz still answer within 100 ms', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--workers', '1', '--endpoint', `127.0.0.1:${sim.port}`]);
  live.push(gw);
  const sockets = [];
  try {
    for (let i = 0; i < 1000; ++i) {
      sockets.push(await new Promise((resolve, reject) => {
        const s = net.connect(gw.adminPort, '127.0.0.1', () => resolve(s));
        s.on('error', () => {});
        s.once('error', reject);
      }));
      if (i % 2) sockets.at(-1).write('GET /metr');  // slow: a request that never ends
    }
    const latencies = [], reference = [];
    for (let i = 0; i < 20; ++i) {
      for (const path of ['/healthz', '/readyz']) {
        const [r, ref] = await Promise.all([timedGet(`${gw.adminUrl}${path}`), timedGet(`${sim.url}/health`)]);
        assert.equal(r.status, 200, `${path}: ${r.body}`);
        latencies.push(r.ms);
        reference.push(ref.ms);
      }
    }
    latencies.sort((a, b) => a - b);
    console.log(`admin probes with 1000 idle/slow connections: p50 ${latencies[latencies.length >> 1].toFixed(1)} ms, ` +
      `max ${latencies.at(-1).toFixed(1)} ms`);
    const p95 = latencies[Math.floor(latencies.length * 0.95)];
    assert.ok(p95 < PROBE_LIMIT_MS + p95of(reference), `p95 ${p95} ms, a sim's /health ${p95of(reference)} ms`);
  } finally {
    for (const s of sockets) s.destroy();
  }
});
