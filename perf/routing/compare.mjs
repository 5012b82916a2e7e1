#!/usr/bin/env node
// Routing-quality benchmark (issue 4 acceptance): the same sims, the same request
// sequence, behind ringgate (defaults), ringgate (prefix scorer off), nginx round-robin
// and HAProxy leastconn; workload A (shared prefixes, Zipf) then B (no sharing) for each;
// workload C (multi-turn chat histories, issue 14) on request.
// Every (config, workload) cell gets freshly started sims (cold caches) and a fresh proxy.
// Hit rates come from the sims' own counters; an offline oracle replays the same
// sequence (see oracle.mjs). Run through perf/routing/compare.sh; --help for options.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../loadgen/loadgen.mjs';
import { makeWorkload, simPromptText, WORKLOAD_DEFAULTS as WD } from '../loadgen/workload.mjs';
import { replay } from './oracle.mjs';
import { startSims, startEventSims, preciseConfig, simCounters, diff, binaries } from './sims.mjs';
import { startNginx, startHaproxy, startRinggate, startReplicas, helpText, sleep } from './proxies.mjs';
import { startRedis } from '../../tests/lib/redis.mjs';
import { stop as stopProc } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
const D = {
  rate: 100, duration: 25, sims: 4, kvBlocks: 1200, blockSize: 16, prefillUs: 100, itlMs: 5,
  maxNumSeqs: 8, maxTokens: 24, warmup: 10, maxModelLen: 4096, seed: 1, workers: 2, streamFraction: 1,
  api: 'completions', model: 'facebook/opt-125m',
  configs: 'ringgate,ringgate-precise,ringgate-noprefix,nginx-rr,haproxy-lc,haproxy-hash', workloads: 'A,B',
  ringgateArgs: process.env.RINGGATE_ARGS ?? '', noprefixArgs: process.env.RINGGATE_NOPREFIX_ARGS ?? '',
  simArgs: '', out: path.resolve(HERE, '../results'), tolerance: 0.10, prefixWeight: 0, loadSignal: '',
};
const HELP = `usage: perf/routing/compare.sh [options]     (all bounded; loopback only)
  --rate R --duration S        load per cell (open loop, streaming share below)   [${D.rate} ${D.duration}]
  --warmup S                   per cell, S s of the same workload through the same proxy before
                               the measured window (not counted; 0 = measure from cold) [${D.warmup}]
  --sims N --kv-blocks N --block-size N --max-num-seqs N --max-model-len N        [${D.sims} ${D.kvBlocks} ${D.blockSize} ${D.maxNumSeqs} ${D.maxModelLen}]
  --prefill-us US --itl-ms MS  sim latency model                                  [${D.prefillUs} ${D.itlMs}]
  --max-tokens N --stream-fraction F --api completions|chat --seed N              [${D.maxTokens} ${D.streamFraction} ${D.api} ${D.seed}]
  --workers N                  ringgate worker threads                            [${D.workers}]
  --configs LIST               of ringgate,ringgate-precise,ringgate-noprefix,nginx-rr,haproxy-lc,haproxy-hash,
                               ringgate-x3, ringgate-x3-shared (3 replicas behind HAProxy TCP, without / with Redis)  [the first six]
                               (haproxy-hash: consistent hash of the prompt's first 96 bytes, a
                               reference for naive prefix affinity; not one of the issue's rows)
  --workloads LIST             of A,B,C (C: multi-turn chat, sims in --mode echo)  [${D.workloads}]
  --ringgate-args "..."        extra ringgate flags for both ringgate rows   (env RINGGATE_ARGS)
  --noprefix-args "..."        flags that turn the prefix scorer off (env RINGGATE_NOPREFIX_ARGS);
                               without them the row runs ringgate's defaults and is marked so
  --sim-args "..."             extra ringgate-sim flags
  --out DIR                    where the table and JSON go                        [perf/results]
  --tolerance F                "no worse than" margin on workload B               [${D.tolerance}]
  --prefix-weight W            prefix scorer weight for every ringgate row, from a config file
                               (queue and kv-cache stay 2; 0 = ringgate's default, 3)
  --load-signal MODE           scheduler.loadSignal.mode of the ringgate-precise row: local or
                               shared ["" = precise mode's default, shared]`;

