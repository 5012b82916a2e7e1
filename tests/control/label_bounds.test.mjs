// Issue 72: label values that a client or a model server chooses are bounded for the
// whole process (metrics.maxLabelValues, default 64), and only an admitted request adds
// one. Before: 400 requests for an unknown model, each with a fresh
// x-gateway-inference-fairness-id, grew /metrics from 48 KB to 13 MB at 2 workers.
// What one fairness id may cost is llm-d's: 11 llm_d_epp_request_* families carry the
// label, 9 of them histograms (~26 KB of text for a label set that was served unstreamed;
// a histogram it never observed has no series): the page may grow by the bounded set's
// cost, measured on the page itself, and not a byte more. The scrape's time is
// perf/metrics/scrape.mjs's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const procs = [];
after(async () => {
  for (const p of procs.reverse()) await p.stop('SIGKILL');
});

function post(agent, url, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/completions`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

// Runs `count` requests, `concurrency` at a time: request(i) -> promise of {status}.
async function run(count, concurrency, request) {
  const statuses = new Map();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const r = await request(next++);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  }));
  return statuses;
}

async function metricsPage(gw) {
  const t0 = performance.now();
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return { text, bytes: Buffer.byteLength(text), ms: performance.now() - t0 };
}

// The distinct values of `label` on the series of `family`.
function labelValues(text, family, label) {
  const values = new Set();
  const re = new RegExp(`^${family}\\{[^}]*\\b${label}="([^"]*)"`, 'gm');
  for (const m of text.matchAll(re)) values.add(m[1]);
  return values;
}

function counter(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const workers of [2, 8]) {
  test(`${workers} workers: 1,000 fresh fairness ids (500 for an unknown model) leave /metrics bounded`,
    { timeout: 120000 }, async (t) => {
      const sim = await startSim(['--inter-token-latency-ms', '0', '--time-to-first-token', '0']);
      procs.push(sim);
      const gw = await startGateway(['--workers', String(workers), '--endpoint', `127.0.0.1:${sim.port}`]);
      procs.push(gw);
      await waitRoutable(gw);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const body = (model) => ({ model, prompt: 'hello', max_tokens: 1 });
      // One served request of the default flow: every family the page will have exists.
      assert.equal((await post(agent, gw.url, body(MODEL), {})).status, 200);
      const before = await metricsPage(gw);
      // The bytes one label set costs: the default flow's lines, the only set so far.
      const perSet = before.text.split('\n').filter((l) => l.includes('fairness_id="default-flow"'))
        .reduce((n, l) => n + l.length + 1, 0);
      assert.ok(perSet > 10000, `${perSet}`);

      const statuses = await run(1000, 16, (i) => post(agent, gw.url, body(i < 500 ? 'no-such-model' : MODEL),
        { 'x-gateway-inference-fairness-id': `tenant-${i}` }));
      agent.destroy();
      assert.deepEqual(Object.fromEntries(statuses), { 200: 500, 404: 500 });

      const scrapes = [];
      for (let i = 0; i < 3; ++i) scrapes.push(await metricsPage(gw));
      const after = scrapes[scrapes.length - 1];
      t.diagnostic(`/metrics ${before.bytes} -> ${after.bytes} bytes (a label set: ${perSet} bytes); ` +
        `scrape ms ${scrapes.map((s) => s.ms.toFixed(1))}`);
      // 64 tenants and "other" joined the default flow; 256 KB for everything else.
      const bound = before.bytes + 65 * perSet + 256 * 1024;
      assert.ok(after.bytes <= bound, `${before.bytes} -> ${after.bytes} (bound ${bound})`);
      const ids = labelValues(after.text, 'llm_d_epp_request_total', 'fairness_id');
      // The first 64 served tenants, the default flow of the first request, and "other".
      assert.equal(ids.size, 66, [...ids].join(','));
      assert.ok(ids.has('other') && ids.has('default-flow'));
      for (const id of ids) if (id.startsWith('tenant-')) assert.ok(Number(id.slice(7)) >= 500, id);
      // Each 404 read its id as "other", and so did the 436 served past the bound.
      assert.equal(counter(after.text, 'ringgate_metric_label_overflow_total{family="fairness_id"}'), 500 + 436);
      assert.equal(counter(after.text, 'ringgate_metric_label_overflow_total{family="model_name"}'), 0);
      // How long a scrape takes is perf/'s to claim, not a test's (it moved 47-295 ms with the
      // suite running beside it): the page's size above is what keeps it short.
    });
}

test('a model server listing 100 adapters: 64 model_name values, the rest "other" and counted', { timeout: 120000 },
  async () => {
    const adapters = Array.from({ length: 100 }, (_, i) => `lora-${i}`);
    const sim = await startSim(['--inter-token-latency-ms', '0', '--time-to-first-token', '0', '--max-loras', '100',
      ...adapters.flatMap((a) => ['--lora-modules', `${a}=/adapters/${a}`])]);
    procs.push(sim);
    const gw = await startGateway(['--workers', '2', '--endpoint', `127.0.0.1:${sim.port}`]);
    procs.push(gw);
    await waitRoutable(gw);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = await run(100, 8, (i) => post(agent, gw.url, { model: adapters[i], prompt: 'hi', max_tokens: 1 }, {}));
    agent.destroy();
    assert.deepEqual(Object.fromEntries(statuses), { 200: 100 });
    const { text } = await metricsPage(gw);
    const models = labelValues(text, 'llm_d_epp_request_total', 'model_name');
    assert.equal(models.size, 65, [...models].join(','));  // 64 adapters and "other"
    // Each of the 36 past the bound read "other" as model_name and as target_model_name.
    assert.equal(counter(text, 'ringgate_metric_label_overflow_total{family="model_name"}'), 36);
  });
