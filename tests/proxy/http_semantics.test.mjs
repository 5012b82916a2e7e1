// HTTP/1.1 behaviour of the gateway with raw sockets: keep-alive, pipelining, chunked
// uploads, Expect: 100-continue, HTTP/1.0, the request limits and timeouts, and the
// gateway's own error responses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startSim, startGateway } from '../lib/procs.mjs';
import { rawExchange, statuses, request, jsonHeaders, MODEL } from './raw_http.mjs';
import { startFakeVllm, json as replyJson } from '../lib/fake_vllm.mjs';
import { rawUpstream, jsonReply } from './raw_upstream.mjs';

let sim;
let gw;
const body = JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 2 });
const post = (extra = '', payload = body) =>
  `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;

before(async () => {
  sim = await startSim(['--model', MODEL]);
  gw = await startGateway([
    '--workers', '1', '--endpoint', sim.api,
    '--max-header-bytes', '2048', '--max-body-bytes', '4096',
    '--header-timeout-ms', '700', '--body-timeout-ms', '700', '--idle-timeout-ms', '1500',
  ]);
});
after(async () => {
  await gw?.stop();
  await sim?.stop();
});

test('keep-alive: two requests on one connection', async () => {
  const res = await rawExchange(gw.port, [post(), { delayMs: 200 }, post()], { idleMs: 800 });
  assert.deepEqual(statuses(res.text), [200, 200]);
  assert.equal(res.closed, false);
});

test('pipelined requests are answered in order', async () => {
  const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
  const bytes = ids.map((id, i) => (i === 2
    ? `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`
    : post(`X-Request-Id: ${id}\r\n`))).join('');
  const res = await rawExchange(gw.port, [bytes], { idleMs: 1000 });
  assert.deepEqual(statuses(res.text), [200, 200, 200, 200, 200]);
  const seen = [...res.text.matchAll(/x-request-id: (p\d)/g)].map((m) => m[1]);
  assert.deepEqual(seen.filter((id) => id !== 'p3'), ['p1', 'p2', 'p4', 'p5']);
  assert.ok(res.text.indexOf('"object":"list"') > res.text.indexOf('x-request-id: p2'), 'models answer in its place');
});

test('chunked upload, in small pieces', async () => {
  const half = body.length >> 1;
  const res = await rawExchange(gw.port, [
    // vLLM (and the sim) refuse a body not declared application/json.
    'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    `${half.toString(16)}\r\n${body.slice(0, half)}\r\n`, { delayMs: 100 },
    `${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`,
  ], { idleMs: 800 });
  assert.deepEqual(statuses(res.text), [200]);
  assert.match(res.text, /"text_completion"/);
});

test('Expect: 100-continue gets 100 before the body is sent', async () => {
  const head = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`;
  const first = await rawExchange(gw.port, [head], { idleMs: 500 });
  assert.deepEqual(statuses(first.text), [100]);
  const res = await rawExchange(gw.port, [head, { delayMs: 200 }, body], { idleMs: 800 });
  assert.deepEqual(statuses(res.text), [100, 200]);
});

test('Expect: 100-continue with a too-large body is refused at once with 413', async () => {
  const res = await rawExchange(gw.port, [
    'POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n',
  ], { idleMs: 800 });
  assert.deepEqual(statuses(res.text), [413]);
  assert.equal(res.closed, true);
});

test('HTTP/1.0 client: answered, then closed', async () => {
  const payload = body;
  const res = await rawExchange(gw.port, [
    `POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`,
  ]);
  assert.deepEqual(statuses(res.text), [200]);
  assert.equal(res.closed, true);
  assert.doesNotMatch(res.text, /transfer-encoding: chunked/i);
});

test('HTTP/1.0 client, streamed: close-delimited SSE', async () => {
  const payload = JSON.stringify({ model: MODEL, prompt: 'Hi', max_tokens: 3, stream: true });
  const res = await rawExchange(gw.port, [
    `POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`,
  ]);
  assert.deepEqual(statuses(res.text), [200]);
  assert.equal(res.closed, true);
  assert.match(res.text, /data: \[DONE\]/);
  assert.doesNotMatch(res.text, /transfer-encoding/i);
});

test('431 when the head is too large', async () => {
  const res = await rawExchange(gw.port, [`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`]);
  assert.deepEqual(statuses(res.text), [431]);
  assert.equal(res.closed, true);
  assert.match(res.text, /"code":"headers_too_large"/);
});

