#!/usr/bin/env node
// Issue 33 acceptance: one tenant budget (rateLimits.tokensPerMinute) for three ringgate
// replicas behind HAProxy in TCP mode (round robin), as a Kubernetes Service would
// spread them. Each scenario runs one whole Redis minute (a rate-limit window) with the
// tenant offering twice its budget, its requests either pinned to one replica (one
// keep-alive connection) or spread (a new connection a request). Rows:
//   shared      sharedState through a real redis-server, limit = the tenant's budget
//   today       no sharedState, each replica limit / 3 (what README advised)
//   redis-kill  shared, spread, Redis SIGKILLed 20 s into the minute and back at 30 s
// Figures: tokens admitted in the minute (Σ usage.total_tokens of the 200s), failures
// other than 429, Redis's INFO commandstats (EVAL calls) against the request count.
// Loopback only; every process is stopped at exit. Usage: perf/shared_limits/run.sh [--help]
import http from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRinggate, startHaproxyTcp, sleep } from '../routing/proxies.mjs';
import { startSims } from '../routing/sims.mjs';
import { startRedis, redisCommand } from '../../tests/lib/redis.mjs';
import { scrape } from '../../tests/lib/procs.mjs';

const o = { limit: 60000, promptBytes: 2000, maxTokens: 20, scenarios: 'shared-pinned,shared-spread,today-pinned,today-spread,redis-kill' };
for (let i = 2; i < process.argv.length; i += 2) {
  const [k, v] = [process.argv[i], process.argv[i + 1]];
  if (k === '--help') {
    console.log('perf/shared_limits/run.sh [--limit TOKENS_PER_MIN] [--scenarios LIST of ' + o.scenarios + ']');
    process.exit(0);
  }
  if (k === '--limit') o.limit = Number(v);
  else if (k === '--scenarios') o.scenarios = v;
  else throw new Error(`unknown option ${k}`);
}
if (!(o.limit >= 1000 && o.limit <= 1e6)) throw new Error('--limit: 1000..1000000');
const MODEL = 'facebook/opt-125m';
// redis-server is not started through procs.mjs: kill what is left at exit (also on error).
const redises = new Set();
process.on('exit', () => { for (const r of redises) try { r.proc.kill('SIGKILL'); } catch {} });
const newRedis = async (opts) => { const r = await startRedis(opts); redises.add(r); return r; };
const dir = mkdtempSync(path.join(os.tmpdir(), 'rg-shared-limits-'));

