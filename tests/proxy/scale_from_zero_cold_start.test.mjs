// Issue 66's acceptance cold start, in both discovery forms, through the real binaries:
//   - 200 requests arrive over 10 s (one every 50 ms): half streamed, three priorities
//     (InferenceObjectives high 10, mid 5, none 0), two tenants (fairness ids a, b);
//   - the pool starts empty; at the first request a sim starts with --startup-delay 20 (its
//     port bound, connections refused: a container starting), and the server appears:
//       static:        the config rewritten to name it and SIGHUP'd (the sim still starting);
//       InferencePool: its pod created not Ready in the fake Kubernetes API, set Ready when
//                      the sim serves (the kubelet's readiness probe);
//   - all 200 are answered 200, streams whole (data: [DONE], no error event); none before the
//     sim was ready; released in priority order (the access log's wait_ms: no priority-0
//     request released before the last priority-10 one); the sim's own peak gauges show it
//     ran --max-num-seqs at once and never had one waiting (the gateway paced the release).
// The two forms run side by side (one ~25 s wall time, not two). The first test prints the
// static form's cold start as a timeline from the access log.
// RINGGATE_COLD_START_DELAY_S / _SPREAD_MS shorten it for a quick local run (defaults: the 20 s / 10 s).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { start, binaries, startGateway, scrape } from '../lib/procs.mjs';
import { waitFor, timeScale } from '../lib/timing.mjs';
import { FakeKubeApi } from '../discovery/fake_kube_api.mjs';
import { priorityObjectives } from './priority_objectives.mjs';

const MODEL = 'facebook/opt-125m';
const REQUESTS = 200;
const SPREAD_MS = Number(process.env.RINGGATE_COLD_START_SPREAD_MS ?? 10000);
const STARTUP_S = Number(process.env.RINGGATE_COLD_START_DELAY_S ?? 20);
const MAX_SEQS = 4;
const MAX_TOKENS = 8;
const OBJECTIVES = ['high', 'mid', undefined];
const PRIORITY = { high: 10, mid: 5, none: 0 };

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-cold-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

const GATEWAY_DOC = (pool, accessLog) => `apiVersion: ringgate.io/v1
kind: Gateway
${pool}
accessLog: {enabled: true, path: "${accessLog}"}
flowControl: {enabled: true, noEndpointRequestTTL: 120s, defaultRequestTTL: 120s}
saturationDetector: {maxConcurrency: ${MAX_SEQS}, metricsStalenessThreshold: 2s}
${priorityObjectives}`;

