// Issue 6, SIGTERM of the gateway itself: /readyz answers 503 at once, the API listener
// closes (new connections are refused), requests in flight — streams and non-streamed
// answers — finish normally, and the process exits 0 once they are done. A stream still
// running when the drain timeout ends is cut visibly: an SSE error event, then the end
// of the chunked body — never a silent truncation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway } from '../lib/procs.mjs';
import { startFakeVllm } from '../lib/fake_vllm.mjs';
import { sendOne } from '../../perf/loadgen/loadgen.mjs';
import http from 'node:http';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop('SIGKILL'); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves once the sim has `n` requests running or waiting (they are in flight through the gateway).
async function untilInFlight(sim, n) {
  const limit = performance.now() + 10000;
  for (;;) {
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    const total = [...text.matchAll(/^vllm:num_requests_(?:running|waiting)\{[^}]*\} (\S+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    if (total >= n) return;
    assert.ok(performance.now() < limit, `${n} requests in flight at the sim (${total})`);
    await sleep(10);
  }
}

function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function request(url, agent, i, stream, maxTokens, t0) {
  return sendOne({
    agent, base: new URL(url), path: '/v1/completions', stream, headers: {}, timeoutMs: 20000, t0,
    body: { model: MODEL, prompt: `drain ${i}`, max_tokens: maxTokens, stream, ignore_eos: true },
  });
}

test('SIGTERM: readyz 503, listener closed, in-flight requests finish, exit 0', { timeout: 60000 }, async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '50']);
  live.push(sim);
  const gw = await startGateway(['--endpoint', `127.0.0.1:${sim.port}`, '--workers', '2', '--drain-timeout-ms', '15000']);
  live.push(gw);
  const agent = new http.Agent({ keepAlive: true });
  const t0 = performance.now();
  // ~40 tokens × 50 ms: each request runs about 2 s.
  const inflight = [];
  for (let i = 0; i < 6; i++) inflight.push(request(gw.url, agent, i, i % 2 === 0, 40, t0));
  await untilInFlight(sim, 6);
  const exited = new Promise((resolve) => gw.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() - t0 })));
  const term = performance.now() - t0;
  gw.proc.kill('SIGTERM');
  const readyz = await fetch(`${gw.adminUrl}/readyz`).then((r) => r.status, (e) => `unreachable ${e.message}`);
  let refusedAt = null;
  for (let i = 0; i < 100 && refusedAt === null; i++) {
    if (!(await connects(gw.port))) refusedAt = performance.now() - t0;
    else await sleep(20);
  }
  const recs = await Promise.all(inflight);
  const ex = await exited;
  const lastEnd = Math.max(...recs.map((r) => r.tStart + r.tEnd));
  console.log(`drain: SIGTERM at ${term.toFixed(0)} ms, /readyz ${readyz}, connections refused from ${refusedAt?.toFixed(0)} ms, ` +
    `in-flight ${recs.map((r) => `${r.stream ? 'stream' : 'plain'}:${r.outcome}`).join(' ')}, last ended at ${lastEnd.toFixed(0)} ms, ` +
    `exit ${ex.code ?? ex.signal} at ${ex.at.toFixed(0)} ms`);
  assert.equal(readyz, 503);
  assert.ok(refusedAt !== null && refusedAt - term < 1500, `new connections refused soon after SIGTERM (${refusedAt})`);
  for (const r of recs) assert.equal(r.outcome, 'ok', `${r.stream ? 'stream' : 'request'} ${r.i}: ${r.outcome} ${r.detail}`);
  assert.ok(recs.filter((r) => r.stream).every((r) => r.done), 'every stream ended with [DONE]');
  assert.equal(ex.code, 0, JSON.stringify(ex));
  assert.ok(ex.at >= lastEnd - 50, 'it exited after the in-flight requests were done');
  assert.ok(ex.at - lastEnd < 2000, `and soon after (${(ex.at - lastEnd).toFixed(0)} ms)`);
  agent.destroy();
});

