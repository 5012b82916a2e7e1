// Prefix affinity through the real gateway: with 2 workers (connections spread
// across both by SO_REUSEPORT), requests that share a long prompt prefix land on
// the same endpoint, whichever worker schedules them; different prefixes spread.
// The prefix scorer does not stand down here (standDownShare 0): 12 prompt roots fit
// the sims' KV many times over, so by default it would, and an explored request would
// give a family a second home where the load is (sched/prefix_stand_down.h). What these
// tests pin is the index both workers share.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const NO_STAND_DOWN = 'scheduler: {scorers: {prefix: {standDownShare: 0}}}';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-affinity-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

// Deterministic pseudo-text so every run sends the same prompts.
function text(seed, bytes) {
  let x = seed * 2654435761 % 4294967296;
  const words = [];
  let n = 0;
  while (n < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const w = 'w' + (x % 9973).toString(36);
    words.push(w);
    n += w.length + 1;
  }
  return words.join(' ');
}

function post(agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, endpoint: res.headers['x-gateway-destination-endpoint'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('requests sharing a prefix land on the same endpoint >= 99% of the time with 2 workers', async () => {
  const sims = await Promise.all([0, 1, 2, 3].map(() => startSim(['--model', MODEL])));
  live.push(...sims);
  const config = path.join(dir, 'affinity.yaml');
  fs.writeFileSync(config, ['apiVersion: ringgate.io/v1', 'kind: Gateway', NO_STAND_DOWN,
    `pool: {discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}`, ''].join('\n'));
  const gw = await startGateway(['--workers', '2', '--config', config]);
  live.push(gw);

  const families = 12;
  const perFamily = 40;
  const prefixes = Array.from({ length: families }, (_, f) => text(f + 1, 4096));
  // 16 separate connections per round: the kernel spreads them over both workers.
  const agents = Array.from({ length: 16 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const seen = prefixes.map(() => new Map());
  let sent = 0;
  for (let round = 0; round < perFamily; round++) {
    await Promise.all(prefixes.map(async (prefix, f) => {
      const agent = agents[(round * families + f) % agents.length];
      const res = await post(agent, gw.port, { model: MODEL, prompt: `${prefix} question ${round} of family ${f}`, max_tokens: 2 });
      assert.equal(res.status, 200);
      assert.ok(res.endpoint, 'x-gateway-destination-endpoint is set');
      seen[f].set(res.endpoint, (seen[f].get(res.endpoint) ?? 0) + 1);
      sent++;
    }));
  }
  for (const a of agents) a.destroy();

  let onHome = 0;
  const homes = new Set();
  for (const counts of seen) {
    const [home, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    homes.add(home);
    onHome += n;
  }
  const share = onHome / sent;
  console.log(`prefix affinity: ${onHome}/${sent} = ${share.toFixed(4)} on each family's endpoint; ${homes.size} distinct homes`);
  assert.ok(share >= 0.99, `share on the family's endpoint ${share} < 0.99`);
  assert.ok(homes.size >= 2, 'different prefixes spread over more than one endpoint');

  // Both workers served: each keeps its own per-worker counters, summed at scrape.
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  // (one success series per endpoint chosen: summed)
  let attempts = 0;
  for (const m of metrics.matchAll(/^inference_extension_scheduler_attempts_total\{[^}]*status="success"[^}]*\} (\d+)$/gm)) attempts += Number(m[1]);
  assert.ok(attempts >= sent, `scheduling attempts ${attempts} < ${sent}`);
});

// Rendezvous placement alone sends an unseen prefix to the same endpoint from
// every worker, so the test above holds even with an index that records
// nothing or is not shared. Here the prefixes are first served while the pool
// has one endpoint, then three more join: the rendezvous home of most families
// is now another endpoint, and only an index shared by both workers still knows
// that the first one holds their prefix.
test('prefixes placed before the pool grew stay on the endpoint that holds them, from either worker', async () => {
  const sims = await Promise.all([0, 1, 2, 3].map(() => startSim(['--model', MODEL])));
  live.push(...sims);
  const config = path.join(dir, 'grow.yaml');
  const write = (members) => fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway', NO_STAND_DOWN,
    `pool: {name: vllm, discovery: {static: [${members.map((s) => `"${s.api}"`).join(', ')}]}}`, ''].join('\n'));
  write(sims.slice(0, 1));
  const gw = await startGateway(['--workers', '2', '--config', config]);
  live.push(gw);
  const readyPods = async (n) => {
    const deadline = Date.now() + 10000;
    for (;;) {
      const m = await scrape(`${gw.adminUrl}/metrics`);
      if (m.get('inference_pool_ready_pods{name="vllm"}') === n) return;
      if (Date.now() > deadline) throw new Error(`${n} ready pods not reached: ${m.get('inference_pool_ready_pods{name="vllm"}')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await readyPods(1);

  const families = 12;
  const prefixes = Array.from({ length: families }, (_, f) => text(f + 101, 4096));
  // Warm-up on one connection, so one worker alone records the placements.
  const warm = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let f = 0; f < families; f++) {
    const res = await post(warm, gw.port, { model: MODEL, prompt: `${prefixes[f]} warm-up`, max_tokens: 1 });
    assert.equal(res.endpoint, sims[0].api);
  }
  warm.destroy();

  write(sims);
  gw.proc.kill('SIGHUP');
  await readyPods(4);

  // 16 connections over both workers, three requests in flight at a time: the
  // first endpoint's load stays far below what the load guard would spill.
  const agents = Array.from({ length: 16 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const rounds = 10;
  const jobs = [];
  for (let round = 0; round < rounds; round++) for (let f = 0; f < families; f++) jobs.push([round, f]);
  let onHolder = 0;
  const elsewhere = [];
  let next = 0;
  await Promise.all([0, 1, 2].map(async () => {
    while (next < jobs.length) {
      const i = next++;
      const [round, f] = jobs[i];
      const res = await post(agents[i % agents.length], gw.port,
        { model: MODEL, prompt: `${prefixes[f]} question ${round} of family ${f}`, max_tokens: 1 });
      assert.equal(res.status, 200);
      if (res.endpoint === sims[0].api) onHolder++;
      else elsewhere.push(`family ${f} round ${round} -> ${res.endpoint}`);
    }
  }));
  for (const a of agents) a.destroy();
  const share = onHolder / jobs.length;
  console.log(`warm prefixes on the endpoint holding them: ${onHolder}/${jobs.length} = ${share.toFixed(4)}`);
  assert.ok(share >= 0.99, `share ${share} < 0.99; elsewhere: ${elsewhere.slice(0, 10).join('; ')}`);
});
