// Issue 11: a client that stops reading is cut after the write-stall timeout, with its
// upstream; accept failing with EMFILE backs off (counted) instead of spinning.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { start, binaries, startGateway, scrape, waitRoutable } from '../lib/procs.mjs';
import { request, jsonHeaders, MODEL, metric } from './raw_http.mjs';

const live = [];
after(async () => { for (const p of live.reverse()) await p.stop?.(); });
const body = { model: MODEL, prompt: 'hello', max_tokens: 2 };
const text = JSON.stringify(body);
const post = `POST /v1/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`;

// An upstream that streams an endless SSE response and reports when its socket closes.
async function endlessUpstream() {
  const sockets = new Set();
  let closedResolve;
  const closed = new Promise((r) => { closedResolve = r; });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    let timer;
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      if (!buffer.includes('\r\n\r\n')) return;
      if (/^GET /.test(buffer)) { socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'); buffer = ''; return; }
      buffer = '';
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `data: ${'x'.repeat(16000)}\n\n`;
      const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      timer = setInterval(() => { for (let i = 0; i < 16 && socket.writable; i++) socket.write(frame); }, 5);
      socket.on('close', () => { clearInterval(timer); closedResolve(Date.now()); });
    });
    socket.on('error', () => {});
    socket.on('close', () => { clearInterval(timer); sockets.delete(socket); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const handle = {
    api: `127.0.0.1:${server.address().port}`,
    closed,
    stop: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
  live.push(handle);
  return handle;
}

test('a client that stops reading is closed after the write-stall timeout, and so is its upstream', async () => {
  const up = await endlessUpstream();
  const gw = await startGateway(['--workers', '1', '--model', MODEL, '--endpoint', up.api,
    '--client-write-timeout-ms', '500', '--upstream-read-idle-timeout-ms', '60000']);
  live.push(gw);
  await waitRoutable(gw);
  const client = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => client.on('connect', r));
  client.pause();  // never reads: the gateway's sends stop making progress
  client.write(post);
  const started = Date.now();
  const closedAt = await Promise.race([up.closed, new Promise((r) => setTimeout(() => r(0), 20000))]);
  client.destroy();
  assert.ok(closedAt > 0, 'the upstream connection was closed');
  assert.ok(closedAt - started < 15000);
  const m = await scrape(`http://${gw.admin}/metrics`);
  assert.ok(metric(m, 'ringgate_client_disconnects_total') >= 1);
});

test('accept failing with EMFILE backs off and is counted; service resumes when descriptors free up', async () => {
  const args = ['-c', `ulimit -n 64 && exec "$0" "$@"`, binaries.ringgate, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--workers', '1', '--model', MODEL, '--endpoint', '127.0.0.1:9',
    ...(process.env.RINGGATE_GATEWAY_ARGS ?? '').split(' ').filter(Boolean)];
  const gw = await start('/bin/sh', args);
  live.push(gw);
  const held = [];
  for (let i = 0; i < 80; i++) {
    const s = net.connect(gw.port, '127.0.0.1');
    s.on('error', () => {});
    held.push(s);
  }
  // Out of descriptors for ~1 s (the admin port cannot accept either: scrape after).
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of held) s.destroy();
  // Descriptors come back: the gateway answers again (GET /v1/models needs no upstream).
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    try { status = (await request(gw.port, { method: 'GET', path: '/v1/models' })).status; } catch { /* still full */ }
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  const errors = metric(await scrape(`http://${gw.admin}/metrics`), 'ringgate_accept_errors_total') ?? 0;
  assert.ok(errors > 0, 'EMFILE was counted');
  // Backing off 100 ms between tries: about 10 a second, not a spin of millions.
  assert.ok(errors < 100, `accept errors while out of descriptors: ${errors}`);
  assert.equal(status, 200);
});
