// Large request bodies (issue 13): once a request's head says a large body follows, the
// gateway receives it straight into the body's own buffer (no copy out of a receive
// buffer). On whichever backend RINGGATE_GATEWAY_ARGS selects: the bytes the model
// server gets are exactly the client's, however the body is split on the wire, with a
// Content-Length or chunked, and with a request pipelined behind a chunked body; the
// direct receive is seen to be used (ringgate_client_body_direct_receives_total).
// The per-worker buffered-bytes cap with direct receives in flight: hostile_client.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, scrape } from '../lib/procs.mjs';
import { rawExchange, statuses, MODEL, metric } from './raw_http.mjs';

const live = [];
after(async () => { for (const p of live.reverse()) await p.stop?.(); });

const reply = '{"id":"x","object":"text_completion","model":"facebook/opt-125m","choices":[{"index":0,"text":"hi","finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';

// A model server that answers every POST with `reply` and keeps each request body.
async function recordingUpstream() {
  const bodies = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (d) => {
      buffer = Buffer.concat([buffer, d]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const m = /content-length: (\d+)/i.exec(head);
        const need = end + 4 + (m ? Number(m[1]) : 0);
        if (buffer.length < need) return;
        const body = buffer.subarray(end + 4, need);
        buffer = buffer.subarray(need);
        if (/^GET /.test(head)) {
          socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
          continue;
        }
        bodies.push(body.toString('latin1'));
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${reply.length}\r\n\r\n${reply}`);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const handle = {
    api: `127.0.0.1:${server.address().port}`,
    bodies,
    stop: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
  live.push(handle);
  return handle;
}

let shared;
async function setup() {
  if (shared) return shared;
  const up = await recordingUpstream();
  const gw = await startGateway(['--workers', '1', '--model', MODEL, '--endpoint', up.api, '--max-body-bytes', '8388608']);
  live.push(gw);
  for (let i = 0; i < 250; i++) {
    const d = await (await fetch(`http://${gw.admin}/debug/endpoints`)).json();
    if (d.endpoints.length > 0 && d.endpoints.every((e) => e.routable)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  shared = { up, gw };
  return shared;
}

const directReceives = async (gw) => metric(await scrape(`http://${gw.admin}/metrics`), 'ringgate_client_body_direct_receives_total');

// A chat body of about `bytes`, distinct per call (its bytes are checked end to end).
let serial = 0;
function chatBody(bytes) {
  const tag = `r${++serial}-`;
  let text = tag;
  for (let i = 0; text.length < bytes; i++) text += `word${(i * 7919) % 10007} `;
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: text }], max_tokens: 1 });
}

// Cuts `body` at `cuts` (byte offsets), with a short pause between pieces so that they
// reach the gateway as separate receives (the checks do not depend on it).
function pieces(body, cuts) {
  const out = [];
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    if (cut <= at || cut > body.length) continue;
    out.push(body.slice(at, cut), { delayMs: 5 });
    at = cut;
  }
  return out;
}

function chunked(body, sizes) {
  let out = '';
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = Math.min(sizes[i % sizes.length], body.length - at);
    out += n.toString(16) + '\r\n' + body.slice(at, at + n) + '\r\n';
    at += n;
  }
  return out + '0\r\n\r\n';
}

const head = (extra) => `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n${extra}\r\n`;

test('a Content-Length body larger than the receive buffers arrives whole, however it is split', async () => {
  const { up, gw } = await setup();
  const before = await directReceives(gw);
  // Splits at the head's end, around the 16 KB receive buffers, around the 32 KB where a
  // direct receive begins, in the middle, one byte before the end.
  const body = chatBody(600 * 1024);
  const splits = [
    [],
    [1, 16383, 16384, 16385],
    [32767, 32768, 32769, 65536],
    [100000, 300001, body.length - 1],
  ];
  for (const cuts of splits) {
    const sent = up.bodies.length;
    const res = await rawExchange(gw.port, [head(`Content-Length: ${body.length}\r\nConnection: close\r\n`), { delayMs: 5 },
      ...pieces(body, cuts)]);
    assert.deepEqual(statuses(res.text), [200], `${cuts}: ${res.text.slice(0, 200)}`);
    assert.equal(up.bodies.length, sent + 1);
    assert.ok(up.bodies[sent] === body, `cuts ${cuts}: the model server got the client's exact bytes`);
  }
  assert.ok(await directReceives(gw) > before, 'the bodies were received straight into their buffers');
});

test('a chunked body arrives whole, and a request pipelined behind it is answered too', async () => {
  const { up, gw } = await setup();
  const before = await directReceives(gw);
  const body = chatBody(400 * 1024);
  const wire = chunked(body, [1, 4093, 70000, 16384, 3]);
  const second = chatBody(2000);
  const next = head(`Content-Length: ${second.length}\r\nConnection: close\r\n`) + second;
  for (const cuts of [[], [20000, 20001, wire.length - 3], [wire.length - 100]]) {
    const sent = up.bodies.length;
    // The pipelined request rides in the same write as the chunked body's end.
    const res = await rawExchange(gw.port, [head('Transfer-Encoding: chunked\r\n'), { delayMs: 5 },
      ...pieces(wire + next, cuts)]);
    assert.deepEqual(statuses(res.text), [200, 200], `${cuts}: ${res.text.slice(0, 200)}`);
    assert.equal(up.bodies.length, sent + 2);
    assert.ok(up.bodies[sent] === body, `cuts ${cuts}: the chunked body reached the model server decoded and whole`);
    assert.ok(up.bodies[sent + 1] === second, 'the pipelined request is its own, intact');
  }
  assert.ok(await directReceives(gw) > before, 'the chunked bodies were received straight into their buffers');
});

test('a small body is not received directly, and keep-alive requests after a large one are intact', async () => {
  const { up, gw } = await setup();
  const large = chatBody(200 * 1024);
  const small = chatBody(1000);
  const before = await directReceives(gw);
  const sent = up.bodies.length;
  const res = await rawExchange(gw.port, [head(`Content-Length: ${small.length}\r\n`) + small]);
  assert.deepEqual(statuses(res.text), [200]);
  assert.equal(await directReceives(gw), before, 'a 1 KB body goes through the receive buffers');
  const res2 = await rawExchange(gw.port, [
    head(`Content-Length: ${large.length}\r\n`) + large + head(`Content-Length: ${small.length}\r\nConnection: close\r\n`) + small]);
  assert.deepEqual(statuses(res2.text), [200, 200]);
  assert.deepEqual(up.bodies.slice(sent + 1), [large, small]);
});