test('SIGTERM with a drain timeout shorter than a stream: it ends with an SSE error event, exit 0', { timeout: 60000 }, async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '50']);
  live.push(sim);
  const gw = await startGateway(['--endpoint', `127.0.0.1:${sim.port}`, '--workers', '1', '--drain-timeout-ms', '600']);
  live.push(gw);
  const agent = new http.Agent({ keepAlive: true });
  const t0 = performance.now();
  const stream = request(gw.url, agent, 0, true, 200, t0);  // ~10 s
  await untilInFlight(sim, 1);
  const exited = new Promise((resolve) => gw.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() - t0 })));
  const term = performance.now() - t0;
  gw.proc.kill('SIGTERM');
  const r = await stream;
  const ex = await exited;
  console.log(`drain timeout: stream ${r.outcome} (${r.detail}) after ${r.chunks} chunks at ${(r.tStart + r.tEnd).toFixed(0)} ms; SIGTERM at ${term.toFixed(0)} ms; exit ${ex.code ?? ex.signal} at ${ex.at.toFixed(0)} ms`);
  assert.equal(r.outcome, 'sse_error', `${r.outcome}: ${r.detail}`);
  assert.ok(r.chunks > 3, 'it had streamed for a while');
  assert.equal(ex.code, 0, JSON.stringify(ex));
  assert.ok(ex.at - term < 5000, 'the drain timeout bounded the shutdown');
  agent.destroy();
});