async function redisNowMs(port) {
  const [[s, us]] = await redisCommand(port, [['TIME']]);
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

// Resolves at the start of the next Redis minute (the replicas' rate-limit window).
async function nextMinute(port) {
  const now = await redisNowMs(port);
  await sleep(60000 - (now % 60000) + 50);
}

async function replicas(sims, { redisPort, perReplicaLimit }) {
  const file = path.join(dir, `gw-${Date.now()}.yaml`);
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]}}
rateLimits: {tokensPerMinute: ${perReplicaLimit}}
${redisPort ? `sharedState: {redis: {address: "127.0.0.1:${redisPort}"}, syncInterval: 20ms}\n` : ''}`);
  const gws = [];
  for (let i = 0; i < 3; i++) gws.push(await startRinggate([], ['--workers', '1', '--config', file]));
  const lb = await startHaproxyTcp(gws.map((g) => `127.0.0.1:${g.port}`));
  if (redisPort) {
    for (const t0 = Date.now(); ;) {
      const s = await Promise.all(gws.map(async (g) => (await fetch(`${g.adminUrl}/debug/shared`)).json()));
      if (s.every((x) => x.state === 'shared' && x.replicas === 3)) break;
      if (Date.now() - t0 > 10000) throw new Error('replicas not shared after 10 s');
      await sleep(50);
    }
  }
  return { gws, lb, stop: async () => { await lb.stop(); for (const g of gws) await g.stop(); } };
}

// One minute of the tenant offering twice its budget, open loop; pinned: one kept-alive
// connection (HAProxy TCP gives it one replica), else a new connection each request.
async function offer(url, { pinned, durationMs, events = [] }) {
  const perRequest = o.promptBytes / 4 + o.maxTokens;
  const rate = (2 * o.limit / perRequest) / 60;  // requests per second
  const agent = pinned ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: false });
  const body = JSON.stringify({ model: MODEL, prompt: 'word '.repeat(o.promptBytes / 5), max_tokens: o.maxTokens, ignore_eos: true });
  const res = { sent: 0, ok: 0, refused: 0, failed: 0, tokens: 0, errors: {} };
  const t0 = Date.now();
  const pending = [];
  for (let n = 0; ; n++) {
    const at = t0 + (n * 1000) / rate;
    if (at - t0 >= durationMs) break;
    for (const e of events) if (!e.done && Date.now() - t0 >= e.atMs) { e.done = true; pending.push(e.run()); }
    if (at > Date.now()) await sleep(at - Date.now());
    res.sent++;
    pending.push(new Promise((resolve) => {
      const req = http.request(url + '/v1/completions', { method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'x-gateway-inference-fairness-id': 'tenant' } }, (r) => {
        let text = '';
        r.on('data', (d) => { text += d; });
        r.on('end', () => {
          if (r.statusCode === 200) { res.ok++; res.tokens += JSON.parse(text).usage.total_tokens; }
          else if (r.statusCode === 429) res.refused++;
          else { res.failed++; res.errors[r.statusCode] = (res.errors[r.statusCode] ?? 0) + 1; }
          resolve();
        });
      });
      req.on('error', (e) => { res.failed++; res.errors[e.code] = (res.errors[e.code] ?? 0) + 1; resolve(); });
      req.end(body);
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  return res;
}

const evalCalls = async (port) => {
  const [info] = await redisCommand(port, [['INFO', 'commandstats']]);
  return Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
};

// The replicas' syncs (load, rate limits and placements: a script each), to set the EVALs against.
const syncCount = async (gws) => {
  let n = 0;
  for (const g of gws) {
    const m = await scrape(`${g.adminUrl}/metrics`);
    n += (m.get('ringgate_shared_state_syncs_total') ?? 0) + (m.get('ringgate_shared_state_rate_limit_syncs_total') ?? 0) +
      (m.get('ringgate_shared_state_placement_syncs_total') ?? 0) + (m.get('ringgate_shared_state_response_syncs_total') ?? 0);
  }
  return n;
};

async function scenario(name, sims) {
  const shared = name.startsWith('shared') || name === 'redis-kill';
  const pinned = name.endsWith('pinned');
  let redis = shared ? await newRedis() : null;
  const set = await replicas(sims, { redisPort: redis?.port, perReplicaLimit: shared ? o.limit : o.limit / 3 });
  const events = [];
  let back = null;
  if (name === 'redis-kill') {
    events.push({ atMs: 20000, run: async () => { await redis.stop('SIGKILL'); } });
    events.push({ atMs: 30000, run: async () => {
      const port = redis.port;
      redis = await newRedis({ port });
      const t0 = Date.now();
      for (;;) {
        const s = await Promise.all(set.gws.map(async (g) => (await fetch(`${g.adminUrl}/debug/shared`)).json()));
        if (s.every((x) => x.state === 'shared')) { back = Date.now() - t0; break; }
        if (Date.now() - t0 > 10000) { back = Infinity; break; }
        await sleep(20);
      }
    } });
  }
  // Shared windows are Redis's minutes; unshared ones start at the tenant's first request.
  if (redis) await nextMinute(redis.port);
  const evals0 = shared ? await evalCalls(redis.port) : 0;
  const syncs0 = await syncCount(set.gws);
  const r = await offer(set.lb.url, { pinned, durationMs: 59000, events });
  const evals = shared ? (await evalCalls(redis.port)) - (name === 'redis-kill' ? 0 : evals0) : null;
  const syncs = shared ? (await syncCount(set.gws)) - syncs0 : null;
  let fallbacks = 0;
  for (const g of set.gws) fallbacks += (await scrape(`${g.adminUrl}/metrics`)).get('ringgate_shared_state_fallbacks_total') ?? 0;
  await set.stop();
  if (redis) await redis.stop('SIGKILL');
  return { name, ...r, evals, syncs, fallbacks, back };
}

const sims = await startSims(2, ['--model', MODEL, '--max-num-seqs', '64']);
const rows = [];
for (const name of o.scenarios.split(',')) {
  console.error(`# ${name} (one Redis minute)...`);
  rows.push(await scenario(name, sims));
}
const pct = (x) => `${(100 * (x / o.limit - 1)).toFixed(1)}%`;
const L = [`# tenant budget ${o.limit} tokens/min; 3 replicas (--workers 1) behind HAProxy TCP round robin; the tenant offers 2× its budget over one Redis minute`,
  `# (${o.promptBytes / 4} prompt + ${o.maxTokens} completion tokens a request); pinned = one kept-alive connection, spread = a connection a request`,
  '', 'scenario        sent    200    429  failed  admitted tokens  vs budget  EVALs  syncs  EVALs/request  fallbacks  shared again'];
for (const r of rows) {
  L.push([r.name.padEnd(14), String(r.sent).padStart(5), String(r.ok).padStart(6), String(r.refused).padStart(6), String(r.failed).padStart(7),
    String(r.tokens).padStart(16), pct(r.tokens).padStart(10), String(r.evals ?? '-').padStart(6), String(r.syncs ?? '-').padStart(6),
    (r.evals === null ? '-' : (r.evals / r.sent).toFixed(2)).padStart(14), String(r.fallbacks).padStart(10),
    (r.back === null ? '-' : `${r.back} ms`).padStart(13)].join(' ') + (r.failed ? `  errors ${JSON.stringify(r.errors)}` : ''));
}
L.push('', 'today = no sharedState, each replica configured limit / 3 (README\'s advice before sharedState); EVALs = Redis INFO commandstats cmdstat_eval calls during the minute; syncs = the replicas\' ringgate_shared_state_syncs_total + _rate_limit_syncs_total + _placement_syncs_total + _response_syncs_total in it (a script each, whatever the traffic: the EVALs follow the syncs, not the requests).');
console.log(L.join('\n'));
const out = path.resolve(import.meta.dirname, '../results');
mkdirSync(out, { recursive: true });
const file = path.join(out, `shared-limits-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}.txt`);
writeFileSync(file, L.join('\n') + '\n');
console.log(`\n(written to ${file})`);
process.exit(0);