function parse(argv) {
  const o = { ...D };
  const keys = { '--rate': 'rate', '--duration': 'duration', '--sims': 'sims', '--kv-blocks': 'kvBlocks',
    '--block-size': 'blockSize', '--prefill-us': 'prefillUs', '--itl-ms': 'itlMs', '--max-num-seqs': 'maxNumSeqs',
    '--max-tokens': 'maxTokens', '--max-model-len': 'maxModelLen', '--seed': 'seed', '--workers': 'workers',
    '--stream-fraction': 'streamFraction', '--tolerance': 'tolerance', '--warmup': 'warmup', '--prefix-weight': 'prefixWeight' };
  const strs = { '--api': 'api', '--model': 'model', '--configs': 'configs', '--workloads': 'workloads',
    '--ringgate-args': 'ringgateArgs', '--noprefix-args': 'noprefixArgs', '--sim-args': 'simArgs', '--out': 'out',
    '--load-signal': 'loadSignal' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (i + 1 >= argv.length) throw new Error(`${a}: needs a value`);
    if (keys[a]) { o[keys[a]] = Number(argv[++i]); if (!Number.isFinite(o[keys[a]])) throw new Error(`${a}: not a number`); }
    else if (strs[a]) o[strs[a]] = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (o.duration > 120 || o.warmup > 120 || o.rate > 1000) throw new Error('keep it bounded: --duration ≤ 120, --rate ≤ 1000');
  if (!['', 'local', 'shared'].includes(o.loadSignal)) throw new Error('--load-signal: local or shared');
  return o;
}
const words = (s) => s.split(/\s+/).filter(Boolean);
const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));

// ringgate-precise: the sims publish vLLM KV-cache events and the gateway scores by them
// (sims.mjs preciseConfig).
// The approximate rows with a prefix weight (--prefix-weight): the same pool from a config.
function weightConfig(o, eps) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-weight-')), 'gateway.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${eps.map((e) => `"${e}"`).join(', ')}]}}
scheduler:
  scorers: {prefix: {weight: ${o.prefixWeight}}}