// The drain deadline can fall while a send to the client is in flight (a slow reader, a
// full socket): the closing event is queued behind it, not skipped, and the reader that
// resumes within the grace gets every byte, the error event and the end of the body.
test('drain deadline during a send in flight: the SSE error event is queued behind it', { timeout: 60000 }, async () => {
  const event = `data: ${JSON.stringify({ choices: [{ text: 'x'.repeat(1000) }] })}\n\n`;
  const up = await startFakeVllm({
    model: MODEL,
    onRequest: (req, body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const pour = () => {  // 16 MB as fast as the gateway takes them, then silence
        while (sent < 16 << 20) {
          sent += event.length;
          if (!res.write(event)) return res.once('drain', pour);
        }
      };
      pour();
    },
  });
  live.push({ stop: () => up.stop() });
  const gw = await startGateway(['--endpoint', up.api, '--workers', '1', '--drain-timeout-ms', '400']);
  live.push(gw);
  const sock = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const body = JSON.stringify({ model: MODEL, prompt: 'slow reader', max_tokens: 10, stream: true });
  sock.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  const received = [];
  let bytes = 0;
  sock.on('data', (c) => { received.push(c); bytes += c.length; });
  const ended = new Promise((r) => sock.once('close', r));
  const limit = performance.now() + 10000;
  while (bytes < 1 << 20) {  // the stream runs; then the client stops reading
    assert.ok(performance.now() < limit, `the stream started (${bytes} bytes)`);
    await sleep(5);
  }
  sock.pause();
  const exited = new Promise((resolve) => gw.proc.once('exit', (code, signal) => resolve({ code, signal })));
  gw.proc.kill('SIGTERM');
  await sleep(800);  // past the drain deadline (400 ms + one 100 ms tick), inside its 1 s grace
  sock.resume();
  await ended;
  const ex = await exited;
  const text = Buffer.concat(received).toString('latin1');
  const tail = text.slice(-400);
  console.log(`slow reader: ${bytes} bytes, tail ${JSON.stringify(tail.slice(-160))}, exit ${ex.code ?? ex.signal}`);
  assert.ok(tail.endsWith('\r\n0\r\n\r\n'), 'the chunked body ended');
  assert.match(tail, /data: \{"error":\{[^\n]*gateway_shutdown[^\n]*\}\n\n\r\n0\r\n\r\n$/, 'its last event is the shutdown error');
  assert.equal(ex.code, 0, JSON.stringify(ex));
  sock.destroy();
});

// A raw HTTP/1.1 connection: sends requests and reads whole answers (content-length or
// chunked), and notes when the gateway closes it.
function rawConnection(port) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0), waiter = null;
  const conn = { sock, closedAt: null, error: null };
  const poke = () => { if (waiter) waiter(); };
  sock.on('data', (c) => { buf = Buffer.concat([buf, c]); poke(); });
  sock.on('end', () => { conn.closedAt = performance.now(); poke(); });
  sock.on('error', (e) => { conn.error = e.code ?? e.message; conn.closedAt ??= performance.now(); poke(); });
  conn.connected = new Promise((r) => sock.once('connect', r));
  // Resolves with {status, head, body} once a whole answer is in, or null if the
  // connection ended first.
  conn.answer = async () => {
    for (;;) {
      const text = buf.toString('latin1');
      const h = text.indexOf('\r\n\r\n');
      if (h >= 0) {
        const head = text.slice(0, h).toLowerCase();
        const length = /\r\ncontent-length: *(\d+)/.exec(head);
        const rest = text.slice(h + 4);
        const end = length ? (rest.length >= Number(length[1]) ? Number(length[1]) : -1)
                           : (rest.indexOf('\r\n0\r\n\r\n') >= 0 ? rest.indexOf('\r\n0\r\n\r\n') + 7 : rest.startsWith('0\r\n\r\n') ? 5 : -1);
        if (end >= 0) {
          buf = buf.subarray(h + 4 + end);
          return { status: Number(head.split(' ')[1]), head, body: rest.slice(0, end) };
        }
      }
      if (conn.closedAt !== null) return null;
      await new Promise((r) => { waiter = r; });
      waiter = null;
    }
  };
  conn.send = (body) => {
    const b = JSON.stringify(body);
    sock.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n${b}`);
  };
  return conn;
}

// No retries here: a request that reached the draining gateway on a connection it had
// kept open is answered (with `connection: close`), whether the connection was idle when
// the drain began or carried an answer that had promised keep-alive; a connection that
// stays idle is closed after the short grace (1 s); then the process exits 0.
test('draining: every request that reaches a kept-open connection is answered; idle ones close after the grace', { timeout: 60000 }, async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '50']);
  live.push(sim);
  const gw = await startGateway(['--endpoint', `127.0.0.1:${sim.port}`, '--workers', '1', '--drain-timeout-ms', '15000']);
  live.push(gw);
  const ask = { model: MODEL, prompt: 'again', max_tokens: 2 };
  const streaming = rawConnection(gw.port), idle = rawConnection(gw.port), silent = rawConnection(gw.port);
  await Promise.all([streaming.connected, idle.connected, silent.connected]);
  idle.send(ask);
  assert.equal((await idle.answer())?.status, 200, 'a first answer on the idle connection');
  // ~20 tokens at 50 ms: its head (keep-alive, as HTTP/1.1 is by default) goes out before the SIGTERM.
  streaming.send({ model: MODEL, prompt: 'long', max_tokens: 20, ignore_eos: true, stream: true });
  await untilInFlight(sim, 1);
  const exited = new Promise((resolve) => gw.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  const term = performance.now();
  gw.proc.kill('SIGTERM');
  for (let i = 0; i < 100 && (await fetch(`${gw.adminUrl}/readyz`)).status !== 503; i++) await sleep(10);

  await sleep(300);  // inside the idle grace
  idle.send(ask);
  const onIdle = await idle.answer();
  const first = await streaming.answer();
  streaming.send(ask);  // at once, as a pooling client does after an answer that promised keep-alive
  const afterStream = await streaming.answer();
  await Promise.all([idle, streaming, silent].map((c) => c.answer()));  // each one's end
  const ex = await exited;
  console.log(`drain, kept-open connections: idle one answered ${onIdle?.status} (${/connection: close/.test(onIdle?.head) ? 'close' : 'no close'}), ` +
    `stream ${first?.status} then ${afterStream?.status} (${/connection: close/.test(afterStream?.head) ? 'close' : 'no close'}); ` +
    `silent one closed ${Math.round(silent.closedAt - term)} ms after SIGTERM (${silent.error ?? 'FIN'}); exit ${ex.code ?? ex.signal} at ${Math.round(ex.at - term)} ms`);
  assert.equal(onIdle?.status, 200, 'a request on a connection idle at SIGTERM is answered');
  assert.match(onIdle.head, /\r\nconnection: close/);
  assert.equal(first?.status, 200);
  assert.match(first.body, /data: \[DONE\]/, 'the stream finished');
  assert.doesNotMatch(first.head, /connection: close/, 'its head had promised keep-alive');
  assert.equal(afterStream?.status, 200, 'the request sent right after it is answered, not reset');
  assert.match(afterStream.head, /\r\nconnection: close/);
  for (const c of [idle, streaming]) assert.ok(c.closedAt !== null && c.error === null, `closed cleanly after its answer (${c.error})`);
  assert.equal(silent.error, null, 'the silent connection got a FIN, not a reset');
  assert.ok(silent.closedAt - term >= 900 && silent.closedAt - term < 3000, `closed after the grace (${Math.round(silent.closedAt - term)} ms)`);
  assert.equal(ex.code, 0, JSON.stringify(ex));
  for (const c of [idle, streaming, silent]) c.sock.destroy();
});