test('413 when the body is too large (Content-Length and chunked)', async () => {
  const big = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(5000) });
  const a = await rawExchange(gw.port, [post('', big)]);
  assert.deepEqual(statuses(a.text), [413]);
  assert.equal(a.closed, true);
  const b = await rawExchange(gw.port, [
    'POST /v1/completions HTTP/1.1\r\nHost: x\r\n'
    + `Transfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
  ]);
  assert.deepEqual(statuses(b.text), [413]);
});

test('408 when the head trickles in too slowly (slowloris)', async () => {
  const started = Date.now();
  const res = await rawExchange(gw.port, ['GET /v1/models HTTP/1.1\r\nHost: x\r\n', { delayMs: 400 }, 'X-A: 1\r\n',
    { delayMs: 400 }, 'X-B: 2\r\n', { delayMs: 400 }, 'X-C: 3\r\n'], { idleMs: 3000 });
  assert.deepEqual(statuses(res.text), [408]);
  assert.equal(res.closed, true);
  assert.ok(Date.now() - started < 5000);
});

test('408 when the body does not arrive', async () => {
  const res = await rawExchange(gw.port, ['POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"mo'],
    { idleMs: 3000 });
  assert.deepEqual(statuses(res.text), [408]);
  assert.equal(res.closed, true);
});

test('idle keep-alive connection is closed after the idle timeout', async () => {
  const res = await rawExchange(gw.port, [post()], { idleMs: 4000 });
  assert.deepEqual(statuses(res.text), [200]);
  assert.equal(res.closed, true);
});

test('gateway errors: 404 path, 405 method, 400 bad JSON / missing or non-string model', async () => {
  const cases = [
    [{ method: 'GET', path: '/nope' }, 404, 'not_found'],
    [{ method: 'GET', path: '/v1/completions' }, 405, 'method_not_allowed'],
    [{ method: 'POST', path: '/v1/models', body: '{}' }, 405, 'method_not_allowed'],
    [{ body: '{"model": "m", ' }, 400, 'invalid_json'],
    [{ body: 'hello' }, 400, 'invalid_json'],
    [{ body: '' }, 400, 'invalid_json'],
    [{ body: { prompt: 'x' } }, 400, 'missing_model'],
    [{ body: { model: 7, prompt: 'x' } }, 400, 'invalid_model'],
    [{ body: { model: ['a'], prompt: 'x' } }, 400, 'invalid_model'],
    [{ path: '/v1/chat/completions', body: { model: MODEL, messages: 'x' } }, 400, 'invalid_messages'],
  ];
  for (const [opts, status, code] of cases) {
    const res = await request(gw.port, { headers: jsonHeaders, ...opts });
    assert.equal(res.status, status, JSON.stringify(opts));
    const err = JSON.parse(res.body).error;
    assert.equal(err.code, code);
    assert.equal(typeof err.message, 'string');
    assert.equal(typeof err.type, 'string');
  }
  const allowed = await request(gw.port, { method: 'GET', path: '/v1/chat/completions' });
  assert.equal(allowed.headers.allow, 'POST');
});

test('embeddings and responses paths are proxied too: request and answer arrive whole', async () => {
  // An upstream that serves both paths (the sim does not), so the body a client
  // gets can only have come from it.
  const up = await startFakeVllm({ model: MODEL, onRequest: (req, reqBody, res) => {
    const input = JSON.parse(reqBody).input;
    if (req.url === '/v1/embeddings') {
      return replyJson(res, 200, { object: 'list', model: MODEL,
        data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5, input.length] }],
        usage: { prompt_tokens: 1, total_tokens: 1 } });
    }
    replyJson(res, 200, { id: 'resp_1', object: 'response', model: MODEL, status: 'completed',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `echo: ${input}` }] }] });
  } });
  const g = await startGateway(['--workers', '1', '--endpoint', up.api]);
  try {
    for (const [path, input, check] of [
      ['/v1/embeddings', 'hello', (b) => assert.deepEqual(b.data[0].embedding, [0.25, -0.5, 5])],
      ['/v1/responses', 'hi there', (b) => assert.equal(b.output[0].content[0].text, 'echo: hi there')],
    ]) {
      const sent = JSON.stringify({ model: MODEL, input });
      const res = await request(g.port, { path, headers: jsonHeaders, body: sent });
      assert.equal(res.status, 200, res.body);
      check(JSON.parse(res.body));
      const got = up.requests.at(-1);
      assert.equal(got.path, path);
      assert.equal(got.body, sent, 'the upstream got the client body unchanged');
      assert.notEqual(res.headers['x-request-id'], undefined);
    }
    assert.equal(up.requests.length, 2);
  } finally {
    await g.stop();
    await up.stop();
  }
});

// Issue 72, items 2-4: header values lose their surrounding whitespace (RFC 9110 §5.5),
// an HTTP/1.1 request needs exactly one Host (RFC 9112 §3.2), and an HTTP/1.0 request with
// Transfer-Encoding is refused (RFC 9112 §6.1). A raw upstream shows the bytes forwarded,
// or that nothing was; tracing is on (a collector that takes every post) so that a
// client's traceparent is read, not copied.
async function withRawUpstream(fn) {
  const up = await rawUpstream((socket) => socket.write(jsonReply('{"object":"text_completion","choices":[]}')));
  const collector = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end()); });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  const g = await startGateway(['--workers', '1', '--model', MODEL, '--endpoint', up.api], {
    env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${collector.address().port}/v1/traces`,
      OTEL_TRACES_SAMPLER: 'parentbased_always_off',
    },
  });
  try {
    await fn(g, up);
  } finally {
    await g.stop();
    await up.stop();
    await new Promise((r) => collector.close(r));
  }
}
const post11 = (fields, payload = body) => `POST /v1/completions HTTP/1.1\r\n${fields}`
  + `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`;

