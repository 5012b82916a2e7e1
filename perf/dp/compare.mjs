#!/usr/bin/env node
// Data-parallel routing benchmark (issue 48): the same request sequence, on a pool of 8
// engines arranged three ways, each behind ringgate:
//   ringgate-dp      2 ringgate-sim --data-parallel-size 4 (4 ranks behind one port each,
//                    vLLM's internal load balancing); ringgate learns the ranks from their
//                    /metrics and schedules each one, naming it in X-data-parallel-rank
//   ringgate-pods    the same 2 servers as 2 plain endpoints (dataParallelSize: 1): ringgate
//                    picks the server, the server's own balancer (waiting*4 + running) the rank
//   ringgate-8       8 independent sims: the upper bound
//   ringgate-ports   2 pods × 4 rank processes, a port each (--data-parallel-rank, external
//                    load balancing, --endpoint HOST:P0,P1,P2,P3); with --kill, one rank's
//                    process is SIGKILLed half way through the measured window
// Workloads A and C of perf/routing (loadgen/workload.mjs). Every cell: fresh sims, a fresh
// gateway, the same warm-up, then the measured window. Hit rate from the sims' counters
// (every engine's series summed); the oracle replays the sequence through 8 LRU caches.
// Run through perf/dp/compare.sh; --help for options.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../loadgen/loadgen.mjs';
import { makeWorkload, simPromptText } from '../loadgen/workload.mjs';
import { replay } from '../routing/oracle.mjs';
import { simCounters, diff, binaries } from '../routing/sims.mjs';
import { startRinggate, sleep } from '../routing/proxies.mjs';
import { stop as stopProc, startSim } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
const D = {
  rate: 200, duration: 25, warmup: 10, kvBlocks: 1200, blockSize: 16, prefillUs: 100, itlMs: 5, maxNumSeqs: 8,
  maxTokens: 24, maxModelLen: 4096, seed: 1, workers: 2, streamFraction: 1, api: 'completions', model: 'facebook/opt-125m',
  configs: 'ringgate-dp,ringgate-pods,ringgate-8,ringgate-ports', workloads: 'A,C', kill: 1,
  out: path.resolve(HERE, '../results'),
};
const HELP = `usage: perf/dp/compare.sh [options]     (bounded; loopback only)
  --rate R --duration S --warmup S     load per cell (open loop), as perf/routing at 4 sims × 2  [${D.rate} ${D.duration} ${D.warmup}]
  --kv-blocks N --block-size N --max-num-seqs N   per engine                                  [${D.kvBlocks} ${D.blockSize} ${D.maxNumSeqs}]
  --prefill-us US --itl-ms MS --max-tokens N --seed N --workers N                             [${D.prefillUs} ${D.itlMs} ${D.maxTokens} ${D.seed} ${D.workers}]
  --configs LIST   of ringgate-dp, ringgate-pods, ringgate-8, ringgate-ports                 [${D.configs}]
  --workloads LIST of A, C                                                                    [${D.workloads}]
  --kill 0|1       ringgate-ports: SIGKILL rank 1 of pod 0 half way through the window       [${D.kill}]
  --out DIR                                                                                   [perf/results]`;

