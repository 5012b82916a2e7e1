// Issue 11 §2, the upstream side: model servers that misbehave in ways real ones do
// (1xx before the answer, a head or body that trickles or stalls, a body cut off, a
// pooled connection closed under us) and an IPv6 upstream. Each test pins one item;
// a misbehaving upstream is a raw Node server (raw_upstream.mjs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, binaries, startGateway } from '../lib/procs.mjs';
import { rawExchange, statuses, request, jsonHeaders, MODEL } from './raw_http.mjs';
import { rawUpstream, jsonReply, waitFor } from './raw_upstream.mjs';
import net from 'node:net';

const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop?.();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const track = (p) => { live.push(p); return p; };
const gateway = async (args) => track(await startGateway(['--workers', '1', '--model', MODEL, ...args]));
const upstream = async (onRequest, opts) => track(await rawUpstream(onRequest, opts));
const payload = JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 2 });
const streamPayload = JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 2, stream: true });
const post = (body = payload) =>
  `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

// A raw client connection recording what comes back.
function openRaw(port) {
  const socket = net.connect(port, '127.0.0.1');
  const conn = { socket, chunks: [], closed: false };
  conn.data = () => Buffer.concat(conn.chunks).toString('latin1');
  socket.on('data', (d) => conn.chunks.push(d));
  socket.on('close', () => { conn.closed = true; });
  socket.on('error', () => {});
  conn.connected = new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
  return conn;
}

// Splits one HTTP/1.1 response out of `text`: {status, headers (lower-case), body
// (chunked framing decoded), complete (the framing says the body ended)}.
function parseResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a response head: ${JSON.stringify(text.slice(0, 200))}`);
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let rest = text.slice(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let body = '';
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) return { status, headers, body, complete: false };
      const size = parseInt(rest.slice(0, eol), 16);
      if (size === 0) return { status, headers, body, complete: rest.slice(eol + 2).startsWith('\r\n') };
      if (rest.length < eol + 2 + size + 2) return { status, headers, body: body + rest.slice(eol + 2), complete: false };
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return { status, headers, body: rest.slice(0, length), complete: rest.length >= length };
  }
  return { status, headers, body: rest, complete: undefined };  // close-delimited
}

test('an upstream 1xx (100 Continue, 103 Early Hints) before the final response: the final response reaches the client', async () => {
  const interim = {
    100: 'HTTP/1.1 100 Continue\r\n\r\n',
    103: 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n',
    both: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n',
  };
  for (const [name, head] of Object.entries(interim)) {
    const up = await upstream((socket) => {
      socket.write(head);
      setTimeout(() => socket.write(jsonReply('{"ok":1}')), 50);
    });
    const gw = await gateway(['--endpoint', up.api]);
    // Two requests on one connection: the first answer is the final one, and the
    // connection is still in step for the second.
    const res = await rawExchange(gw.port, [post(), { delayMs: 400 }, post()], { idleMs: 1500 });
    const finals = statuses(res.text).filter((s) => s >= 200);
    assert.deepEqual(finals, [200, 200], `${name}: ${JSON.stringify(res.text.slice(0, 400))}`);
    assert.equal(res.text.split('{"ok":1}').length - 1, 2, `${name}: both bodies arrived`);
    await gw.stop();
  }
});

test('the first-byte timeout covers the whole response head: a head dripped byte by byte gets 504', async () => {
  // One byte of the head every 100 ms, never reaching the blank line (for 15 s).
  const up = await upstream((socket) => {
    const head = 'HTTP/1.1 200 OK\r\nX-Slow: ' + 'a'.repeat(150);
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= head.length) { clearInterval(timer); socket.destroy(); return; }
      socket.write(head[i++]);
    }, 100);
    socket.on('close', () => clearInterval(timer));
  });
  const gw = await gateway(['--endpoint', up.api, '--upstream-first-byte-timeout-ms', '700']);
  const conn = openRaw(gw.port);
  await conn.connected;
  const started = Date.now();
  conn.socket.write(post());
  await waitFor(() => conn.data().includes('}}'), { timeoutMs: 10000, what: 'an answer' }).catch(() => {});
  const elapsed = Date.now() - started;
  conn.socket.destroy();
  assert.deepEqual(statuses(conn.data()), [504], JSON.stringify(conn.data().slice(0, 300)));
  const answer = parseResponse(conn.data());
  assert.equal(JSON.parse(answer.body).error.code, 'upstream_timeout');
  assert.equal(JSON.parse(answer.body).error.type, 'timeout_error');
  assert.ok(elapsed < 5000, `504 after ${elapsed} ms; the head drip would last 15 s`);
});

