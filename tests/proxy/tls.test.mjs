// HTTPS on the API listener (issue 34): real clients (curl, the official openai client)
// with a CA file, TLS 1.2 and 1.3 with ALPN http/1.1, certificate rotation under load
// with no failed request, mutual TLS, and hostile handshakes (silent, slow, oversized,
// not TLS at all) bounded and counted. Certificates come from the openssl CLI, per run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { binaries, scrape, startGateway, startSim, start } from '../lib/procs.mjs';
import { MODEL } from './raw_http.mjs';

const testsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-tls-'));
const file = (name) => path.join(dir, name);
const live = [];
let sims = [];
let gw;
let ca;

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
// A CA, and leaves it signs: `serial` in hex ("A1"), for localhost/127.0.0.1 or a client.
function makeCa(name) {
  openssl('req', '-x509', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2', '-subj', `/CN=${name}`);
}
function makeLeaf(name, caName, serial, { client = false } = {}) {
  openssl('req', '-new', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`);
  fs.writeFileSync(file(`${name}.ext`), client ? 'extendedKeyUsage=clientAuth\n'
    : 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${caName}.pem`), '-CAkey', file(`${caName}.key`),
    '-set_serial', `0x${serial}`, '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
}
// Replaces `to` with a copy of `from` at once (a rename over it, as a rotation does).
function install(from, to) {
  fs.copyFileSync(from, `${to}.new`);
  fs.renameSync(`${to}.new`, to);
}

// A Secret volume as the kubelet lays it out: served.pem and served.key link through
// `..data` to a versioned directory, and a rotation swaps `..data` in one rename, so the
// gateway never sees one file of the pair without the other.
function installSecret(version, leaf) {
  const at = file(`..${version}`);
  fs.mkdirSync(at);
  fs.copyFileSync(file(`${leaf}.pem`), path.join(at, 'served.pem'));
  fs.copyFileSync(file(`${leaf}.key`), path.join(at, 'served.key'));
  fs.symlinkSync(`..${version}`, file('..data_tmp'));
  fs.renameSync(file('..data_tmp'), file('..data'));
  for (const name of ['served.pem', 'served.key'])
    if (!fs.existsSync(file(name))) fs.symlinkSync(`..data/${name}`, file(name));
}

async function gatewayWith(tlsYaml, extra = [], listenYaml = []) {
  const config = file(`gateway-${live.length}.yaml`);
  fs.writeFileSync(config, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'listen:', ...listenYaml.map((l) => `  ${l}`),
    '  tls:', ...tlsYaml.map((l) => `    ${l}`), ''].join('\n'));
  const g = await startGateway(['--config', config, '--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api]), ...extra]);
  live.push(g);
  return g;
}

before(async () => {
  makeCa('ca');
  makeLeaf('leaf-a', 'ca', 'A1');
  makeLeaf('leaf-b', 'ca', 'B2');
  makeLeaf('leaf-c', 'ca', 'C3');
  makeLeaf('client', 'ca', 'D4', { client: true });
  makeCa('other-ca');
  makeLeaf('stranger', 'other-ca', 'E5', { client: true });
  installSecret('v1', 'leaf-a');
  ca = fs.readFileSync(file('ca.pem'));
  sims = await Promise.all([startSim(['--model', MODEL]), startSim(['--model', MODEL])]);
  gw = await gatewayWith([`certFile: ${file('served.pem')}`, `keyFile: ${file('served.key')}`, 'handshakeTimeout: 1s']);
});
after(async () => {
  for (const p of live.reverse()) await p.stop();
  await Promise.all(sims.map((s) => s.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const base = (g) => `https://localhost:${g.port}`;
const completion = (max = 4) => JSON.stringify({ model: MODEL, prompt: 'Hello over TLS', max_tokens: max });

function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-v', '--max-time', '10', ...args], (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

// One HTTPS request; resolves {status, body} or rejects.
function request(g, { agent, body = completion(), pathName = '/v1/completions' } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${base(g)}${pathName}`, { method: 'POST', ca, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

// The serial number a fresh connection is served ("A1").
function servedSerial(g) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port: g.port, host: '127.0.0.1', servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

const tlsCounter = async (g, name) => (await scrape(`${g.adminUrl}/metrics`)).get(name) ?? 0;
const failures = async (g, reason) => tlsCounter(g, `ringgate_tls_handshake_failures_total{reason="${reason}"}`);

test('curl --cacert: TLS 1.2 and 1.3, ALPN h2 and http/1.1, the answer proxied', async () => {
  for (const [flags, version] of [[['--tlsv1.2', '--tls-max', '1.2'], 'TLSv1.2'], [['--tlsv1.3'], 'TLSv1.3']]) {
    for (const [http, alpn] of [['--http1.1', 'http/1.1'], ['--http2', 'h2']]) {
      const r = await curl([...flags, http, '--cacert', file('ca.pem'), '-H', 'content-type: application/json', '-d',
        completion(), `${base(gw)}/v1/completions`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`SSL connection using ${version.replace('.', '\\.')}`), r.stderr);
      assert.match(r.stderr, new RegExp(`ALPN: server accepted ${alpn.replace('.', '\\.')}`), r.stderr);
      assert.equal(JSON.parse(r.stdout).usage.completion_tokens, 4);
    }
  }
  // Without the CA the certificate is not trusted: it is real TLS, not a plain port.
  const untrusted = await curl(['-d', completion(), `${base(gw)}/v1/completions`]);
  assert.notEqual(untrusted.code, 0);
  // A 1.1-only client is refused: TLS 1.2 is the floor.
  const old = await curl(['--cacert', file('ca.pem'), '--tlsv1.1', '--tls-max', '1.1', `${base(gw)}/v1/models`]);
  assert.notEqual(old.code, 0);
  assert.equal(gw.tls, 'userspace');
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok([...m.keys()].some((k) => k.startsWith('ringgate_tls_info{mode="userspace"')), 'ringgate_tls_info says which mode served');
});

test("undici's Agent with allowH2 over TLS: answers and streams as HTTP/2 streams", async () => {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ allowH2: true, connect: { ca } });
  const streams = async () => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_http2_streams_total') ?? 0;
  const before = await streams();
  try {
    for (const stream of [false, true]) {
      const body = JSON.stringify({ model: MODEL, prompt: 'Hello over h2', max_tokens: 4, stream });
      const r = await request(`${base(gw)}/v1/completions`, { method: 'POST', dispatcher: agent, body,
        headers: { 'content-type': 'application/json' } });
      assert.equal(r.statusCode, 200);
      const text = await r.body.text();
      if (stream) assert.match(text, /data: \[DONE\]\n\n$/);
      else assert.equal(JSON.parse(text).usage.completion_tokens, 4);
    }
  } finally {
    await agent.close();
  }
  assert.equal(await streams(), before + 2);
});

test('the official openai client over HTTPS with a CA file (NODE_EXTRA_CA_CERTS)', async () => {
  const script = `
    import OpenAI from 'openai';
    const client = new OpenAI({ baseURL: process.argv[1], apiKey: 'unused', maxRetries: 0, timeout: 15000 });
    const chat = await client.chat.completions.create({ model: '${MODEL}', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
    let chunks = 0, text = '';
    const stream = await client.completions.create({ model: '${MODEL}', prompt: 'Hello', max_tokens: 6, stream: true });
    for await (const c of stream) { chunks++; text += c.choices[0]?.text ?? ''; }
    const models = await client.models.list();
    console.log(JSON.stringify({ chat: chat.usage.completion_tokens, chunks, text, models: models.data.map((m) => m.id) }));
  `;
  const run = (env) => new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, `${base(gw)}/v1`], { cwd: testsDir, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  const ok = await run({ NODE_EXTRA_CA_CERTS: file('ca.pem') });
  assert.equal(ok.error, null, ok.stderr);
  const out = JSON.parse(ok.stdout);
  assert.equal(out.chat, 5);
  assert.ok(out.chunks >= 6 && out.text.length > 0, ok.stdout);
  assert.deepEqual(out.models, [MODEL]);
  const refused = await run({});  // no CA: the client does not trust the gateway
  assert.notEqual(refused.error, null);
  assert.match(refused.stderr, /Connection error|certificate/i);
});

test('ALPN: h2 first, then http/1.1, or no ALPN; another protocol alone is refused; h2 off: h2 alone refused',
  async () => {
    const connect = (g, alpn) => new Promise((resolve) => {
      const s = tls.connect({ port: g.port, host: '127.0.0.1', servername: 'localhost', ca, ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => {
        resolve({ alpn: s.alpnProtocol });
        s.end();
      });
      s.on('error', (e) => resolve({ error: e.code ?? e.message }));
    });
    const before = await failures(gw, 'protocol');
    assert.equal((await connect(gw, ['h2'])).alpn, 'h2');
    assert.equal((await connect(gw, ['http/1.1', 'h2'])).alpn, 'h2');  // the server's preference
    assert.equal((await connect(gw, ['http/1.1'])).alpn, 'http/1.1');
    assert.equal((await connect(gw, null)).alpn, false);
    assert.match((await connect(gw, ['spdy/3'])).error, /NO_APPLICATION_PROTOCOL/);
    assert.equal(await failures(gw, 'protocol'), before + 1);
    const h1only = await gatewayWith([`certFile: ${file('leaf-a.pem')}`, `keyFile: ${file('leaf-a.key')}`], [],
      ['http2:', '  enabled: false']);
    assert.match((await connect(h1only, ['h2'])).error, /NO_APPLICATION_PROTOCOL/);
    assert.equal((await connect(h1only, ['h2', 'http/1.1'])).alpn, 'http/1.1');
  });

// Opens a TCP connection, writes `chunks` (Buffers; numbers are pauses in ms), and
// resolves {closedAfterMs, sent} once the gateway closes it (or after `maxMs`).
function hostile(port, chunks, maxMs = 8000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let closed = false;
    const done = () => { if (!closed) { closed = true; clearTimeout(limit); s.destroy(); resolve({ closedAfterMs: performance.now() - t0, sent }); } };
    const limit = setTimeout(() => { closed = true; s.destroy(); resolve({ closedAfterMs: Infinity, sent }); }, maxMs);
    s.on('close', done);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('connect', async () => {
      for (const c of chunks) {
        if (closed) return;
        if (typeof c === 'number') { await new Promise((r) => setTimeout(r, c)); continue; }
        s.write(c);
        sent += c.length;
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

test('hostile handshakes: silent, slow, oversized and not-TLS clients are cut, bounded and counted', async () => {
  const timeouts0 = await failures(gw, 'timeout');
  const large0 = await failures(gw, 'too_large');
  const protocol0 = await failures(gw, 'protocol');
  // Silent: connects and sends nothing. Slow: a record header and a few bytes of a
  // ClientHello, then nothing more. Both are cut at handshakeTimeout (1 s).
  const [silent, slow] = await Promise.all([
    hostile(gw.port, []),
    hostile(gw.port, [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00]), 200, Buffer.from([0x7c])]),
  ]);
  for (const r of [silent, slow]) assert.ok(r.closedAfterMs >= 900 && r.closedAfterMs < 4000, `cut after ${r.closedAfterMs} ms`);
  assert.equal(await failures(gw, 'timeout'), timeouts0 + 2);
  // Oversized: a ClientHello that says it is 131,300 bytes long (under OpenSSL's own
  // limit), sent in full records: cut once 128 KiB arrived, long before the deadline.
  const hello = Buffer.alloc(4 + 131300);
  hello.writeUInt8(0x01, 0);
  hello.writeUIntBE(131300, 1, 3);
  const records = [];
  for (let at = 0; at < hello.length; at += 16384) {
    const piece = hello.subarray(at, at + 16384);
    records.push(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, piece.length >> 8, piece.length & 0xff]), piece]));
  }
  const large = await hostile(gw.port, records);
  assert.ok(large.closedAfterMs < 900, `oversized handshake cut after ${large.closedAfterMs} ms`);
  assert.equal(await failures(gw, 'too_large'), large0 + 1);
  // Not TLS: plain HTTP to the HTTPS port is a protocol failure at once.
  const plain = await hostile(gw.port, [Buffer.from(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${completion().length}\r\n\r\n${completion()}`)]);
  assert.ok(plain.closedAfterMs < 900, `plain HTTP cut after ${plain.closedAfterMs} ms`);
  assert.equal(await failures(gw, 'protocol'), protocol0 + 1);
  // And the gateway serves on.
  assert.equal((await request(gw)).status, 200);
});

test('certificate rotated under load: no request fails, new connections get the new one', async () => {
  assert.equal(await servedSerial(gw), 'A1');
  const reloads0 = await tlsCounter(gw, 'ringgate_tls_certificate_reloads_total');
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 4, ca });
  let stop = false;
  const outcomes = { ok: 0, failed: [] };
  // Eight loops: half on kept-alive connections (begun with the old certificate), half
  // on a new connection each (a handshake at every request, across the rotation).
  const loops = Array.from({ length: 8 }, async (_, i) => {
    while (!stop) {
      try {
        const r = await request(gw, { agent: i % 2 ? keepAlive : false });
        if (r.status === 200) outcomes.ok++;
        else outcomes.failed.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) {
        outcomes.failed.push(e.message);
      }
    }
  });
  // A stream that began before the rotation and ends after it.
  const long = request(gw, { body: JSON.stringify({ model: MODEL, prompt: 'a long one', max_tokens: 120, stream: true }) });
  await new Promise((r) => setTimeout(r, 400));
  // Written as two files one after the other, a pair can be split by more than the
  // watcher's 200 ms of quiet on a loaded machine, and the half-written pair is then
  // rightly counted as a rejected reload; the kubelet's one rename cannot be split.
  installSecret('v2', 'leaf-b');
  let serial = 'A1';
  for (const t0 = performance.now(); serial !== 'B2' && performance.now() - t0 < 5000;) {
    await new Promise((r) => setTimeout(r, 50));
    serial = await servedSerial(gw);
  }
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(loops);
  keepAlive.destroy();
  const stream = await long;
  assert.equal(serial, 'B2', 'the new certificate is served');
  assert.deepEqual(outcomes.failed, [], `${outcomes.failed.length} of ${outcomes.ok + outcomes.failed.length} requests failed`);
  assert.ok(outcomes.ok >= 40, `${outcomes.ok} requests under the rotation`);
  assert.equal(stream.status, 200);
  assert.ok(stream.body.endsWith('data: [DONE]\n\n'), 'the stream begun before the rotation ended whole');
  assert.equal(await tlsCounter(gw, 'ringgate_tls_certificate_reloads_total'), reloads0 + 1, 'one reload for the key and certificate');
  assert.equal(await tlsCounter(gw, 'ringgate_tls_certificate_reload_failures_total'), 0);
  console.log(`rotation under load: ${outcomes.ok} requests, 0 failed; serial A1 -> ${serial}`);
});

test('a rotation whose key does not match keeps the certificate served', async () => {
  const failed0 = await tlsCounter(gw, 'ringgate_tls_certificate_reload_failures_total');
  install(file('leaf-c.key'), file('served.key'));  // leaf-b's certificate, leaf-c's key
  for (const t0 = performance.now(); performance.now() - t0 < 5000;) {
    if (await tlsCounter(gw, 'ringgate_tls_certificate_reload_failures_total') > failed0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await tlsCounter(gw, 'ringgate_tls_certificate_reload_failures_total'), failed0 + 1);
  assert.match(gw.stderr(), /certificate reload rejected, serial B2 stays: key .* does not match certificate/);
  assert.equal(await servedSerial(gw), 'B2');
  assert.equal((await request(gw)).status, 200);
  install(file('leaf-c.pem'), file('served.pem'));  // the pair matches again: it loads
  let serial = 'B2';
  for (const t0 = performance.now(); serial !== 'C3' && performance.now() - t0 < 5000;) {
    await new Promise((r) => setTimeout(r, 50));
    serial = await servedSerial(gw);
  }
  assert.equal(serial, 'C3');
});

test('mutual TLS (clientCAFile): no client certificate, or one another CA signed, is refused', async () => {
  const mtls = await gatewayWith([`certFile: ${file('leaf-a.pem')}`, `keyFile: ${file('leaf-a.key')}`, `clientCAFile: ${file('ca.pem')}`]);
  const url = `${base(mtls)}/v1/completions`;
  const common = ['--cacert', file('ca.pem'), '-H', 'content-type: application/json', '-d', completion()];
  const none = await curl([...common, url]);
  assert.notEqual(none.code, 0, none.stdout);
  const stranger = await curl([...common, '--cert', file('stranger.pem'), '--key', file('stranger.key'), url]);
  assert.notEqual(stranger.code, 0, stranger.stdout);
  const ok = await curl([...common, '--cert', file('client.pem'), '--key', file('client.key'), url]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).usage.completion_tokens, 4);
  assert.ok(await failures(mtls, 'protocol') >= 2, 'refused client certificates are counted');
});

test('a certificate that cannot serve stops the start with a clear error; flags go in pairs', async () => {
  const sim = sims[0];
  const missing = start(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--endpoint', sim.api,
    '--tls-cert', file('nope.pem'), '--tls-key', file('leaf-a.key')]);
  await assert.rejects(missing, /TLS: certificate .*nope\.pem/);
  const mismatch = start(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--endpoint', sim.api,
    '--tls-cert', file('leaf-a.pem'), '--tls-key', file('leaf-b.key')]);
  await assert.rejects(mismatch, /does not match certificate/);
  const alone = start(binaries.ringgate, ['--listen', '127.0.0.1:0', '--endpoint', sim.api, '--tls-cert', file('leaf-a.pem')]);
  await assert.rejects(alone, /exited \(2\).*--tls-cert and --tls-key go together/s);
  // The flags alone serve HTTPS too.
  const flagged = await startGateway(['--endpoint', sim.api, '--tls-cert', file('leaf-a.pem'), '--tls-key', file('leaf-a.key')]);
  live.push(flagged);
  assert.equal(await servedSerial(flagged), 'A1');
  assert.equal((await request(flagged)).status, 200);
});