test('header values reach the server without their surrounding spaces and tabs', async () => {
  await withRawUpstream(async (g, up) => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await rawExchange(g.port, [post11('Host: x \t\r\nx-probe:  val \t\r\nx-inner: \ta \t b \r\n'
      + 'x-blank: \t \r\nx-session-id: s1\t\r\n'
      + `traceparent: 00-${traceId}-00f067aa0ba902b7-01 \r\n`)], { idleMs: 800 });
    assert.deepEqual(statuses(res.text), [200]);
    assert.equal(up.heads.length, 1);
    const head = up.heads[0];
    assert.match(head, /\r\nx-probe: val\r\n/);
    assert.match(head, /\r\nx-inner: a \t b\r\n/, 'whitespace inside a value is kept');
    assert.match(head, /\r\nx-blank: \r\n/);
    assert.match(head, /\r\nx-session-id: s1\r\n/);
    assert.match(head, /\r\nhost: x\r\n/);
    // The gateway's attempt span continues the client's trace (a new trace would carry
    // another id, unsampled).
    assert.match(head, new RegExp(`\\r\\ntraceparent: 00-${traceId}-[0-9a-f]{16}-01\\r\\n`));
  });
});

test('Host: missing or repeated on HTTP/1.1 is a 400, never forwarded; HTTP/1.0 gets the upstream\'s', async () => {
  await withRawUpstream(async (g, up) => {
    for (const [name, fields] of [
      ['no Host', ''],
      ['two Hosts', 'Host: x\r\nHost: x\r\n'],
      ['two Hosts, different', 'Host: a\r\nhost: b\r\n'],
      ['two Hosts, one empty', 'Host:\r\nHost: x\r\n'],
    ]) {
      // A second, valid request pipelined behind: never read.
      const res = await rawExchange(g.port, [post11(fields) + post11('Host: x\r\n')], { idleMs: 3000 });
      assert.deepEqual(statuses(res.text), [400], `${name}: ${JSON.stringify(res.text.slice(0, 200))}`);
      assert.ok(res.closed, `${name}: the connection closes`);
      const err = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)).error;
      assert.equal(err.code, 'bad_request');
      assert.match(err.message, /Host/);
      assert.equal(typeof err.type, 'string');
    }
    assert.equal(up.requests, 0, 'nothing was forwarded');
    // One Host, even empty (a URI without authority, RFC 9112 §3.2): served.
    assert.deepEqual(statuses((await rawExchange(g.port, [post11('Host:\r\n')], { idleMs: 800 })).text), [200]);
    assert.match(up.heads.at(-1), /\r\nhost: \r\n/);
    // HTTP/1.0 needs none; the forwarded HTTP/1.1 request then names the upstream.
    const old = await rawExchange(g.port, [post11('').replace('HTTP/1.1', 'HTTP/1.0')]);
    assert.deepEqual(statuses(old.text), [200]);
    assert.match(up.heads.at(-1), new RegExp(`\\r\\nhost: 127\\.0\\.0\\.1:${up.port}\\r\\n`));
    assert.equal(up.heads.at(-1).match(/\r\nhost:/gi).length, 1);
    const named = await rawExchange(g.port, [post11('Host: x\r\n').replace('HTTP/1.1', 'HTTP/1.0')]);
    assert.deepEqual(statuses(named.text), [200]);
    assert.match(up.heads.at(-1), /\r\nhost: x\r\n/);
    assert.equal(up.requests, 3);
  });
});

test('HTTP/1.0 with Transfer-Encoding is a 400 and the connection closes', async () => {
  await withRawUpstream(async (g, up) => {
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const te = (fields) => `POST /v1/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n${fields}`
      + `Transfer-Encoding: chunked\r\n\r\n${chunked}`;
    const next = post11('Host: x\r\n');  // pipelined: must never be read
    for (const [name, bytes] of [
      ['keep-alive', te('Connection: keep-alive\r\n') + next],
      ['no keep-alive', te('') + next],
      ['keep-alive, body in a later read', te('Connection: keep-alive\r\n').slice(0, -chunked.length)],
    ]) {
      const res = await rawExchange(g.port, [bytes, { delayMs: 100 }, chunked + next], { idleMs: 3000 });
      assert.deepEqual(statuses(res.text), [400], `${name}: ${JSON.stringify(res.text.slice(0, 200))}`);
      assert.ok(res.closed, `${name}: the connection closes`);
      assert.match(res.text, /"code":"bad_request"/);
    }
    assert.equal(up.requests, 0, 'nothing was forwarded');
  });
});