test('an upstream body that stalls mid-way is ended by the read-idle timeout (Content-Length: aborted; SSE: error event)', async () => {
  const up = await upstream((socket, head, state, body) => {
    if (body.includes('"stream":true')) {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write('f\r\ndata: {"a":1}\n\n\r\n');
    } else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":"cmpl-');
    }
    // ... and nothing more, connection open.
  });
  const gw = await gateway(['--endpoint', up.api, '--upstream-first-byte-timeout-ms', '60000',
    '--upstream-read-idle-timeout-ms', '600']);

  // Sends `bytes` on a new connection; resolves {text, closed, elapsed} once the
  // response is complete by its framing or the connection closed.
  const exchange = async (bytes) => {
    const conn = openRaw(gw.port);
    await conn.connected;
    const started = Date.now();
    conn.socket.write(bytes);
    const done = () => conn.closed || (conn.data().includes('\r\n\r\n') && parseResponse(conn.data()).complete === true);
    await waitFor(done, { timeoutMs: 10000, what: 'the response to end' }).catch(() => {});
    const elapsed = Date.now() - started;
    conn.socket.destroy();
    return { text: conn.data(), closed: conn.closed, elapsed };
  };

  const plain = await exchange(post());
  const a = parseResponse(plain.text);
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-length'], '100');
  assert.equal(a.complete, false, 'the body is visibly short');
  assert.equal(plain.closed, true, 'the connection is closed: the only way to say "truncated" with Content-Length');
  assert.ok(plain.elapsed < 5000, `closed after ${plain.elapsed} ms`);

  const sse = await exchange(post(streamPayload));
  const b = parseResponse(sse.text);
  assert.equal(b.status, 200);
  assert.match(b.body, /^data: \{"a":1\}\n\n/);
  const last = b.body.trim().split('\n\n').pop();
  assert.match(last, /^data: \{"error":/, `the stream ends with an SSE error event: ${JSON.stringify(b.body)}`);
  assert.equal(JSON.parse(last.slice(6)).error.code, 'upstream_timeout');
  assert.ok(sse.elapsed < 5000, `ended after ${sse.elapsed} ms`);
  await waitForClosed(up, 2, 'the stalled upstream connections are closed by the gateway');
});

async function waitForClosed(up, n, what) {
  const started = Date.now();
  while (up.closedSockets < n && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 25));
  assert.ok(up.closedSockets >= n, `${what} (${up.closedSockets} of ${n})`);
}

test('a Content-Length body cut off mid-way: the client sees the connection abort, not a complete response', async () => {
  const up = await upstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":"cmpl-12');
    setTimeout(() => socket.destroy(), 50);
  });
  const gw = await gateway(['--endpoint', up.api]);
  const res = await rawExchange(gw.port, [post()], { idleMs: 3000 });
  const r = parseResponse(res.text);
  assert.equal(r.status, 200);
  assert.equal(r.body, '{"id":"cmpl-12');
  assert.equal(r.complete, false);
  assert.equal(res.closed, true);
  // Node's own client reports it as an error, as any client must.
  await assert.rejects(request(gw.port, { headers: jsonHeaders, body: payload }), /aborted|ECONNRESET|socket hang up/);
});

test('a chunked non-streaming body cut off mid-way: aborted, no terminating chunk, no SSE event in JSON', async () => {
  const up = await upstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write('c\r\n{"id":"cmpl-\r\n');
    setTimeout(() => socket.destroy(), 50);
  });
  const gw = await gateway(['--endpoint', up.api]);
  const res = await rawExchange(gw.port, [post()], { idleMs: 3000 });
  const r = parseResponse(res.text);
  assert.equal(r.status, 200);
  assert.equal(r.complete, false, `no terminating chunk: ${JSON.stringify(res.text)}`);
  assert.doesNotMatch(r.body, /data: /, 'a JSON body gets no SSE event appended');
  assert.equal(res.closed, true);
  await assert.rejects(request(gw.port, { headers: jsonHeaders, body: payload }), /aborted|ECONNRESET|socket hang up|Parse Error/);
});

