// The optional structured access log (Gateway `accessLog: {enabled, path}`): one
// JSON line per request — request id, model, target model, endpoint, status, TTFT,
// duration, tokens — written by the control thread from per-worker rings, so it
// shows up within a few hundred ms, under load without a drop, and with the last
// requests on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { startSim, startGateway, scrape, binaries } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const ALIAS = 'my-chat';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-access-'));
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config(name, endpoints, logPath) {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, [
    'apiVersion: ringgate.io/v1',
    'kind: Gateway',
    'pool:',
    '  discovery:',
    `    static: [${endpoints.map((e) => `"${e}"`).join(', ')}]`,
    'accessLog:',
    '  enabled: true',
    `  path: ${JSON.stringify(logPath)}`,
    '---',
    'apiVersion: inference.networking.x-k8s.io/v1alpha2',
    'kind: InferenceModelRewrite',
    'metadata: {name: alias}',
    'spec:',
    '  rules:',
    `  - matches: [{model: {type: Exact, value: ${ALIAS}}}]`,
    `    targets: [{modelRewrite: ${MODEL}}]`,
    '',
  ].join('\n'));
  return file;
}

const readLines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));

// Waits until the log holds `count` lines; returns them.
async function waitForLines(file, count, timeoutMs = 3000) {
  const t0 = Date.now();
  for (;;) {
    const lines = readLines(file);
    if (lines.length >= count) return lines;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${lines.length} access log lines, want ${count}`);
    await sleep(20);
  }
}

test('one JSON line per request with id, models, endpoint, status, TTFT, duration and usage tokens', async () => {
  const sims = [];
  for (let i = 0; i < 2; i++) { const s = await startSim(['--model', MODEL, '--inter-token-latency-ms', '5']); live.push(s); sims.push(s); }
  const log = path.join(dir, 'access.log');
  const gw = await startGateway(['--config', config('a', sims.map((s) => s.api), log), '--workers', '2']);
  live.push(gw);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  const expected = new Map();  // request id → what the line must say
  const sent = async (id, model, call) => {
    const { data, response } = await call({ headers: { 'x-request-id': id } }).withResponse();
    return { data, destination: response.headers.get('x-gateway-destination-endpoint') };
  };
  {
    const { data, destination } = await sent('r-completion', MODEL, (o) => client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6 }, o));
    expected.set('r-completion', { model: MODEL, target_model: MODEL, endpoint: destination, status: 200, stream: false, usage: data.usage });
  }
  {
    const { data, destination } = await sent('r-alias', ALIAS, (o) => client.chat.completions.create({ model: ALIAS, max_tokens: 4, messages: [{ role: 'user', content: 'hi there' }] }, o));
    expected.set('r-alias', { model: ALIAS, target_model: MODEL, endpoint: destination, status: 200, stream: false, usage: data.usage });
  }
  {
    const { data: stream, destination } = await sent('r-stream', MODEL, (o) => client.chat.completions.create({
      model: MODEL, max_tokens: 8, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a story' }] }, o));
    let usage;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expected.set('r-stream', { model: MODEL, target_model: MODEL, endpoint: destination, status: 200, stream: true, usage });
  }
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 2 },
    { headers: { 'x-request-id': 'r-500', 'X-Return-Error': '500' } }), (e) => e.status === 500);
  expected.set('r-500', { model: MODEL, target_model: MODEL, status: 500, stream: false });
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 2 },
    { headers: { 'x-request-id': 'r-404' } }), (e) => e.status === 404);
  expected.set('r-404', { model: 'no-such-model', target_model: 'no-such-model', endpoint: '', status: 404, stream: false });

  const lines = await waitForLines(log, expected.size);
  assert.equal(lines.length, expected.size, 'one line per request');
  const byId = new Map(lines.map((l) => [l.request_id, l]));
  for (const [id, want] of expected) {
    const line = byId.get(id);
    assert.ok(line, `no line for ${id}: ${JSON.stringify(lines)}`);
    assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60000, `time ${line.time}`);
    for (const k of ['model', 'target_model', 'status', 'stream']) assert.equal(line[k], want[k], `${id}.${k}`);
    if (want.endpoint !== undefined) assert.equal(line.endpoint, want.endpoint, `${id}.endpoint`);
    assert.ok(line.duration_ms > 0, `${id}.duration_ms`);
    if (want.status === 404) {
      assert.equal(line.ttft_ms, null);
      assert.equal(line.attempts, 0);
    } else {
      assert.ok(sims.some((s) => s.api === line.endpoint), `${id}.endpoint ${line.endpoint}`);
      assert.ok(line.ttft_ms > 0 && line.ttft_ms <= line.duration_ms, `${id}: ttft ${line.ttft_ms}, duration ${line.duration_ms}`);
      assert.ok(line.attempts >= 1);
    }
    if (want.usage) {
      assert.equal(line.prompt_tokens, want.usage.prompt_tokens, `${id}.prompt_tokens`);
      assert.equal(line.completion_tokens, want.usage.completion_tokens, `${id}.completion_tokens`);
    }
  }
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_access_log_records_total'), expected.size);
  assert.equal(m.get('ringgate_access_log_dropped_total'), 0);
  assert.equal(m.get('ringgate_access_log_write_errors_total'), 0);
});

test('under load every request is logged (no drop), and the last ones are written on SIGTERM', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const log = path.join(dir, 'load.log');
  // 64 slots a worker hold less than 100 ms (the periodic drain) of this load: a ring half
  // full wakes the control thread, which drains it.
  const gw = await startGateway(['--config', config('b', [sim.api], log), '--workers', '2', '--access-log-ring-slots', '64']);
  live.push(gw);
  const N = 1500;
  const CONCURRENCY = 24;
  let next = 0;
  const t0 = Date.now();
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `load-${i}` },
        body: JSON.stringify({ model: MODEL, prompt: `request ${i}`, max_tokens: 2 }) });
      assert.equal(res.status, 200);
      await res.text();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - t0) / 1000;
  const lines = await waitForLines(log, N);
  const ids = new Set(lines.map((l) => l.request_id));
  assert.equal(ids.size, N, 'every request once');
  for (let i = 0; i < N; i += 97) assert.ok(ids.has(`load-${i}`));
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_access_log_dropped_total'), 0);
  console.log(`${N} requests in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s): ${lines.length} lines, 0 dropped`);

  // The last request before SIGTERM is in the file once the gateway has exited.
  const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'the-last-one' },
    body: JSON.stringify({ model: MODEL, prompt: 'bye', max_tokens: 1 }) });
  await res.text();
  const { code } = await gw.stop('SIGTERM');
  assert.equal(code, 0);
  assert.ok(readLines(log).some((l) => l.request_id === 'the-last-one'));
});

test('a ring too small for the load drops records and counts each drop: lines + dropped = requests', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const log = path.join(dir, 'small.log');
  // Two slots per worker, drained every 100 ms: a burst of concurrent requests overflows it.
  const gw = await startGateway(['--config', config('d', [sim.api], log), '--workers', '2', '--access-log-ring-slots', '2']);
  live.push(gw);
  const N = 400;
  await Promise.all(Array.from({ length: N }, async (_, i) => {
    const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `burst-${i}` },
      body: JSON.stringify({ model: MODEL, prompt: `burst ${i}`, max_tokens: 1 }) });
    assert.equal(res.status, 200);
    await res.text();
  }));
  // Every request is either a line or a counted drop, once the writer has caught up.
  let m;
  const deadline = Date.now() + 5000;
  for (;;) {
    m = await scrape(`${gw.adminUrl}/metrics`);
    const accounted = m.get('ringgate_access_log_records_total') + m.get('ringgate_access_log_dropped_total');
    if (accounted >= N || Date.now() > deadline) break;
    await sleep(20);
  }
  const lines = readLines(log);
  const dropped = m.get('ringgate_access_log_dropped_total');
  console.log(`${N} requests through a 2-slot ring: ${lines.length} lines, ${dropped} dropped`);
  assert.ok(dropped > 0, 'the burst overflowed the 2-slot ring');
  assert.equal(lines.length, m.get('ringgate_access_log_records_total'));
  assert.equal(lines.length + dropped, N);
  assert.equal(new Set(lines.map((l) => l.request_id)).size, lines.length, 'no line twice');
});

test('an access log path that cannot be opened is a start-up error', () => {
  const res = spawnSync(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--config', config('c', ['127.0.0.1:1'], path.join(dir, 'no-such-dir', 'access.log'))], { encoding: 'utf8', timeout: 10000 });
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /access log: cannot open .*no-such-dir\/access\.log: No such file or directory/);
});
