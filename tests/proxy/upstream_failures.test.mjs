// Upstream trouble: refused connections (retry elsewhere, then 502), silent upstreams
// (504), a pooled connection the server dropped (retried on a fresh one), a stream that
// breaks mid-way (SSE error event), and a client that leaves mid-stream (the upstream
// request is cancelled: the sim's running-requests gauge drops at once).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { request, jsonHeaders, MODEL, metric } from './raw_http.mjs';
import { startFakeVllm, json as replyJson } from '../lib/fake_vllm.mjs';

const live = [];
after(async () => { for (const p of live.reverse()) await p.stop?.(); });
const gateway = async (args) => { const g = await startGateway(['--workers', '1', '--model', MODEL, ...args]); live.push(g); return g; };
const body = { model: MODEL, prompt: 'hello', max_tokens: 2 };

// A port on which nothing listens (bound, then closed).
async function deadPort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

// A raw TCP upstream run by `onData(socket, text, state)`.
// The gateway's control plane polls every endpoint's GET /metrics and /v1/models on
// connections of its own: those get a 404 here and are not counted, so `connections`
// counts the data path's connections only.
const controlPoll = /^GET \/(metrics|v1\/models) /;
async function rawUpstream(onData) {
  const sockets = new Set();
  let handle;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const state = { requests: 0, buffer: '', kind: null };
    socket.on('data', (d) => {
      const text = d.toString('latin1');
      if (state.kind === null) {
        state.kind = controlPoll.test(text) ? 'control' : 'proxy';
        if (state.kind === 'proxy') handle.connections++;
      }
      if (state.kind === 'control') {
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      onData(socket, text, state);
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  handle = {
    api: `127.0.0.1:${server.address().port}`,
    connections: 0,
    stop: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
  live.push(handle);
  return handle;
}

const jsonReply = (text) => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`;

// Polls `cond(metricsMap)` on the gateway's admin /metrics until it holds (or fails after timeoutMs).
async function untilMetrics(gw, cond, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await scrape(`${gw.adminUrl}/metrics`);
    if (cond(m)) return m;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an endpoint that drops the request before answering: the request is retried on the other one', async () => {
  // Two endpoints; the one that drops looks idle and the good one loaded (50
  // waiting), so the scheduler deterministically tries the dropping one first.
  const dropping = await startFakeVllm({ model: MODEL, waiting: 0, onRequest: (req) => req.socket.destroy() });
  const good = await startFakeVllm({ model: MODEL, waiting: 50, onRequest: (req, _b, res) => replyJson(res, 200, { ok: "good" }) });
  live.push(dropping, good);
  const gw = await gateway(['--endpoint', dropping.api, '--endpoint', good.api]);
  const queue = (m, up) => [...m].find(([k]) => k.startsWith('inference_pool_per_pod_queue_size{') &&
    k.includes(`model_server_pod="${up.api}"`))?.[1];
  await untilMetrics(gw, (m) => metric(m, 'inference_pool_ready_pods') === 2 &&
    queue(m, dropping) === 0 && queue(m, good) === 50, 'both endpoints scraped');
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(JSON.parse(res.body), { ok: 'good' });
  assert.equal(dropping.requests.length, 1, 'the first attempt went to the dropping endpoint');
  assert.equal(good.requests.length, 1, 'the retry went to the good one');
  assert.equal(good.requests[0].body, JSON.stringify(body), 'the retry carried the whole body');
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(metric(m, 'ringgate_retries_total'), 1);
  assert.ok(metric(m, 'ringgate_upstream_failures_total') >= 1);
});

test('every endpoint refuses: 502 with an OpenAI error', async () => {
  // What the data path answers when every attempt is refused. Two failed scrapes in a
  // row make an endpoint unroutable (then it is a 503 before any attempt), and scrapes
  // fall on wall-clock multiples of the poll interval, so the second can follow the
  // first within a millisecond: poll once an hour, and only the first scrape has failed
  // when the request comes.
  const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-refused-'));
  const config = path.join(dir, 'gateway.yaml');
  writeFileSync(config, 'apiVersion: ringgate.io/v1\nkind: Gateway\nmetrics: {pollInterval: 1h}\n');
  live.push({ stop: () => rmSync(dir, { recursive: true, force: true }) });
  const gw = await gateway(['--config', config,
    '--endpoint', `127.0.0.1:${await deadPort()}`, '--endpoint', `127.0.0.1:${await deadPort()}`]);
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 502);
  assert.equal(JSON.parse(res.body).error.code, 'upstream_unavailable');
});

test('an upstream that never answers: 504 after the first-byte timeout', async () => {
  const silent = await rawUpstream(() => {});
  const gw = await gateway(['--endpoint', silent.api, '--upstream-first-byte-timeout-ms', '500']);
  const started = Date.now();
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 504);
  assert.equal(JSON.parse(res.body).error.type, 'timeout_error');
  assert.ok(Date.now() - started < 5000);
});

test('a pooled connection dropped by the server is retried on a fresh one', async () => {
  // Answers the first request of each connection with keep-alive, then drops the
  // connection when a second request arrives on it, before any response byte.
  const flaky = await rawUpstream((socket, text, state) => {
    state.buffer += text;
    if (!state.buffer.includes('\r\n\r\n')) return;
    state.buffer = '';
    state.requests++;
    if (state.requests === 1) socket.write(jsonReply('{"ok":1}'));
    else socket.destroy();
  });
  const gw = await gateway(['--endpoint', flaky.api]);
  for (let i = 0; i < 3; i++) {
    const res = await request(gw.port, { headers: jsonHeaders, body });
    assert.equal(res.status, 200, `request ${i}: ${res.body}`);
    assert.equal(res.body, '{"ok":1}');
  }
  assert.equal(flaky.connections, 3, 'each retry used a fresh connection');
});

test('a stream that breaks mid-way ends with an SSE error event, not a hang', async () => {
  const breaking = await rawUpstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write('f\r\ndata: {"a":1}\n\n\r\n');
    setTimeout(() => socket.destroy(), 100);
  });
  const gw = await gateway(['--endpoint', breaking.api]);
  const res = await request(gw.port, { headers: jsonHeaders, body: { ...body, stream: true } });
  assert.equal(res.status, 200);
  assert.match(res.body, /^data: \{"a":1\}\n\n/);
  assert.match(res.body, /data: \{"error":\{.*"code":"upstream_broken"/);
});

test('client disconnect mid-stream cancels the upstream request', async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '50']);
  live.push(sim);
  const gw = await gateway(['--endpoint', sim.api]);
  const running = async () => metric(await scrape(`${sim.url}/metrics`), 'vllm:num_requests_running');
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: jsonHeaders, signal: controller.signal,
    body: JSON.stringify({ model: MODEL, prompt: 'tell me a long story', max_tokens: 1000, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  await reader.read();
  assert.equal(await running(), 1, 'the stream is running on the sim');
  controller.abort();
  const started = Date.now();
  let now = 1;
  while (Date.now() - started < 5000) {
    now = await running();
    if (now === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(now, 0, 'the sim stopped generating (1000 tokens × 50 ms would take 50 s)');
});
