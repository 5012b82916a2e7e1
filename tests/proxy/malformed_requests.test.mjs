// A table of malformed requests sent as raw bytes: each must get the right status (and
// the connection closed when framing is broken) or a clean close; the gateway must
// keep serving afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, startGateway } from '../lib/procs.mjs';
import { rawExchange, statuses, request, jsonHeaders, MODEL } from './raw_http.mjs';

let sim;
let gw;
before(async () => {
  sim = await startSim(['--model', MODEL]);
  gw = await startGateway(['--workers', '2', '--endpoint', sim.api, '--max-header-bytes', '4096',
    '--max-body-bytes', '65536', '--header-timeout-ms', '1000']);
});
after(async () => {
  await gw?.stop();
  await sim?.stop();
});

const ok = JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1 });
// [name, bytes, expected status (null = the gateway just closes), must close]
const cases = [
  ['CL + TE (smuggling)', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, true],
  ['TE + CL (smuggling)', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`, 400, true],
  ['duplicate CL, same value', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}`, 400, true],
  ['duplicate CL, different', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x`, 400, true],
  ['CL list', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}`, 400, true],
  ['negative CL', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`, 400, true],
  ['CL with letters', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n`, 400, true],
  ['CL overflow', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n`, 400, true],
  ['bad chunk size', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n{}\r\n0\r\n\r\n`, 400, true],
  ['negative chunk size', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n`, 400, true],
  ['chunk size overflow', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n`, 400, true],
  ['chunk longer than size', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n`, 400, true],
  ['TE gzip only', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}`, 400, true],
  ['TE chunked not last', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400, true],
  ['HTTP/1.0 + TE + keep-alive', 'POST /v1/completions HTTP/1.0\r\nConnection: keep-alive\r\n'
    + 'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 400, true],
  ['HTTP/1.0 + TE + CL', 'POST /v1/completions HTTP/1.0\r\nTransfer-Encoding: chunked\r\n'
    + 'Content-Length: 2\r\n\r\n{}', 400, true],
  ['HTTP/1.1 without Host', `GET /v1/models HTTP/1.1\r\n\r\n`, 400, true],
  ['two Hosts', `GET /v1/models HTTP/1.1\r\nHost: x\r\nHOST: y\r\n\r\n`, 400, true],
  ['two Hosts on HTTP/1.0', `GET /v1/models HTTP/1.0\r\nHost: x\r\nHost: x\r\n\r\n`, 400, true],
  ['space before colon', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}`, 400, true],
  ['obs-fold header', `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n`, 400, true],
  ['header without colon', `GET /v1/models HTTP/1.1\r\nHost: x\r\nJustAName\r\n\r\n`, 400, true],
  ['bare LF line ends', `GET /v1/models HTTP/1.1\nHost: x\n\n`, 400, true],
  ['bare CR in header', `GET /v1/models HTTP/1.1\r\nHost: a\rb\r\n\r\n`, 400, true],
  ['NUL in header value', `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n`, 400, true],
  ['space in target', `GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n`, 400, true],
  ['unknown method', `BREW /v1/models HTTP/1.1\r\nHost: x\r\n\r\n`, 400, true],
  ['lowercase method', `get /v1/models HTTP/1.1\r\nHost: x\r\n\r\n`, 400, true],
  // (The whole HTTP/2 preface starts HTTP/2: tests/proxy/http2.py; a near miss is HTTP/1.1's.)
  ['HTTP/2 preface cut short', `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\x00`, 400, true],
  ['HTTP/3.0 version', `GET /v1/models HTTP/3.0\r\n\r\n`, 400, true],
  ['garbage version', `GET /v1/models HTTP/1.x\r\n\r\n`, 400, true],
  ['binary junk', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]), 400, true],
  ['huge header', `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(8000)}\r\n\r\n`, 431, true],
  ['too many headers', `GET /v1/models HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(150)}\r\n`, 431, true],
  ['huge target', `GET /${'a'.repeat(8000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, true],
  ['body too large', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n`, 413, true],
  ['Expect unknown', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}`, 417, true],
  ['body not JSON', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`, 400, false],
  ['JSON array body', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]`, 400, false],
  ['model is a number', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{"model":1}`, 400, false],
  ['truncated JSON', `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"model":"`, 400, false],
  ['invalid UTF-8 JSON', Buffer.concat([Buffer.from('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{"model":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 400, false],
  ['unknown path', `GET /admin HTTP/1.1\r\nHost: x\r\n\r\n`, 404, false],
  ['CONNECT', `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`, null, true],
  ['headers never end', `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n`, 408, true],
];

test(`${cases.length} malformed requests`, async () => {
  assert.ok(cases.length >= 30);
  for (const [name, bytes, status, mustClose] of cases) {
    const res = await rawExchange(gw.port, [bytes], { idleMs: mustClose ? 3000 : 700 });
    const got = statuses(res.text);
    if (status === null) {
      assert.ok(res.closed, `${name}: expected a close`);
      assert.ok(got.every((s) => s >= 400), `${name}: ${got}`);
    } else {
      assert.deepEqual(got, [status], `${name}: got ${JSON.stringify(res.text.slice(0, 200))}`);
      const bodyStart = res.text.indexOf('\r\n\r\n');
      const err = JSON.parse(res.text.slice(bodyStart + 4)).error;
      assert.ok(err && err.message && err.type && err.code, `${name}: OpenAI error body`);
    }
    if (mustClose) assert.ok(res.closed, `${name}: connection must close`);
  }
  // Still serving, on every worker.
  for (let i = 0; i < 8; i++) {
    const res = await request(gw.port, { headers: jsonHeaders, body: ok });
    assert.equal(res.status, 200);
  }
});

test('a smuggled second request is never forwarded', async () => {
  const smuggled = 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n';
  const res = await rawExchange(gw.port, [
    `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length + 5}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  ]);
  assert.deepEqual(statuses(res.text), [400]);
  assert.ok(res.closed);
});
