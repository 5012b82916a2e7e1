// Issue 6, passive health: an endpoint that answers 500 is retried elsewhere before any
// byte reaches the client (clients see 200), ejected after `ejectAfterFailures`
// consecutive failures, gets no traffic while ejected, is tried with one request when
// the ejection ends (half-open), is ejected for twice as long (capped) when that trial
// fails, and is readmitted when a trial succeeds.
//
// The failing endpoint is a small Node front (a real HTTP server on its own port) for a
// ringgate-sim: in fail mode it answers every POST with 500 and counts them, and always
// passes GET /metrics and /v1/models through, so the control plane keeps the endpoint
// routable — only passive health can keep traffic away from it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dirs = [];
const servers = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const s of servers) s.closeAllConnections?.(), s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// A switchable front for `target` (a sim URL): { port, state: { fail, posts500, postsPassed } }.
function startFront(target) {
  const state = { fail: true, posts500: 0, postsPassed: 0, delayMs: 0 };
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && state.fail) {
      state.posts500++;
      req.resume();
      req.on('end', () => setTimeout(() => {
        const body = JSON.stringify({ error: { message: 'injected failure', type: 'InternalServerError', code: 500 } });
        res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }, state.delayMs));
      return;
    }
    if (req.method === 'POST') state.postsPassed++;
    const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, state })));
}

async function complete(url, i) {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: `request ${i} ${'x'.repeat(i % 7)}`, max_tokens: 2 }),
  });
  const body = await r.text();
  return { status: r.status, dest: r.headers.get('x-gateway-destination-endpoint'), body };
}

async function passive(adminUrl, endpoint) {
  const d = await (await fetch(`${adminUrl}/debug/endpoints`)).json();
  const p = d.passive_health.find((e) => e.endpoint === endpoint);
  assert.ok(p, `no passive_health entry for ${endpoint}: ${JSON.stringify(d.passive_health)}`);
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('5xx before the first byte: retried elsewhere, ejection, half-open trial, backoff, readmission', { timeout: 80000 }, async () => {
  const good = await startSim(['--model', MODEL]);
  live.push(good);
  const backing = await startSim(['--model', MODEL]);
  live.push(backing);
  const front = await startFront(backing.url);
  const badEp = `127.0.0.1:${front.port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-eject-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  // ejectBase 3 s: wide enough that a batch of requests surely runs inside it on a busy machine.
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', `    static: ["127.0.0.1:${good.port}", "${badEp}"]`,
    'health: {ejectAfterFailures: 3, ejectBase: 3s, ejectMax: 5s}',
    'retries: {budget: 2, deadline: 5s}', '',
  ].join('\n'));
  const gw = await startGateway(['--config', config, '--workers', '2']);
  live.push(gw);
  const retries = async () => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_retries_total');
  const ejections = async () => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_endpoint_ejections_total');

  // 1. Until it is ejected, the failing endpoint gets requests; every one is retried on the
  //    good one and the client sees 200. Exactly 3 failures eject it.
  const statuses = {};
  for (let i = 0; i < 40 && front.state.posts500 < 3; i++) {
    const r = await complete(gw.url, i);
    statuses[r.status] = (statuses[r.status] || 0) + 1;
    assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body}`);
    assert.equal(r.dest, `127.0.0.1:${good.port}`, 'answered by the good endpoint');
  }
  assert.equal(front.state.posts500, 3, 'the failing endpoint got requests until 3 failures');
  let p = await passive(gw.adminUrl, badEp);
  assert.equal(p.ejected, true, JSON.stringify(p));
  assert.equal(p.ejections, 1);
  assert.equal(await ejections(), 1);
  assert.equal(await retries(), 3, 'each 500 was retried once');
  console.log(`ejected after ${front.state.posts500} failures; ${JSON.stringify(statuses)}; ejected for ${p.ejected_for_ms} ms more`);

  // 2. While ejected: no traffic to it at all.
  const before = front.state.posts500;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 1000 && n < 30) {
    const r = await complete(gw.url, 100 + n++);
    assert.equal(r.status, 200);
  }
  p = await passive(gw.adminUrl, badEp);
  assert.equal(p.ejected, true, `still ejected after the batch: ${JSON.stringify(p)}`);
  assert.equal(front.state.posts500, before, `no request reached the ejected endpoint (${n} sent)`);

  // 3. Half-open: after the ejection, exactly one trial goes there; it fails, and the next
  //    ejection is twice as long, capped by ejectMax (3 s × 2 → 5 s).
  await sleep(p.ejected_for_ms + 100);
  const trialStart = front.state.posts500;
  const sent = [];
  for (let i = 0; i < 60 && front.state.posts500 === trialStart; i++) sent.push(await complete(gw.url, 200 + i));
  assert.ok(sent.every((r) => r.status === 200), JSON.stringify(sent.filter((r) => r.status !== 200)));
  assert.equal(front.state.posts500, trialStart + 1, 'one trial request reached the half-open endpoint');
  p = await passive(gw.adminUrl, badEp);
  assert.equal(p.ejected, true, JSON.stringify(p));
  assert.equal(p.ejections, 2);
  assert.ok(p.ejected_for_ms > 3000 && p.ejected_for_ms <= 5000, `second ejection: ${p.ejected_for_ms} ms left (want 3000 < x ≤ 5000)`);
  for (let i = 0; i < 10; i++) assert.equal((await complete(gw.url, 300 + i)).status, 200);
  assert.equal(front.state.posts500, trialStart + 1, 'nothing more while ejected again');
  console.log(`half-open trial failed: re-ejected for ${p.ejected_for_ms} ms`);

  // 4. The endpoint recovers: the next trial succeeds and readmits it.
  front.state.fail = false;
  await sleep(p.ejected_for_ms + 100);
  let readmitted = false;
  for (let i = 0; i < 60 && !readmitted; i++) {
    const r = await complete(gw.url, 400 + i);
    assert.equal(r.status, 200);
    readmitted = r.dest === badEp;
  }
  assert.ok(readmitted, 'the recovered endpoint served a request');
  p = await passive(gw.adminUrl, badEp);
  assert.equal(p.ejected, false, JSON.stringify(p));
  assert.equal(p.half_open, false, JSON.stringify(p));
  assert.equal(p.consecutive_failures, 0);
  // Back in rotation: it takes a share of further requests.
  const dests = new Set();
  for (let i = 0; i < 40; i++) dests.add((await complete(gw.url, 500 + i * 13)).dest);
  assert.ok(dests.has(badEp) && dests.has(`127.0.0.1:${good.port}`), `both serve again: ${[...dests]}`);
  assert.equal(await ejections(), 2);
});

