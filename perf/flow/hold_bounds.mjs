// Issue 66's bounds: holding --requests requests of --body-kib KiB each for a pool with no
// server respects flowControl.maxBytes (the requests past it are answered 503
// rejected-no-endpoints at once), and the gateway's RSS grows by no more than the held
// bytes plus a bounded overhead per held request. Prints the figures; exits 1 if a bound
// fails. Too heavy for CI (1 GB of request bodies sent over 10,000 connections): run by hand.
//
//   RINGGATE_BUILD_DIR=build node perf/flow/hold_bounds.mjs [--requests 10000] [--body-kib 100] \
//       [--max-bytes-mib 512] [--workers 1] [--overhead-kib 16]
//
// The pool "starts empty" as a static pool can (127.0.0.1:1 never answers). Each request
// is a raw HTTP/1.1 POST on its own connection (the body built once, written to every socket).
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startGateway, scrape } from '../../tests/lib/procs.mjs';
import { rssBytes } from '../../tests/lib/proc_stat.mjs';

const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    'body-kib': { type: 'string', default: '100' },
    'max-bytes-mib': { type: 'string', default: '512' },
    workers: { type: 'string', default: '1' },
    // The bound asserted on the overhead per request sent (held or refused): connection and
    // exchange state, the allocator's size-class rounding of each body block, and the freed
    // blocks of the refused bodies it keeps until the clients go.
    'overhead-kib': { type: 'string', default: '32' },
  },
});
const N = Number(opt.requests);
const BODY = Number(opt['body-kib']) * 1024;
const MAX_BYTES = Number(opt['max-bytes-mib']) * 1024 * 1024;
const WORKERS = Number(opt.workers);
const OVERHEAD_BOUND = Number(opt['overhead-kib']) * 1024;
const MIB = 1024 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-hold-bounds-'));
const file = path.join(dir, 'gateway.yaml');
writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["127.0.0.1:1"]}}
flowControl:
  noEndpointRequestTTL: 10m
  maxBytes: ${MAX_BYTES}
  maxRequests: ${N}
  defaultPriorityBand: {maxRequests: ${N}, maxBytes: ${N * BODY}}  # maxBytes, all bands, is the bound here
`);
const gw = await startGateway(['--workers', String(WORKERS), '--config', file, '--max-body-bytes', String(BODY * 2),
  '--max-connections', String(N + 100),
  // A held body is a buffered one (the worker's --max-buffered-body-bytes, 256 MiB by default,
  // answers 503 beyond it): room for maxBytes and for the bodies still arriving.
  '--max-buffered-body-bytes', String(2 * MAX_BYTES)], { timeoutMs: 20000 });

// One body of exactly BODY bytes.
const head = '{"model":"facebook/opt-125m","max_tokens":1,"prompt":"';
const tail = '"}';
const body = Buffer.from(head + 'x'.repeat(BODY - head.length - tail.length) + tail);
const requestHead = 'POST /v1/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n' +
  `content-length: ${body.length}\r\n\r\n`;
const request = Buffer.concat([Buffer.from(requestHead), body]);

async function gauges() {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const sum = (name) => [...m].filter(([k]) => k.startsWith(`${name}{`)).reduce((s, [, v]) => s + v, 0);
  return { held: sum('llm_d_epp_flow_control_queue_size'), bytes: sum('llm_d_epp_flow_control_queue_bytes') };
}

const sockets = [];
const refused = [];  // {status, reason, ms}
let otherAnswers = 0;
function send(i) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect(gw.port, '127.0.0.1');
    sockets.push(s);
    let text = '';
    s.on('data', (d) => {
      text += d;
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      if (!m || !text.includes('\r\n\r\n')) return;
      const reason = /x-llm-d-request-dropped-reason: ([^\r]+)/i.exec(text)?.[1];
      if (m[1] === '503' && reason) refused.push({ status: 503, reason, ms: performance.now() - t0 });
      else otherAnswers++;
      s.removeAllListeners('data');
      s.destroy();  // a client answered 503 goes away (its connection's buffers with it)
    });
    s.on('error', reject);
    s.write(request, () => resolve());
  });
}

const rssBefore = rssBytes(gw.proc.pid);
const t0 = performance.now();
for (let i = 0; i < N; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 200); ++j) batch.push(send(j));
  await Promise.all(batch);
}
const sentMs = performance.now() - t0;
// Every request either held (the gauge) or answered.
let g;
for (const deadline = performance.now() + 60000; ;) {
  g = await gauges();
  if (g.held + refused.length + otherAnswers >= N) break;
  if (performance.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 500));  // the last buffers returned (RSS read once, not polled)
const rssHeld = rssBytes(gw.proc.pid);
const growth = rssHeld - rssBefore;
const expectedHeld = Math.min(N, Math.floor(MAX_BYTES / WORKERS / BODY) * WORKERS);
const overhead = (growth - g.bytes) / Math.max(1, g.held);
const overheadPerSent = (growth - g.bytes) / N;
const slowest = refused.reduce((m, r) => Math.max(m, r.ms), 0);
const median = refused.length ? refused.map((r) => r.ms).sort((a, b) => a - b)[refused.length >> 1] : 0;

console.log(`requests ${N} x ${BODY} B bodies ` +
  `(${(N * BODY / MIB).toFixed(0)} MiB sent in ${(sentMs / 1000).toFixed(1)} s), ` +
  `maxBytes ${(MAX_BYTES / MIB).toFixed(0)} MiB, ${WORKERS} worker(s)`);
console.log(`held ${g.held} (expected ${expectedHeld}), held bytes ${(g.bytes / MIB).toFixed(1)} MiB; ` +
  `answered at once ${refused.length} (503 ${[...new Set(refused.map((r) => r.reason))].join(',')}, ` +
  `median ${median.toFixed(0)} ms, slowest ${slowest.toFixed(0)} ms from its connect, behind the other uploads), ` +
  `other answers ${otherAnswers}`);
console.log(`gateway RSS ${(rssBefore / MIB).toFixed(1)} MiB -> ${(rssHeld / MIB).toFixed(1)} MiB: growth ` +
  `${(growth / MIB).toFixed(1)} MiB = held bytes ${(g.bytes / MIB).toFixed(1)} MiB + overhead ` +
  `${((growth - g.bytes) / MIB).toFixed(1)} MiB: ${(overhead / 1024).toFixed(2)} KiB per held request, ` +
  `${(overheadPerSent / 1024).toFixed(2)} KiB per request sent (bound ${OVERHEAD_BOUND / 1024} KiB)`);

for (const s of sockets) s.destroy();
for (const deadline = performance.now() + 30000; (await gauges()).held > 0 && performance.now() < deadline;)
  await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 1000));
const rssAfter = rssBytes(gw.proc.pid);
console.log(`after every client went away: held ${(await gauges()).held}, RSS ${(rssAfter / MIB).toFixed(1)} MiB`);
await gw.stop();
rmSync(dir, { recursive: true, force: true });

const failures = [];
if (g.held !== expectedHeld) failures.push(`held ${g.held}, expected ${expectedHeld} (maxBytes)`);
if (g.held * BODY > MAX_BYTES) failures.push('held bytes above maxBytes');
if (refused.length !== N - g.held) failures.push(`${refused.length} answered at once, expected ${N - g.held}`);
if (refused.some((r) => r.reason !== 'rejected-no-endpoints')) failures.push('a refusal without rejected-no-endpoints');
if (overheadPerSent > OVERHEAD_BOUND)
  failures.push(`overhead ${overheadPerSent} B per request above ${OVERHEAD_BOUND}`);
if (failures.length) {
  console.log(`FAIL: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('OK');
