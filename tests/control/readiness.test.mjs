// Issue 5's acceptance, part 3: the admin port's health and readiness.
// /readyz is 503 before any endpoint is routable (nothing listening, then a server
// still warming up) and 200 once one is; /healthz is 200 throughout; SIGTERM turns
// /readyz 503 at once while a long stream in flight completes and the gateway exits
// 0; /debug/endpoints shows each endpoint's health, metrics, in-flight requests and
// prefix-index share.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway } from '../lib/procs.mjs';
import { freePort } from '../lib/prometheus.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop('SIGKILL'); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const get = async (url) => { const res = await fetch(url); return { status: res.status, body: await res.text() }; };
const debugEndpoints = async (gw) => (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();

// Polls `probe` until it returns true; the elapsed ms. Throws after timeoutMs.
async function waitFor(what, probe, timeoutMs = 5000) {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - t0;
}

const connectRefused = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(false); });
  s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
});

test('/readyz is 503 until an endpoint is routable (none listening, then warming up), /healthz 200 throughout', async () => {
  const port = await freePort();
  const gw = await startGateway(['--workers', '2', '--endpoint', `127.0.0.1:${port}`]);
  const started = performance.now();
  live.push(gw);
  let ready = await get(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(ready.body, /no routable endpoint/);
  assert.equal((await get(`${gw.adminUrl}/healthz`)).status, 200);
  let debug = await debugEndpoints(gw);
  assert.equal(debug.ready, false);
  assert.equal(debug.endpoints.length, 1);
  const down = debug.endpoints[0];
  assert.equal(down.address, `127.0.0.1:${port}`);
  assert.equal(down.routable, false);
  assert.equal(down.health.discovered_ready, true);
  assert.equal(down.health.has_models, false);
  assert.ok(down.health.failed_scrapes >= 1 && down.health.last_error.length > 0, JSON.stringify(down.health));

  // A server process starts but loads its model for 1.5 s: like vLLM it holds the port
  // without listening (connections refused), so it is still not ready.
  const starting = startSim(['--model', MODEL, '--port', String(port), '--startup-delay', '1.5']);
  const up = performance.now();
  // Once the gateway has polled the starting server (refused) twice more: still not ready.
  const failedBefore = (await debugEndpoints(gw)).endpoints[0].health.failed_scrapes;
  await waitFor('polled while starting', async () =>
    (await debugEndpoints(gw)).endpoints[0].health.failed_scrapes >= failedBefore + 2, 5000);
  assert.equal(await connectRefused(port), true, 'a starting server refuses connections');
  ready = await get(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 503, 'ready while the only server is still starting');
  const sim = await starting;
  live.push(sim);
  // Then it is: within the warm-up plus 1 s.
  const waited = await waitFor('/readyz 200', async () => (await get(`${gw.adminUrl}/readyz`)).status === 200, 5000);
  const sinceUp = performance.now() - up;
  console.log(`/readyz 200 ${sinceUp.toFixed(0)} ms after a server with a 1500 ms warm-up started (polled ${waited.toFixed(0)} ms)`);
  assert.ok(sinceUp >= 1400 && sinceUp < 2500 + 1000, `ready after ${sinceUp.toFixed(0)} ms`);
  assert.equal((await get(`${gw.adminUrl}/readyz`)).body, 'ready\n');
  assert.equal((await get(`${gw.adminUrl}/healthz`)).status, 200);
  debug = await debugEndpoints(gw);
  assert.equal(debug.ready, true);
  assert.equal(debug.endpoints[0].routable, true);
  assert.equal(debug.endpoints[0].health.has_models, true);
  assert.equal(debug.endpoints[0].health.failed_scrapes, 0);
  // /healthz watches the workers' loops (a worker silent for 5 s makes it 503): idle
  // workers keep turning, so after more than that it is still 200.
  await sleep(Math.max(0, 6000 - (performance.now() - started)));
  const health = await get(`${gw.adminUrl}/healthz`);
  assert.deepEqual(health, { status: 200, body: 'ok\n' });
});

test('SIGTERM while a long stream is in flight: /readyz 503 at once, /debug/endpoints shows it, the stream completes, exit 0', async () => {
  const sims = [];
  for (let i = 0; i < 2; i++) {
    const s = await startSim(['--model', MODEL, '--inter-token-latency-ms', '20', '--seed', String(7 + i)]);
    live.push(s);
    sims.push(s);
  }
  const gw = await startGateway(['--workers', '2', '--drain-timeout-ms', '20000', ...sims.flatMap((s) => ['--endpoint', s.api])]);
  live.push(gw);
  assert.equal((await get(`${gw.adminUrl}/readyz`)).status, 200);

  // Some traffic with distinct long prompts so the prefix index holds entries.
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 1, prompt: `Document ${i}: ${'lorem ipsum dolor sit amet '.repeat(12)}` }) });
    assert.equal(res.status, 200);
    await res.text();
  }

  // A ~2 s stream (100 tokens, 20 ms apart).
  const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Write a long story.' }] }) });
  assert.equal(res.status, 200);
  const serving = res.headers.get('x-gateway-destination-endpoint');
  assert.ok(sims.some((s) => s.api === serving), `destination ${serving}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  assert.match(text, /^data: /);

  // In flight: /debug/endpoints shows every endpoint's health, metrics, in-flight and prefix share.
  const debug = await debugEndpoints(gw);
  assert.equal(debug.pool, 'vllm');
  assert.equal(debug.endpoints.length, 2);
  let shares = 0;
  for (const e of debug.endpoints) {
    assert.equal(e.routable, true);
    assert.equal(e.metrics_fresh, true);
    for (const k of ['waiting', 'running', 'kv_cache_usage', 'metrics_age_seconds', 'prefix_index_entries', 'prefix_index_share']) {
      assert.equal(typeof e[k], 'number', `${k} of ${JSON.stringify(e)}`);
    }
    assert.deepEqual(e.models, [MODEL]);
    assert.equal(e.health.discovered_ready, true);
    assert.equal(e.health.failed_scrapes, 0);
    assert.ok(e.health.scrapes_ok > 0);
    assert.equal(e.inflight, e.address === serving ? 1 : 0, `inflight of ${e.address} (stream on ${serving})`);
    shares += e.prefix_index_share;
  }
  assert.ok(Math.abs(shares - 1) < 1e-9, `prefix-index shares sum to ${shares}`);

  // SIGTERM: readiness goes 503 at once, health stays 200, new connections are refused.
  const exited = new Promise((resolve) => gw.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  const termAt = performance.now();
  gw.proc.kill('SIGTERM');
  const lag = await waitFor('/readyz 503', async () => (await get(`${gw.adminUrl}/readyz`)).status === 503, 1000);
  const draining = await get(`${gw.adminUrl}/readyz`);
  assert.equal(draining.body, 'draining\n');
  assert.equal((await get(`${gw.adminUrl}/healthz`)).status, 200);
  const during = await debugEndpoints(gw);
  assert.equal(during.draining, true);
  assert.equal(during.endpoints.find((e) => e.address === serving).inflight, 1);
  await waitFor('the API port to refuse connections', () => connectRefused(gw.port), 2000);

  // The stream runs to its end.
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
  // As vLLM: a role-only first chunk (content ""), then one chunk per token.
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  const content = chunks.filter((c) => c.choices[0]?.delta?.content !== undefined && c.choices[0].delta.role === undefined);
  assert.equal(content.length, 100, 'every token arrived');
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
  const streamEnd = performance.now();
  const { code, signal, at } = await exited;
  console.log(`SIGTERM → /readyz 503 in ${lag.toFixed(0)} ms; stream finished ${(streamEnd - termAt).toFixed(0)} ms after SIGTERM; ` +
    `exit ${code} ${(at - termAt).toFixed(0)} ms after SIGTERM`);
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
  assert.ok(streamEnd - termAt > 500, 'the stream was still running when SIGTERM came');
});