function parse(argv) {
  const o = { ...D };
  const nums = { '--rate': 'rate', '--duration': 'duration', '--warmup': 'warmup', '--kv-blocks': 'kvBlocks',
    '--block-size': 'blockSize', '--max-num-seqs': 'maxNumSeqs', '--prefill-us': 'prefillUs', '--itl-ms': 'itlMs',
    '--max-tokens': 'maxTokens', '--seed': 'seed', '--workers': 'workers', '--kill': 'kill' };
  const strs = { '--configs': 'configs', '--workloads': 'workloads', '--out': 'out' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (i + 1 >= argv.length) throw new Error(`${a}: needs a value`);
    if (nums[a]) { o[nums[a]] = Number(argv[++i]); if (!Number.isFinite(o[nums[a]])) throw new Error(`${a}: not a number`); }
    else if (strs[a]) o[strs[a]] = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (o.duration > 120 || o.warmup > 120 || o.rate > 1000) throw new Error('keep it bounded: --duration ≤ 120, --rate ≤ 1000');
  return o;
}

const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const ENGINES = 8;

function staticConfig(entries) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-dp-')), 'gateway.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  name: vllm\n  discovery:\n    static:\n${entries.map((e) => `    - ${e}`).join('\n')}\n`);
  return file;
}

// Waits until the gateway schedules `count` endpoints (a DP server's ranks are learnt from
// its first /metrics scrape).
async function waitEndpoints(gw, count) {
  for (const t0 = Date.now(); Date.now() - t0 < 10000; await sleep(50)) {
    const d = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
    if (d.endpoints.filter((e) => e.routable).length === count) return;
  }
  throw new Error(`gateway did not reach ${count} routable endpoints`);
}

// The sims of a layout and the gateway in front of them.
async function startLayout(o, config, simArgs) {
  const sims = [];
  let gw, endpoints;
  if (config === 'ringgate-8') {
    for (let i = 0; i < ENGINES; i++) sims.push(await startSim(simArgs));
    gw = await startRinggate(sims.map((s) => `127.0.0.1:${s.port}`), ['--workers', String(o.workers)]);
    endpoints = ENGINES;
  } else if (config === 'ringgate-dp' || config === 'ringgate-pods') {
    for (let i = 0; i < 2; i++) sims.push(await startSim([...simArgs, '--data-parallel-size', '4']));
    const dp = config === 'ringgate-dp' ? '' : ', dataParallelSize: 1';
    gw = await startRinggate([], ['--workers', String(o.workers),
      '--config', staticConfig(sims.map((s) => `{address: "127.0.0.1:${s.port}"${dp}}`))]);
    endpoints = config === 'ringgate-dp' ? ENGINES : 2;
  } else if (config === 'ringgate-ports') {
    const pods = [];
    for (let p = 0; p < 2; p++) {
      const ranks = [];
      for (let r = 0; r < 4; r++) ranks.push(await startSim([...simArgs, '--data-parallel-size', '4', '--data-parallel-rank', String(r)]));
      sims.push(...ranks);
      pods.push(`127.0.0.1:${ranks.map((s) => s.port).join(',')}`);
    }
    gw = await startRinggate(pods, ['--workers', String(o.workers)]);
    endpoints = ENGINES;
  } else throw new Error(`unknown config ${config}`);
  await waitEndpoints(gw, endpoints);
  return { sims, gw };
}

const workloadFor = (o, workload) => makeWorkload({ kind: workload, seed: o.seed, answerTokens: o.maxTokens });

async function runCell(o, config, workload, simArgsAll) {
  const simArgs = workload === 'C' ? [...simArgsAll, '--mode', 'echo'] : simArgsAll;
  const { sims, gw } = await startLayout(o, config, simArgs);
  try {
    const wl = workloadFor(o, workload);
    const common = { url: gw.url, model: o.model, api: o.api, rate: o.rate, streamFraction: o.streamFraction,
      maxTokens: o.maxTokens, workloadObj: wl, timeoutMs: 30000 };
    const warm = o.warmup > 0 ? await runLoad({ ...common, duration: o.warmup, seed: o.seed + 7919 }) : { sent: 0, failed: 0 };
    const before = await Promise.all(sims.map((s) => simCounters(s.url)));
    const cpu0 = cpuSeconds(gw.proc.pid);
    let killed = null;
    const killer = config === 'ringgate-ports' && o.kill
      ? setTimeout(() => { killed = sims[1]; sims[1].proc.kill('SIGKILL'); }, (o.duration * 1000) / 2) : null;
    const s = await runLoad({ ...common, duration: o.duration, seed: o.seed });
    clearTimeout(killer);
    const gwCpu = cpuSeconds(gw.proc.pid) - cpu0;
    await sleep(300);
    // A killed rank's counters stop where they were: its part of the window is lost to the
    // hit rate (the requests it served before dying are not counted by anyone).
    const after = await Promise.all(sims.map((x, i) => (x === killed ? before[i] : simCounters(x.url))));
    const d = sims.map((_, i) => diff(before[i], after[i]));
    const hits = d.reduce((a, x) => a + x.hits, 0), queries = d.reduce((a, x) => a + x.queries, 0);
    return { config, workload, warmupSent: warm.sent, sent: s.sent, ok: s.ok, failed: s.failed, outcomes: s.outcomes,
      ttft: s.ttftMs, rps: s.achievedRps, lagP99: s.scheduleLagMs.p99, gwCpuPerReq: s.ok ? (gwCpu / s.ok) * 1e6 : NaN,
      hits, queries, hitRate: queries ? hits / queries : NaN, killed: killed !== null };
  } finally {
    await gw.stop().catch(() => {});
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

function oracleFor(o, workload, warm, n, cache) {
  const key = `${workload}/${warm}/${n}`;
  if (!cache.has(key)) {
    const wl = workloadFor(o, workload);
    const prompts = Array.from({ length: warm + n }, () => simPromptText(wl.next(), o.api));
    cache.set(key, replay(prompts, { servers: ENGINES, capacity: o.kvBlocks, blockTokens: o.blockSize, policy: 'oracle', countFrom: warm }));
  }
  return cache.get(key);
}

function table(o, rows, notes, meta) {
  const L = [];
  L.push(`# ringgate data-parallel routing benchmark — ${meta.date}`);
  L.push(`# machine: ${os.cpus().length} cores (shared; figures are noisy), load avg at start ${meta.load}`);
  L.push(`# 8 engines per layout, each: --kv-blocks ${o.kvBlocks} --block-size ${o.blockSize} --max-num-seqs ${o.maxNumSeqs} --prefill-time-per-token-us ${o.prefillUs} --inter-token-latency-ms ${o.itlMs}`);
  L.push(`# load: ${o.rate} req/s open loop, ${o.warmup} s warm-up + ${o.duration} s measured per cell, max_tokens ${o.maxTokens}, seed ${o.seed}, ringgate --workers ${o.workers}`);
  L.push('');
  const hdr = ['config', 'wl', 'sent', 'fail', 'req/s', 'hit', 'oracle', 'hit/or', 'hit/pods', 'ttft mean', 'p50', 'p90', 'p99', 'mean/pods', 'mean/8', 'gw µs/req'];
  const lines = [hdr];
  for (const r of rows) {
    const pods = rows.find((x) => x.config === 'ringgate-pods' && x.workload === r.workload);
    const eight = rows.find((x) => x.config === 'ringgate-8' && x.workload === r.workload);
    lines.push([r.config + (r.killed ? ' (kill)' : ''), r.workload, r.sent, r.failed, f(r.rps), f(r.hitRate, 3), f(r.oracle.hitRate, 3),
      f(r.hitRate / r.oracle.hitRate, 2), pods ? f(r.hitRate / pods.hitRate, 2) : '-', f(r.ttft.mean), f(r.ttft.p50), f(r.ttft.p90), f(r.ttft.p99),
      pods ? f(r.ttft.mean / pods.ttft.mean, 2) : '-', eight ? f(r.ttft.mean / eight.ttft.mean, 2) : '-', f(r.gwCpuPerReq, 0)]);
  }
  const w = hdr.map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  for (const l of lines) L.push(l.map((x, c) => (c < 2 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
  L.push('');
  L.push('TTFT in ms (streams, first chunk with text); hit = Σ Δ prefix_cache_hits / Σ Δ prefix_cache_queries over every engine;');
  L.push('oracle = the same sequence replayed through 8 LRU caches of one engine\'s capacity, each request to the longest cached prefix.');
  const verdict = (name, ok, detail) => L.push(`  ${ok === null ? 'N/A ' : ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  L.push('');
  L.push('Targets (issue 48), rank-aware ringgate (ringgate-dp):');
  for (const wl of [...new Set(rows.map((r) => r.workload))]) {
    const dp = rows.find((r) => r.config === 'ringgate-dp' && r.workload === wl);
    const pods = rows.find((r) => r.config === 'ringgate-pods' && r.workload === wl);
    const eight = rows.find((r) => r.config === 'ringgate-8' && r.workload === wl);
    const ports = rows.find((r) => r.config === 'ringgate-ports' && r.workload === wl);
    if (dp && pods) {
      // No router beats the oracle: when 1.5 × the pods' hit rate is above the oracle's, the
      // line is out of reach for this pool and workload (the oracle's ratio is its ceiling).
      const reachable = 1.5 * pods.hitRate <= dp.oracle.hitRate;
      verdict(`${wl} hit rate ≥ 1.5 × pods`, dp.hitRate >= 1.5 * pods.hitRate,
        `${f(dp.hitRate, 3)} vs ${f(pods.hitRate, 3)} (${f(dp.hitRate / pods.hitRate, 2)}×); ceiling oracle/pods ${f(dp.oracle.hitRate / pods.hitRate, 2)}×` +
        (reachable ? '' : ': OUT OF REACH (1.5 × pods exceeds the oracle\'s hit rate)'));
      verdict(`${wl} TTFT mean ≤ 0.6 × pods`, dp.ttft.mean <= 0.6 * pods.ttft.mean, `${f(dp.ttft.mean)} vs ${f(pods.ttft.mean)} ms (${f(dp.ttft.mean / pods.ttft.mean, 2)}×)`);
    }
    if (dp && eight) {
      verdict(`${wl} hit rate ≥ 0.95 × 8 sims`, dp.hitRate >= 0.95 * eight.hitRate, `${f(dp.hitRate, 3)} vs ${f(eight.hitRate, 3)} (${f(dp.hitRate / eight.hitRate, 2)}×)`);
      verdict(`${wl} TTFT mean ≤ 1.1 × 8 sims`, dp.ttft.mean <= 1.1 * eight.ttft.mean, `${f(dp.ttft.mean)} vs ${f(eight.ttft.mean)} ms (${f(dp.ttft.mean / eight.ttft.mean, 2)}×)`);
    }
    if (ports?.killed) verdict(`${wl} a rank SIGKILLed mid-run: 0 failed`, ports.failed === 0, JSON.stringify(ports.outcomes));
    if (dp) verdict(`${wl} ringgate-dp no failed requests`, dp.failed === 0, JSON.stringify(dp.outcomes));
  }
  if (notes.length) { L.push(''); L.push('Notes:'); for (const n of notes) L.push(`  - ${n}`); }
  return L.join('\n');
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (!existsSync(binaries.sim) || !existsSync(binaries.ringgate)) throw new Error(`binaries missing in ${path.dirname(binaries.sim)}`);
  const simArgs = ['--model', o.model, '--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize),
    '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
    '--inter-token-latency-ms', String(o.itlMs), '--max-model-len', String(o.maxModelLen)];
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const rows = [], notes = [], oracles = new Map();
  for (const w of o.workloads.split(',').map((x) => x.trim().toUpperCase())) {
    for (const c of o.configs.split(',').map((x) => x.trim()).filter(Boolean)) {
      process.stderr.write(`[dp] ${c} / ${w} ... `);
      const r = await runCell(o, c, w, simArgs);
      r.oracle = oracleFor(o, w, r.warmupSent, r.sent, oracles);
      process.stderr.write(`sent ${r.sent}, failed ${r.failed}, hit ${f(r.hitRate, 3)}, ttft mean ${f(r.ttft.mean)} ms\n`);
      if (r.failed) notes.push(`${c}/${w}: outcomes ${JSON.stringify(r.outcomes)}`);
      if (r.lagP99 > 50) notes.push(`${c}/${w}: load generator fell behind schedule (p99 lag ${r.lagP99} ms): the machine is saturated`);
      rows.push(r);
    }
  }
  const text = table(o, rows, notes, meta);
  console.log(text);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, '');
  writeFileSync(path.join(o.out, `dp-${stamp}.txt`), text + '\n');
  writeFileSync(path.join(o.out, `dp-${stamp}.json`), JSON.stringify({ options: o, meta, rows }, null, 1));
  console.log(`\n(written to ${path.join(o.out, `dp-${stamp}.txt`)} and .json)`);
}

main().then(() => process.exit(0), (e) => { console.error(`dp: ${e.stack || e.message}`); process.exit(1); });