`);
  return file;
}

// Workload C's history carries the sims' own answers: their --mode echo text.
const cellSimArgs = (simArgs, workload) => (workload === 'C' ? [...simArgs, '--mode', 'echo'] : simArgs);
const workloadFor = (o, workload) => makeWorkload({ kind: workload, seed: o.seed, answerTokens: o.maxTokens });

async function runCell(o, config, workload, simArgsAll, notes) {
  const precise = config === 'ringgate-precise';
  const simArgs = cellSimArgs(simArgsAll, workload);
  const sims = precise
    ? await startEventSims(o.sims, simArgs)
    : await startSims(o.sims, simArgs);
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  let proxy, redis;
  try {
    if (config === 'nginx-rr') proxy = await startNginx(eps);
    else if (config === 'haproxy-lc') proxy = await startHaproxy(eps);
    else if (config === 'haproxy-hash') proxy = await startHaproxy(eps, { balance: 'hash' });
    else if (config === 'ringgate-x3' || config === 'ringgate-x3-shared') {
      // Three replicas behind HAProxy TCP round robin (issue 33), one worker each; with
      // sharedState they add each other's in-flight requests to their load scores.
      const extra = ['--workers', '1', ...words(o.ringgateArgs)];
      if (config === 'ringgate-x3-shared') {
        redis = await startRedis();
        extra.push('--redis', `127.0.0.1:${redis.port}`);
      }
      proxy = o.prefixWeight > 0 ? await startReplicas(3, [], [...extra, '--config', weightConfig(o, eps)])
        : await startReplicas(3, eps, extra);
    } else if (config.startsWith('ringgate')) {
      const extra = ['--workers', String(o.workers), ...words(o.ringgateArgs)];
      if (config === 'ringgate-noprefix') extra.push(...words(o.noprefixArgs));
      proxy = precise ? await startRinggate([], [...extra, '--config', preciseConfig(sims, { blockSize: o.blockSize, prefixWeight: o.prefixWeight || 3, loadSignal: o.loadSignal })])
        : o.prefixWeight > 0 ? await startRinggate([], [...extra, '--config', weightConfig(o, eps)])
        : await startRinggate(eps, extra);
    } else throw new Error(`unknown config ${config}`);
    // One request sequence for the cell: the warm-up takes its first requests, the
    // measured window continues it (same system prompts, new requests).
    const wl = workloadFor(o, workload);
    const common = { url: proxy.url, model: o.model, api: o.api, rate: o.rate, streamFraction: o.streamFraction,
      maxTokens: o.maxTokens, workloadObj: wl, timeoutMs: 30000 };
    let warm = { sent: 0, failed: 0 };
    if (o.warmup > 0) warm = await runLoad({ ...common, duration: o.warmup, seed: o.seed + 7919, records: true });
    const before = await Promise.all(sims.map((s) => simCounters(s.url)));
    const pids = proxy.pids ?? [proxy.proc.pid];
    const cpu = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
    const cpu0 = cpu();
    const s = await runLoad({ ...common, duration: o.duration, seed: o.seed, timeline: true, records: true });
    // Which sim each request went to (the gateway's x-gateway-destination-endpoint
    // response header; null when the proxy does not say) for the oracle's `given` replay.
    const simIndex = new Map(eps.map((e, j) => [e, j]));
    const decisions = [...(warm.records ?? []), ...s.records].map((r) => (r && r.dest && simIndex.has(r.dest) ? simIndex.get(r.dest) : null));
    const proxyCpu = cpu() - cpu0;
    await sleep(300);
    const after = await Promise.all(sims.map((s2) => simCounters(s2.url)));
    const d = sims.map((_, i) => diff(before[i], after[i]));
    const hits = d.reduce((a, x) => a + x.hits, 0), queries = d.reduce((a, x) => a + x.queries, 0);
    const success = d.reduce((a, x) => a + x.success, 0);
    const shares = d.map((x) => (success ? x.success / success : 0));
    if (proxy.proc.exitCode !== null || proxy.proc.signalCode !== null) notes.push(`${config}/${workload}: proxy exited during the run: ${proxy.stderr().slice(-500)}`);
    // A replicated row must be one: every replica answered requests, and with sharedState
    // every replica synced with Redis (a row that silently ran one gateway once hid both).
    const replicas = proxy.replicas ? await Promise.all(proxy.replicas.map((r) => replicaState(r))) : null;
    if (config.startsWith('ringgate-x')) {
      if (!replicas) throw new Error(`${config}: not started as replicas`);
      if (replicas.some((r) => !(r.requests > 0))) throw new Error(`${config}: a replica answered nothing (requests ${replicas.map((r) => r.requests)})`);
      if (config.endsWith('-shared') && replicas.some((r) => r.shared !== 'shared' || !(r.syncs > 0)))
        throw new Error(`${config}: a replica did not share state (${JSON.stringify(replicas)})`);
    }
    return {
      config, workload, warmupSent: warm.sent, warmupFailed: warm.failed, sent: s.sent, ok: s.ok, failed: s.failed, outcomes: s.outcomes,
      ttft: s.ttftMs, latency: s.latencyMs, rps: s.achievedRps, offered: s.offeredRps,
      lagP99: s.scheduleLagMs.p99, proxyCpuPerSec: proxyCpu / s.wallSeconds,
      hits, queries, hitRate: queries ? hits / queries : NaN, shares, maxLoad: Math.max(...shares) * o.sims,
      replicas,
      destinations: s.destinations, timeline: s.timeline,
      decisions: decisions.every((x) => x !== null) ? decisions : null,
      answersChecked: (warm.answersChecked ?? 0) + (s.answersChecked ?? 0),
      answerMismatches: (warm.answerMismatches ?? 0) + (s.answerMismatches ?? 0),
    };
  } finally {
    if (proxy) await proxy.stop().catch(() => {});
    if (redis) await redis.stop('SIGKILL');
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

// A replica's requests answered (ringgate_requests_total) and its shared-state view.
async function replicaState(r) {
  const text = await (await fetch(`${r.adminUrl}/metrics`)).text();
  const m = text.match(/^ringgate_requests_total(?:\{[^}]*\})? ([0-9.e+]+)$/m);
  let shared = null, syncs = null;
  const res = await fetch(`${r.adminUrl}/debug/shared`);
  if (res.ok) ({ state: shared, syncs } = await res.json());
  else await res.arrayBuffer();
  return { requests: m ? Number(m[1]) : NaN, shared, syncs };
}

function promptsFor(o, workload, count) {
  const wl = workloadFor(o, workload);
  return Array.from({ length: count }, () => simPromptText(wl.next(), o.api));
}

function oracleFor(o, workload, warm, n, cache) {
  const key = `${workload}/${warm}/${n}`;
  if (!cache.has(key)) {
    cache.set(key, replay(promptsFor(o, workload, warm + n), { servers: o.sims, capacity: o.kvBlocks, blockTokens: o.blockSize, policy: 'oracle', countFrom: warm }));
  }
  return cache.get(key);
}

// The cache model's replay of a row's own routing decisions (null without them).
function ownReplay(o, r) {
  if (!r.decisions) return null;
  return replay(promptsFor(o, r.workload, r.decisions.length), { servers: o.sims, capacity: o.kvBlocks, blockTokens: o.blockSize,
    policy: 'given', choices: r.decisions, countFrom: r.warmupSent });
}

function table(o, rows, notes, meta) {
  const L = [];
  L.push(`# ringgate routing-quality benchmark — ${meta.date}`);
  L.push(`# machine: ${os.cpus().length} cores (shared with other work; figures are noisy), load avg at start ${meta.load}`);
  if (o.prefixWeight > 0) L.push(`# ringgate rows: prefix scorer weight ${o.prefixWeight} (queue 2, kv-cache 2) from a config file`);
  L.push(`# sims: ${o.sims} × ringgate-sim --kv-blocks ${o.kvBlocks} --block-size ${o.blockSize} --max-num-seqs ${o.maxNumSeqs} --prefill-time-per-token-us ${o.prefillUs} --inter-token-latency-ms ${o.itlMs} --max-model-len ${o.maxModelLen} ${o.simArgs}`);
  L.push(`# load: ${o.rate} req/s open loop for ${o.duration} s per cell, ${o.api} (C: chat), stream fraction ${o.streamFraction}, max_tokens ${o.maxTokens}, seed ${o.seed}; workload A = 32 system prompts 2–8 KB, Zipf s=1.1, unique suffix; B = all unique`);
  if (rows.some((r) => r.workload === 'C')) {
    L.push(`# workload C = ${WD.conversations} chat conversations open at a time (${WD.minTurns}–${WD.maxTurns} turns, then replaced), system prompt one of ${WD.chatSystems} (${WD.chatSystemMinBytes}–${WD.chatSystemMaxBytes} B, Zipf s=${WD.chatZipf}), ` +
      `user turns ${WD.userMinBytes}–${WD.userMaxBytes} B, next turn from a uniformly picked conversation not among the last ${WD.minGap} picked; each turn's history holds the previous answers (the sims run --mode echo: answer = first ${o.maxTokens} tokens of the user turn)`);
  }
  L.push(`# every cell: fresh (cold) sims and a fresh proxy, ${o.warmup > 0 ? `${o.warmup} s warm-up through that proxy (same rate, continuing request sequence, not measured), then` : 'no warm-up,'} the measured window; hit rate = Σ Δvllm:prefix_cache_hits_total / Σ Δvllm:prefix_cache_queries_total over the sims`);
  L.push('');
  const hdr = ['config', 'wl', 'sent', 'fail', 'req/s', 'hit', 'oracle', 'hit/or', 'model', 'best%', 'ttft mean', 'p50', 'p90', 'p99', 'mean/RR', 'p99/RR', 'mean/LC', 'p99/LC', 'max/mean', 'shares %', 'proxy CPU'];
  const lines = [hdr];
  for (const r of rows) {
    const rr = rows.find((x) => x.config === 'nginx-rr' && x.workload === r.workload);
    const lc = rows.find((x) => x.config === 'haproxy-lc' && x.workload === r.workload);
    const ratio = (a, b) => (a !== undefined && b ? a / b : NaN);
    lines.push([r.label, r.workload, r.sent, r.failed, f(r.rps), f(r.hitRate, 3), f(r.oracle.hitRate, 3), f(r.hitRate / r.oracle.hitRate, 2),
      r.own ? f(r.own.hitRate, 3) : '-', r.own ? f(100 * r.own.bestPicked / Math.max(1, r.own.requests), 0) : '-',
      f(r.ttft.mean), f(r.ttft.p50), f(r.ttft.p90), f(r.ttft.p99),
      f(ratio(r.ttft.mean, rr?.ttft.mean), 2), f(ratio(r.ttft.p99, rr?.ttft.p99), 2),
      f(ratio(r.ttft.mean, lc?.ttft.mean), 2), f(ratio(r.ttft.p99, lc?.ttft.p99), 2),
      f(r.maxLoad, 2), r.shares.map((x) => Math.round(x * 100)).join('/'), `${f(100 * r.proxyCpuPerSec, 0)}%`]);
  }
  const w = hdr.map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  for (const l of lines) L.push(l.map((x, c) => (c < 2 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
  L.push('');
  L.push('TTFT in ms (streams only, time to the first chunk with text); req/s = completed OK / wall time; max/mean = busiest sim\'s share × N;');
L.push('proxy CPU = the proxy process\'s user+system CPU time over the measured window / its length (100% = one core);');
  L.push('oracle = offline replay of the same request sequence through 4 LRU block caches of the sims\' capacity, each request sent to the');
  L.push('sim with the longest cached prefix (no pinning, no load limit; see perf/routing/oracle.mjs); model = the same cache model replaying');
  L.push('the row\'s own decisions (x-gateway-destination-endpoint; - when the proxy does not send it); best% = share of measured requests');
  L.push('sent to a sim holding the longest cached prefix in that model (the oracle\'s is 100).');
  for (const w2 of [...new Set(rows.map((r) => r.workload))]) {
    const or = rows.find((r) => r.workload === w2).oracle;
    const sq = rows.filter((r) => r.workload === w2).map((r) => `${r.label}: ${r.queries}`).join(', ');
    L.push(`replay ${w2}: ${or.warmup} warm-up + ${or.requests} measured requests, ${or.queriedTokens} prompt tokens (sims counted ${sq}); compulsory-miss bound hit rate ${f(or.compulsoryHitRate, 3)}; ` +
      `requests mostly uncached (< half their tokens hit) even under the oracle: ${or.coldRequests} (${f(100 * or.coldRequests / Math.max(1, or.requests), 2)}%)`);
    // Each cell replays its own warm-up + measured count; the token counts must agree.
    const off = rows.filter((r) => r.workload === w2 && r.queries !== r.oracle.queriedTokens);
    L.push(`  cross-check ${w2}: replay prompt tokens == sims' Δ prefix_cache_queries_total: ${off.length ? 'MISMATCH in ' + off.map((r) => `${r.label} (${r.queries} vs ${r.oracle.queriedTokens})`).join(', ') : 'OK in every row'}`);
    const checked = rows.filter((r) => r.workload === w2 && r.answersChecked);
    if (checked.length) L.push(`  answers ${w2}: ${checked.reduce((a, r) => a + r.answersChecked, 0)} streamed answers checked against the history's copy, ${checked.reduce((a, r) => a + r.answerMismatches, 0)} differ`);
  }
  // Targets (issue 4) for the ringgate defaults row.
  const rg = (w2) => rows.find((r) => r.config === 'ringgate' && r.workload === w2);
  const base = (c, w2) => rows.find((r) => r.config === c && r.workload === w2);
  const verdict = (name, ok, detail) => L.push(`  ${ok === null ? 'N/A ' : ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  const a = rg('A'), arr = base('nginx-rr', 'A');
  if (a || (rg('B') && base('haproxy-lc', 'B'))) { L.push(''); L.push('Targets (issue 4), ringgate defaults:'); }
  if (a) {
    verdict('A hit rate ≥ 0.9 × oracle', a.hitRate >= 0.9 * a.oracle.hitRate, `${f(a.hitRate, 3)} vs oracle ${f(a.oracle.hitRate, 3)} (${f(a.hitRate / a.oracle.hitRate, 2)}×)`);
    if (arr) {
      verdict('A TTFT mean ≤ 0.3 × nginx RR', a.ttft.mean <= 0.3 * arr.ttft.mean, `${f(a.ttft.mean)} vs ${f(arr.ttft.mean)} ms (${f(a.ttft.mean / arr.ttft.mean, 2)}×)`);
      verdict('A TTFT p99 ≤ 0.5 × nginx RR', a.ttft.p99 <= 0.5 * arr.ttft.p99, `${f(a.ttft.p99)} vs ${f(arr.ttft.p99)} ms (${f(a.ttft.p99 / arr.ttft.p99, 2)}×)`);
    } else verdict('A TTFT vs nginx RR', null, 'nginx-rr not run');
    verdict('A no sim above 1.3 × mean load', a.maxLoad <= 1.3, `busiest sim ${f(a.maxLoad, 2)}× mean`);
    verdict('A no failed requests', a.failed === 0, JSON.stringify(a.outcomes));
  }
  const b = rg('B'), blc = base('haproxy-lc', 'B');
  if (b && blc) {
    const t = 1 + o.tolerance;
    verdict(`B TTFT mean ≤ HAProxy LC (×${t})`, b.ttft.mean <= t * blc.ttft.mean, `${f(b.ttft.mean)} vs ${f(blc.ttft.mean)} ms`);
    verdict(`B TTFT p99 ≤ HAProxy LC (×${t})`, b.ttft.p99 <= t * blc.ttft.p99, `${f(b.ttft.p99)} vs ${f(blc.ttft.p99)} ms`);
    verdict('B failures ≤ HAProxy LC', b.failed <= blc.failed, `${b.failed} vs ${blc.failed}`);
  }
  // Targets (issue 14): precise vs approximate vs the oracle, on every workload run with both rows.
  for (const w2 of [...new Set(rows.map((r) => r.workload))]) {
    const p = base('ringgate-precise', w2), ap = rg(w2), rr = base('nginx-rr', w2);
    if (!p) continue;
    L.push('');
    L.push(`Targets (issue 14), ringgate-precise on ${w2}:`);
    if (ap) {
      verdict(`${w2} precise hit rate ≥ approximate`, p.hitRate >= ap.hitRate, `${f(p.hitRate, 3)} vs ${f(ap.hitRate, 3)}`);
      verdict(`${w2} precise TTFT mean ≤ approximate`, p.ttft.mean <= ap.ttft.mean, `${f(p.ttft.mean)} vs ${f(ap.ttft.mean)} ms (${f(p.ttft.mean / ap.ttft.mean, 2)}×)`);
      verdict(`${w2} precise TTFT p99 ≤ approximate`, p.ttft.p99 <= ap.ttft.p99, `${f(p.ttft.p99)} vs ${f(ap.ttft.p99)} ms (${f(p.ttft.p99 / ap.ttft.p99, 2)}×)`);
    } else verdict(`${w2} precise vs approximate`, null, 'ringgate not run');
    verdict(`${w2} precise hit rate ≥ 0.95 × oracle`, p.hitRate >= 0.95 * p.oracle.hitRate, `${f(p.hitRate, 3)} vs oracle ${f(p.oracle.hitRate, 3)} (${f(p.hitRate / p.oracle.hitRate, 2)}×)`);
    if (rr) L.push(`  (round-robin: hit ${f(rr.hitRate, 3)}, TTFT mean ${f(rr.ttft.mean)} p99 ${f(rr.ttft.p99)} ms; precise/RR mean ${f(p.ttft.mean / rr.ttft.mean, 2)}×)`);
    verdict(`${w2} precise no failed requests`, p.failed === 0, JSON.stringify(p.outcomes));
  }
  if (notes.length) { L.push(''); L.push('Notes:'); for (const n of notes) L.push(`  - ${n}`); }
  return L.join('\n');
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (!existsSync(binaries.sim)) throw new Error(`no ringgate-sim at ${binaries.sim} (build first, or set RINGGATE_BUILD_DIR)`);
  const simHelp = helpText(binaries.sim);
  const simArgs = ['--model', o.model, '--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize),
    '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
    '--inter-token-latency-ms', String(o.itlMs), ...words(o.simArgs)];
  if (/--max-model-len/.test(simHelp)) simArgs.push('--max-model-len', String(o.maxModelLen));
  const notes = [];
  let configs = o.configs.split(',').map((c) => c.trim()).filter(Boolean);
  if (configs.some((c) => c.startsWith('ringgate'))) {
    if (!existsSync(binaries.ringgate)) {
      notes.push(`no ringgate binary at ${binaries.ringgate}: ringgate rows skipped`);
      configs = configs.filter((c) => !c.startsWith('ringgate'));
    } else if (configs.includes('ringgate-noprefix') && !words(o.noprefixArgs).length) {
      const rgHelp = helpText(binaries.ringgate).split('\n').filter((l) => /prefix|scorer|weight/i.test(l)).map((l) => l.trim());
      notes.push('ringgate-noprefix: no --noprefix-args given, so this row ran ringgate\'s DEFAULTS (same as the first row)' +
        (rgHelp.length ? `; ringgate --help mentions: ${rgHelp.join(' | ')}` : '; ringgate --help mentions no prefix/scorer flag'));
    }
  }
  const labels = { 'ringgate-precise': 'ringgate-precise', ringgate: 'ringgate', 'ringgate-noprefix': words(o.noprefixArgs).length ? 'ringgate-noprefix' : 'ringgate-noprefix*', 'nginx-rr': 'nginx-rr', 'haproxy-lc': 'haproxy-lc', 'haproxy-hash': 'haproxy-hash' };
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const workloads = o.workloads.split(',').map((w) => w.trim().toUpperCase());
  const rows = [], oracles = new Map();
  for (const c of configs) {
    for (const w of workloads) {
      process.stderr.write(`[compare] ${c} / workload ${w}: ${o.rate} req/s × ${o.duration} s ... `);
      const r = await runCell(o, c, w, simArgs, notes);
      r.label = labels[c] ?? c;
      r.oracle = oracleFor(o, w, r.warmupSent, r.sent, oracles);
      r.own = ownReplay(o, r);
      delete r.decisions;
      process.stderr.write(`sent ${r.sent}, failed ${r.failed}, hit ${f(r.hitRate, 3)}, ttft mean ${f(r.ttft.mean)} ms p99 ${f(r.ttft.p99)} ms\n`);
      if (r.warmupFailed) notes.push(`${c}/${w}: ${r.warmupFailed} requests failed during the warm-up`);
      if (r.failed) notes.push(`${c}/${w}: outcomes ${JSON.stringify(r.outcomes)}`);
      if (r.lagP99 > 50) notes.push(`${c}/${w}: load generator fell behind schedule (p99 lag ${r.lagP99} ms): the machine is saturated`);
      rows.push(r);
    }
  }
  const text = table(o, rows, notes, meta);
  console.log(text);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, '');
  writeFileSync(path.join(o.out, `routing-${stamp}.txt`), text + '\n');
  writeFileSync(path.join(o.out, `routing-${stamp}.json`), JSON.stringify({ options: o, meta, rows }, null, 1));
  console.log(`\n(written to ${path.join(o.out, `routing-${stamp}.txt`)} and .json)`);
}

main().then(() => process.exit(0), (e) => { console.error(`compare: ${e.stack || e.message}`); process.exit(1); });