test('an SSE stream cut off mid-chunk ends with an SSE error event of its own', async () => {
  const up = await upstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write('f\r\ndata: {"a":1}\n\n\r\n');
    socket.write('40\r\ndata: {"a":');  // a chunk of 64 bytes announced, 11 sent
    setTimeout(() => socket.destroy(), 50);
  });
  const gw = await gateway(['--endpoint', up.api]);
  const res = await rawExchange(gw.port, [post(streamPayload)], { idleMs: 3000 });
  const r = parseResponse(res.text);
  assert.equal(r.status, 200);
  assert.match(r.body, /^data: \{"a":1\}\n\n/);
  // The error event starts after a blank line, so that an SSE client reads it as an
  // event of its own and not as the tail of the cut one.
  assert.match(r.body, /\n\ndata: \{"error":\{[^\n]*\}\}\n\n$/, JSON.stringify(r.body));
  const last = r.body.trim().split('\n\n').pop();
  assert.equal(JSON.parse(last.slice(6)).error.code, 'upstream_broken');
});

test('a pooled connection the server closed: the fresh-connection retry counts against the retry budget', async () => {
  // Both upstreams answer warm-up requests (prompt "warm"); every other request is
  // dropped before an answer, on pooled and fresh connections alike.
  const dropUnlessWarm = () => upstream((socket, head, state, body) => {
    if (body.includes('warm-up')) socket.write(jsonReply('{"ok":1}'));
    else socket.destroy();
  });
  const a = await dropUnlessWarm();
  const b = await dropUnlessWarm();
  const gw = await gateway(['--endpoint', a.api, '--endpoint', b.api, '--max-attempts', '2']);
  // Pairs of concurrent requests (prompts all different, so that prefix placement
  // spreads them) until each upstream holds a pooled connection.
  for (let round = 0; round < 20 && (a.requests === 0 || b.requests === 0); round++) {
    const pair = await Promise.all([0, 1].map((i) => request(gw.port, {
      headers: jsonHeaders, body: JSON.stringify({ model: MODEL, prompt: `warm-up ${round} ${i} ${'x'.repeat(round * 7 + i)}`, max_tokens: 2 }),
    })));
    for (const r of pair) assert.equal(r.status, 200, r.body);
  }
  assert.ok(a.requests > 0 && b.requests > 0, 'both upstreams served a warm-up request');
  const before = a.requests + b.requests;
  const res = await request(gw.port, { headers: jsonHeaders, body: payload });
  assert.equal(res.status, 502, res.body);
  assert.equal(JSON.parse(res.body).error.code, 'upstream_unavailable');
  assert.equal(a.requests + b.requests - before, 2,
    '--max-attempts 2: the request went out twice in all, the fresh-connection retry included');

  // Within the budget the fresh-connection retry still rescues the request.
  const flaky = await upstream((socket, head, state) => {
    if (state.requests === 1) socket.write(jsonReply('{"ok":2}'));
    else socket.destroy();
  });
  const gw2 = await gateway(['--endpoint', flaky.api, '--max-attempts', '2']);
  for (let i = 0; i < 3; i++) {
    const r = await request(gw2.port, { headers: jsonHeaders, body: payload });
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
  }
  assert.equal(flaky.connections, 3);
});

test('a pooled connection the server closed late: no fresh-connection retry after the retry deadline', async () => {
  // First request of each connection answered; on a reused connection the server holds
  // the request 1.5 s, then closes without answering.
  const slowDrop = await upstream((socket, head, state) => {
    if (state.requests === 1) socket.write(jsonReply('{"ok":1}'));
    else setTimeout(() => socket.destroy(), 1500);
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-hostile-up-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', `    static: ["${slowDrop.api}"]`,
    'retries: {budget: 4, deadline: 1s}', '',
  ].join('\n'));
  const gw = await gateway(['--config', config]);
  assert.equal((await request(gw.port, { headers: jsonHeaders, body: payload })).status, 200);
  const res = await request(gw.port, { headers: jsonHeaders, body: payload });
  assert.equal(res.status, 502, `1.5 s > the 1 s retry deadline: no new attempt (${res.body})`);
  assert.equal(JSON.parse(res.body).error.code, 'upstream_unavailable');
  assert.equal(slowDrop.connections, 1, 'no fresh connection was opened');
});

test('an IPv6 upstream ([::1]:PORT) works in the data path', async () => {
  const sim6 = track(await start(binaries.sim, ['--host', '::1', '--port', '0', '--model', MODEL]));
  assert.match(sim6.api, /^\[::1\]:\d+$/);
  const gw = await gateway(['--endpoint', sim6.api]);
  const res = await request(gw.port, { headers: jsonHeaders, body: payload });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).object, 'text_completion');
  const streamed = await request(gw.port, { headers: jsonHeaders, body: streamPayload });
  assert.equal(streamed.status, 200);
  assert.match(streamed.body, /data: \[DONE\]/);
});