test('one endpoint answering 500 for everything: no ejection blackhole, the 500 is relayed', { timeout: 30000 }, async () => {
  const bad = await startSim(['--model', MODEL, '--fail-rate', '1']);
  live.push(bad);
  const gw = await startGateway(['--endpoint', `127.0.0.1:${bad.port}`, '--workers', '1']);
  live.push(gw);
  for (let i = 0; i < 8; i++) {
    const r = await complete(gw.url, i);
    // Nowhere else to go: the endpoint's own 500 reaches the client (not a 503 from an
    // empty pool, not a gateway 502), also after it was ejected.
    assert.equal(r.status, 500, r.body);
    assert.match(r.body, /Simulated failure/);
  }
  const p = await passive(gw.adminUrl, `127.0.0.1:${bad.port}`);
  assert.ok(p.ejections >= 1, JSON.stringify(p));
});

test('retries.deadline: no new attempt once the request is older than it', { timeout: 40000 }, async () => {
  const good = await startSim(['--model', MODEL]);
  live.push(good);
  const backing = await startSim(['--model', MODEL]);
  live.push(backing);
  const front = await startFront(backing.url);
  front.state.delayMs = 400;  // its 500 comes after 400 ms
  const badEp = `127.0.0.1:${front.port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-deadline-'));
  dirs.push(dir);
  const run = async (deadline) => {
    const config = path.join(dir, `gateway-${deadline}.yaml`);
    fs.writeFileSync(config, [
      'apiVersion: ringgate.io/v1', 'kind: Gateway',
      'pool:', '  discovery:', `    static: ["127.0.0.1:${good.port}", "${badEp}"]`,
      'health: {ejectAfterFailures: 100}',  // keep the failing endpoint in rotation
      `retries: {budget: 2, deadline: ${deadline}}`, '',
    ].join('\n'));
    const gw = await startGateway(['--config', config, '--workers', '1']);
    live.push(gw);
    const statuses = {};
    const before = front.state.posts500;
    for (let i = 0; i < 60 && front.state.posts500 - before < 3; i++) {
      const r = await complete(gw.url, i);
      statuses[r.status] = (statuses[r.status] || 0) + 1;
    }
    await gw.stop('SIGKILL');
    return { statuses, failing: front.state.posts500 - before };
  };
  const long = await run('5s');
  const short = await run('200ms');
  console.log(`deadline 5s: ${JSON.stringify(long)}; deadline 200ms: ${JSON.stringify(short)}`);
  assert.equal(long.failing, 3);
  assert.deepEqual(Object.keys(long.statuses), ['200'], 'within the deadline every 500 was retried elsewhere');
  assert.equal(short.failing, 3);
  assert.equal(short.statuses['500'], 3, 'past the deadline the 500 is relayed, not retried');
});
