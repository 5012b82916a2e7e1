// Regression tests for issue 11's data-path fixes, on whichever backend
// RINGGATE_GATEWAY_ARGS selects: upstream 1xx before the final response, the first-byte
// timeout over the whole head, the read-idle timeout, timeouts.request, a non-streaming
// response cut mid-body, a client half-close, HTTP/1.0 keep-alive, --max-connections,
// the per-worker buffered-request cap, and an IPv6 upstream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { rawExchange, statuses, request, jsonHeaders, MODEL, metric } from './raw_http.mjs';

const live = [];
after(async () => { for (const p of live.reverse()) await p.stop?.(); });
// Started, and every endpoint routable (the first health probes are done).
const gateway = async (args) => {
  const g = await startGateway(['--workers', '1', '--model', MODEL, ...args]);
  live.push(g);
  for (let i = 0; i < 250; i++) {
    const d = await (await fetch(`http://${g.admin}/debug/endpoints`)).json();
    if (d.endpoints.length > 0 && d.endpoints.every((e) => e.routable)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return g;
};
const body = { model: MODEL, prompt: 'hello', max_tokens: 2 };
const post = (json, extra = '') => {
  const text = JSON.stringify(json);
  return `POST /v1/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n${extra}\r\n${text}`;
};

// A raw upstream: onRequest(socket) runs once per proxied request (control polls get 404).
async function rawUpstream(onRequest, host = '127.0.0.1') {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      if (!buffer.includes('\r\n\r\n')) return;
      if (/^GET \/(metrics|v1\/models) /.test(buffer)) {
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
        buffer = '';
        return;
      }
      const m = /content-length: (\d+)/i.exec(buffer);
      const need = buffer.indexOf('\r\n\r\n') + 4 + (m ? Number(m[1]) : 0);
      if (buffer.length < need) return;
      buffer = '';
      onRequest(socket);
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((r) => server.listen(0, host, r));
  const port = server.address().port;
  const handle = {
    api: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    stop: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
  live.push(handle);
  return handle;
}

const jsonReply = (text, extra = '') =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n${extra}\r\n${text}`;

test('upstream 100 Continue and 103 Early Hints are skipped: the final response reaches the client', async () => {
  const up = await rawUpstream((s) => {
    s.write('HTTP/1.1 100 Continue\r\n\r\n');
    s.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    s.write(jsonReply('{"ok":1}'));
  });
  const gw = await gateway(['--endpoint', up.api]);
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 200);
  assert.equal(res.body, '{"ok":1}');
});

test('the first-byte timeout covers the whole response head, not its first byte', async () => {
  const up = await rawUpstream((s) => { s.write('HTTP/1.1 2'); });  // then nothing
  const gw = await gateway(['--endpoint', up.api, '--upstream-first-byte-timeout-ms', '400']);
  const started = Date.now();
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 504);
  assert.ok(Date.now() - started < 5000);
});

test('read-idle timeout between response bytes: a stalled SSE stream ends with an error event', async () => {
  const up = await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.write('f\r\ndata: {"a":1}\n\n\r\n');  // then silence, connection open
  });
  const gw = await gateway(['--endpoint', up.api, '--upstream-read-idle-timeout-ms', '400']);
  const started = Date.now();
  const res = await request(gw.port, { headers: jsonHeaders, body: { ...body, stream: true } });
  assert.equal(res.status, 200);
  assert.match(res.body, /^data: \{"a":1\}\n\n/);
  assert.match(res.body, /data: \{"error":\{.*"code":"upstream_timeout"/);
  assert.ok(Date.now() - started < 5000);
});

test('timeouts.request: a request past the whole-request deadline gets a 504', async () => {
  const up = await rawUpstream(() => {});
  const gw = await gateway(['--endpoint', up.api, '--request-timeout-ms', '400']);
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 504);
  assert.equal(JSON.parse(res.body).error.code, 'request_timeout');
});

test('a non-streaming response cut mid-body is visibly truncated (chunked: no terminating chunk)', async () => {
  const up = await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.write('5\r\n{"a":\r\n');
    setTimeout(() => s.destroy(), 100);
  });
  const gw = await gateway(['--endpoint', up.api]);
  const r = await rawExchange(gw.port, [post(body)], { idleMs: 3000 });
  assert.ok(r.closed, 'the connection was closed');
  assert.match(r.text, /^HTTP\/1\.1 200 /);
  assert.ok(!r.text.endsWith('0\r\n\r\n'), `no terminating chunk: ${JSON.stringify(r.text.slice(-40))}`);
  assert.ok(!r.text.includes('"error"'), 'no error text inside a JSON body');
});

test('a length-framed response cut mid-body closes short of its Content-Length', async () => {
  const up = await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    setTimeout(() => s.destroy(), 100);
  });
  const gw = await gateway(['--endpoint', up.api]);
  const r = await rawExchange(gw.port, [post(body)], { idleMs: 3000 });
  assert.ok(r.closed);
  const bodyText = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  assert.ok(bodyText.length < 100, `short body: ${bodyText.length}`);
});

test('a client that half-closes after its requests gets every response, then the close', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await gateway(['--endpoint', sim.api]);
  const r = await new Promise((resolve) => {
    const socket = net.connect(gw.port, '127.0.0.1');
    const parts = [];
    socket.on('data', (d) => parts.push(d));
    socket.on('end', () => resolve({ text: Buffer.concat(parts).toString('latin1'), ended: true }));
    socket.on('error', (e) => resolve({ text: Buffer.concat(parts).toString('latin1'), error: e.code }));
    socket.on('connect', () => { socket.write(post(body) + post(body)); socket.end(); });  // FIN after both
  });
  assert.ok(r.ended, `the gateway closed after answering: ${r.error}`);
  assert.deepEqual(statuses(r.text), [200, 200]);
});

test('HTTP/1.0 with Connection: keep-alive gets Connection: keep-alive and the connection stays open', async () => {
  const up = await rawUpstream((s) => s.write(jsonReply('{"ok":1}')));
  const gw = await gateway(['--endpoint', up.api]);
  const text = JSON.stringify(body);
  const req10 = `POST /v1/completions HTTP/1.0\r\nHost: gw\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
  const r = await rawExchange(gw.port, [req10, { delayMs: 200 }, req10], { idleMs: 800 });
  assert.deepEqual(statuses(r.text), [200, 200]);
  assert.equal((r.text.match(/connection: keep-alive/gi) ?? []).length, 2, r.text);
  const models = await rawExchange(gw.port, ['GET /v1/models HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { idleMs: 500 });
  assert.match(models.text, /connection: keep-alive/i);
  assert.equal(models.closed, false);
});

test('--max-connections: the connection beyond the limit gets a 503 and a close, the others are served', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await gateway(['--endpoint', sim.api, '--max-connections', '2']);
  const held = [];
  for (let i = 0; i < 2; i++) {
    const s = net.connect(gw.port, '127.0.0.1');
    await new Promise((r) => s.on('connect', r));
    held.push(s);
  }
  // Wait until the worker has taken both (they count once accepted).
  for (let i = 0; i < 100; i++) {
    const m = await scrape(`http://${gw.admin}/metrics`);
    if (metric(m, 'ringgate_connections_open') >= 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const r = await rawExchange(gw.port, [], { idleMs: 2000 });
  assert.deepEqual(statuses(r.text), [503]);
  assert.match(r.text, /too_many_connections/);
  assert.ok(r.closed);
  for (const s of held) s.destroy();
  const m = await scrape(`http://${gw.admin}/metrics`);
  assert.ok(metric(m, 'ringgate_connections_rejected_total') >= 1);
});

test('the per-worker cap on buffered request bytes answers 503 with Retry-After', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await gateway(['--endpoint', sim.api, '--max-buffered-body-bytes', '65536']);
  // Two unfinished 60 KB bodies: the second crosses the 64 KB cap.
  const head = `POST /v1/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n`;
  const first = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => first.on('connect', r));
  first.write(head + 'x'.repeat(60000));
  await new Promise((r) => setTimeout(r, 200));
  const r = await rawExchange(gw.port, [head + 'y'.repeat(60000)], { idleMs: 2000 });
  first.destroy();
  assert.deepEqual(statuses(r.text), [503]);
  assert.match(r.text, /retry-after: 1/i);
  // Memory is given back: a complete request afterwards is served.
  const ok = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(ok.status, 200);
});

test('an IPv6 upstream address works in the data path', async (t) => {
  let up;
  try {
    up = await rawUpstream((s) => s.write(jsonReply('{"v6":1}')), '::1');
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  const gw = await gateway(['--endpoint', up.api]);
  const res = await request(gw.port, { headers: jsonHeaders, body });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body, '{"v6":1}');
});