// A port free on `host` now (the sim binds it at the first request; the pool must name it before).
function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ask(gw, i, form) {
  const objective = OBJECTIVES[i % 3];
  const stream = i % 2 === 0;
  const id = `${form}-${i}-${objective ?? 'none'}`;
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'x-request-id': id,
      'x-gateway-inference-fairness-id': i % 4 < 2 ? 'a' : 'b' };
    if (objective) headers['x-gateway-inference-objective'] = objective;
    const payload = JSON.stringify({ model: MODEL, prompt: `cold start ${id}`, max_tokens: MAX_TOKENS, stream });
    const req = http.request(`${gw.url}/v1/completions`, { method: 'POST', headers }, (res) => {
      const at = Date.now();
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ id, stream, status: res.statusCode, body, at }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// One cold start: `appear(simAddress)` is called at the first request (the sim just started,
// not ready yet), `ready()` once the sim serves. Returns what the checks and the timeline need.
async function coldStart(form, gw, simHost, simPort, appear, ready) {
  const t0 = Date.now();
  const pending = [];
  let sim = null;
  let simReadyAt = 0;
  for (let i = 0; i < REQUESTS; ++i) {
    const due = t0 + (i * SPREAD_MS) / REQUESTS;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    pending.push(ask(gw, i, form));
    if (i === 0) {
      sim = start(binaries.sim, ['--host', simHost, '--port', String(simPort), '--startup-delay', String(STARTUP_S),
        '--max-num-seqs', String(MAX_SEQS), '--inter-token-latency-ms', '5'],
      { timeoutMs: (STARTUP_S + 10) * 1000 }).then(async (s) => {
        simReadyAt = Date.now();
        procs.push(s);
        await ready();
        return s;
      });
      await appear(`${simHost}:${simPort}`);
    }
  }
  const answers = await Promise.all(pending);
  return { t0, answers, sim: await sim, simReadyAt };
}

async function accessLines(file, count) {
  return waitFor(`${count} access-log lines`, () => {
    if (!existsSync(file)) return null;
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return lines.length >= count ? lines : null;
  }, 10000, 50);
}

async function check(t, form, run, logFile) {
  const { answers, sim, simReadyAt, t0 } = run;
  for (const r of answers) {
    assert.equal(r.status, 200, `${r.id}: ${r.body.slice(0, 300)}`);
    assert.ok(r.at >= simReadyAt, `${r.id} answered ${simReadyAt - r.at} ms before the sim was ready`);
    if (r.stream) {
      assert.ok(r.body.trimEnd().endsWith('data: [DONE]'), `${r.id}: ${r.body.slice(-200)}`);
      assert.ok(!r.body.includes('"error"'), `${r.id}: ${r.body.slice(0, 300)}`);
      assert.equal(r.body.split('\n').filter((l) => l.startsWith('data: {')).length, MAX_TOKENS, r.id);
    } else {
      assert.equal(JSON.parse(r.body).usage.completion_tokens, MAX_TOKENS, r.id);
    }
  }
  // The sim's own peaks: it ran --max-num-seqs at once (N) and never more, and none waited in
  // it (the release was paced by the saturation detector, not dumped on the new server).
  const m = await scrape(`http://${sim.api}/metrics`);
  const gauge = (name) => [...m].filter(([k]) => k.startsWith(`${name}{`)).reduce((s, [, v]) => Math.max(s, v), 0);
  const runningPeak = gauge('ringgate_sim_num_requests_running_peak');
  const waitingPeak = gauge('ringgate_sim_num_requests_waiting_peak');
  assert.equal(runningPeak, MAX_SEQS, 'the sim never ran --max-num-seqs at once');
  assert.equal(waitingPeak, 0, `the sim had ${waitingPeak} waiting: more released than it runs at once`);
  // Priority order of the release, from the access log: in + wait_ms.
  const lines = (await accessLines(logFile, REQUESTS)).filter((l) => l.request_id.startsWith(`${form}-`));
  assert.equal(lines.length, REQUESTS);
  const released = (l) => Date.parse(l.time) - l.duration_ms + l.wait_ms;
  const byPriority = { 10: [], 5: [], 0: [] };
  for (const l of lines) byPriority[PRIORITY[l.request_id.split('-').pop()]].push(released(l));
  const last = (p) => Math.max(...byPriority[p]);
  const first = (p) => Math.min(...byPriority[p]);
  // Access-log times are wall clock with ms fractions: 1 ms of slack for their rounding.
  for (const [hi, lo] of [[10, 0], [10, 5], [5, 0]]) {
    assert.ok(last(hi) <= first(lo) + 1,
      `a priority-${lo} request released ${last(hi) - first(lo)} ms before the last priority-${hi} one`);
  }
  const span = (p) => `${(first(p) - t0).toFixed(0)}..${(last(p) - t0).toFixed(0)} ms`;
  t.diagnostic(`${form}: sim ready ${simReadyAt - t0} ms after the first request; released ` +
    `p10 ${span(10)}, p5 ${span(5)}, p0 ${span(0)}; sim peaks running ${runningPeak}, waiting ${waitingPeak}`);
  return lines;
}

// The closing note's timeline: request in, server ready, released, first token, done.
function timeline(t, form, run, lines) {
  const at = (ms) => `${((ms - run.t0) / 1000).toFixed(3)} s`;
  const inAt = (l) => Date.parse(l.time) - l.duration_ms;
  const ev = [];
  const firstIn = Math.min(...lines.map(inAt));
  ev.push([firstIn, `first request in (${lines.length} arrive over ${SPREAD_MS / 1000} s)`]);
  ev.push([Math.max(...lines.map(inAt)), 'last request in']);
  ev.push([run.simReadyAt, 'server ready (sim listening)']);
  const rel = lines.map((l) => inAt(l) + l.wait_ms);
  ev.push([Math.min(...rel), 'first released']);
  ev.push([Math.min(...lines.map((l) => inAt(l) + l.ttft_ms)), 'first token']);
  ev.push([Math.max(...rel), 'last released']);
  ev.push([Math.max(...lines.map((l) => Date.parse(l.time))), 'last answered']);
  ev.sort((a, b) => a[0] - b[0]);
  t.diagnostic(`${form} cold start timeline (access log):`);
  for (const [ms, what] of ev) t.diagnostic(`  +${at(ms).padStart(9)}  ${what}`);
}

test('cold start through a pool that starts empty, both discovery forms',
  { timeout: (STARTUP_S + 60) * 1000 * timeScale, concurrency: 2 }, async (t) => {
    const forms = [];
    forms.push(t.test('static: a config reloaded to add the server', async (st) => {
      const logFile = path.join(dir, 'static-access.log');
      const file = path.join(dir, 'static.yaml');
      const pool = (e) => `pool: {name: vllm, discovery: {static: ["${e}"]}}`;
      writeFileSync(file, GATEWAY_DOC(pool('127.0.0.1:1'), logFile));
      const gw = await startGateway(['--workers', '1', '--config', file]);
      procs.push(gw);
      const port = await freePort('127.0.0.1');
      const run = await coldStart('static', gw, '127.0.0.1', port, (address) => {
        writeFileSync(file, GATEWAY_DOC(pool(address), logFile));
        gw.proc.kill('SIGHUP');
      }, async () => {});
      timeline(st, 'static', run, await check(st, 'static', run, logFile));
    }));
    forms.push(t.test('InferencePool: its pod appears in the Kubernetes API', async (st) => {
      const logFile = path.join(dir, 'pool-access.log');
      const api = await new FakeKubeApi().start();
      procs.push({ stop: async () => api.close() });
      const host = '127.0.0.2';
      const port = await freePort(host);
      api.createObject('inferencepools', {
        metadata: { name: 'vllm-pool' },
        spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: port }],
          endpointPickerRef: { name: 'vllm-pool-epp', port: { number: 9002 } } },
      });
      const file = path.join(dir, 'pool.yaml');
      const pool = 'pool:\n  discovery:\n    kubernetes: ' +
        `{namespace: default, inferencePool: vllm-pool, apiServer: "${api.url}"}`;
      writeFileSync(file, GATEWAY_DOC(pool, logFile));
      const gw = await startGateway(['--workers', '1', '--config', file]);
      procs.push(gw);
      await api.waitForWatchesOf('pods');
      const run = await coldStart('pool', gw, host, port, () => {
        api.createPod('vllm-0', { labels: { app: 'vllm' }, ip: host, port, ready: false });  // scaled 0 → 1
      }, async () => api.setPodReady('vllm-0', true));  // the readiness probe passes
      await check(st, 'pool', run, logFile);
    }));
    await Promise.all(forms);
  });
