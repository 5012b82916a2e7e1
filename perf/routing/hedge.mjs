#!/usr/bin/env node
// Hedged prefill benchmark (issue 35 acceptance): a pool of 4 ringgate-sims at --speed 1,
// one of which is slowed 10x on purpose mid-run (--speed-after), behind ringgate with the
// SLO-aware pick, without and with `hedging: {enabled: true, maxExtraLoad: 0.05}`. Two
// streams of shared-prefix chats share the pool: background requests without objectives
// and a few tight-SLO ones (x-llm-d-slo-ttft-ms / -tpot-ms). Compares the tight requests'
// TTFT (p50/p99, also only those sent after the slowdown), the background's, and the extra
// load hedging added (its own counters, against the requests sent). perf/routing/hedge.sh --help
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad, percentiles } from '../loadgen/loadgen.mjs';
import { makeWorkload } from '../loadgen/workload.mjs';
import { startRinggate } from './proxies.mjs';
import { computedCapacity, SLO_HEADERS } from './slo.mjs';
import { stop as stopProc, startSim, scrape } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
const ALL_CONFIGS = ['ringgate-slo', 'ringgate-hedge'];
const D = {
  load: 0.6, duration: 60, warmup: 10, slowAt: 15, slowFactor: 0.1, sims: 4, kvBlocks: 4000, blockSize: 16,
  maxNumSeqs: 8, prefillUs: 150, overheadMs: 10, itlMs: 20, maxTokens: 32, maxModelLen: 4096,
  tightShare: 0.05, tightTtft: 60, tightTpot: 100, maxExtraLoad: 0.05, headroom: 0.2, seed: 1, workers: 2,
  configs: ALL_CONFIGS.join(','), model: 'facebook/opt-125m', timeoutMs: 60000, out: path.resolve(HERE, '../results'),
};
const HELP = `usage: perf/routing/hedge.sh [options]     (bounded; loopback only)
  --load F                  fraction of the pool's computed capacity (all sims at speed 1)     [${D.load}]
  --duration S --warmup S   per row: S s warm-up (not measured), then S s measured                [${D.duration} ${D.warmup}]
  --slow-at S --slow-factor F   S s into the measured window, sim 0's --speed becomes F            [${D.slowAt} ${D.slowFactor}]
  --sims N                  ringgate-sims in the pool                                             [${D.sims}]
  --tight-share F           the tight-SLO requests' share of the rate                              [${D.tightShare}]
  --tight-ttft MS --tight-tpot MS   their objectives (${SLO_HEADERS.ttft} / ${SLO_HEADERS.tpot})   [${D.tightTtft} ${D.tightTpot}]
  --max-extra-load F --headroom F   the ringgate-hedge row's hedging.maxExtraLoad / .headroom       [${D.maxExtraLoad} ${D.headroom}]
  --configs LIST            of ${ALL_CONFIGS.join(',')}                                       [all]
  --kv-blocks N --block-size N --max-num-seqs N --max-model-len N --prefill-us US --overhead-ms MS
  --itl-ms MS --max-tokens N --workers N --seed N --timeout-ms MS --out DIR         (as perf/routing/slo.sh)`;

function parse(argv) {
  const o = { ...D };
  const names = { '--load': 'load', '--duration': 'duration', '--warmup': 'warmup', '--slow-at': 'slowAt',
    '--slow-factor': 'slowFactor', '--sims': 'sims', '--kv-blocks': 'kvBlocks', '--block-size': 'blockSize',
    '--max-num-seqs': 'maxNumSeqs', '--prefill-us': 'prefillUs', '--overhead-ms': 'overheadMs', '--itl-ms': 'itlMs',
    '--max-tokens': 'maxTokens', '--max-model-len': 'maxModelLen', '--tight-share': 'tightShare',
    '--tight-ttft': 'tightTtft', '--tight-tpot': 'tightTpot', '--max-extra-load': 'maxExtraLoad',
    '--headroom': 'headroom', '--seed': 'seed', '--workers': 'workers', '--timeout-ms': 'timeoutMs' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (i + 1 >= argv.length) throw new Error(`${a}: needs a value`);
    if (a === '--configs') o.configs = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else if (names[a]) { o[names[a]] = Number(argv[++i]); if (!Number.isFinite(o[names[a]])) throw new Error(`${a}: not a number`); }
    else throw new Error(`unknown option ${a}`);
  }
  o.configList = o.configs.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of o.configList) if (!ALL_CONFIGS.includes(c)) throw new Error(`unknown config ${c}`);
  if (o.duration > 120 || o.warmup > 120) throw new Error('keep it bounded: --duration, --warmup ≤ 120');
  if (!(o.slowAt >= 0 && o.slowAt < o.duration)) throw new Error('--slow-at: inside the measured window');
  if (!(o.sims >= 2 && o.sims <= 8)) throw new Error('--sims 2..8');
  if (!(o.tightShare > 0 && o.tightShare < 1)) throw new Error('--tight-share in (0, 1)');
  o.speedList = Array(o.sims).fill(1);
  return o;
}

const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const sum = (m, prefix) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

function config(o, eps, hedging) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-hedge-')), 'gateway.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${eps.map((e) => `"${e}"`).join(', ')}]}}
${hedging ? `hedging: {enabled: true, maxExtraLoad: ${o.maxExtraLoad}, headroom: ${o.headroom}}\n` : ''}`);
  return file;
}

// Setup before the warm-up starts (sims, gateway, readiness) is given this long: sim 0
// slows at its start + slack + warm-up + slow-at (the row says when that fell).
const SETUP_SLACK_S = 3;

async function runRow(o, configName, rate) {
  const simArgs = ['--model', o.model, '--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize),
    '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
    '--prefill-overhead-ms', String(o.overheadMs), '--inter-token-latency-ms', String(o.itlMs),
    '--max-model-len', String(o.maxModelLen)];
  const slowAfter = SETUP_SLACK_S + o.warmup + o.slowAt;
  const simsStarted = performance.now();
  const sims = await Promise.all(o.speedList.map((_, i) =>
    startSim(i === 0 ? [...simArgs, '--speed-after', `${slowAfter}:${o.slowFactor}`] : simArgs)));
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  let proxy;
  try {
    proxy = await startRinggate([], ['--workers', String(o.workers), '--config', config(o, eps, configName === 'ringgate-hedge')]);
    const tightHeaders = { [SLO_HEADERS.ttft]: String(o.tightTtft), [SLO_HEADERS.tpot]: String(o.tightTpot) };
    const stream = (share, headers, seed) => ({ url: proxy.url, model: o.model, api: 'chat', rate: rate * share,
      arrival: 'poisson', streamFraction: 1, maxTokens: o.maxTokens, workloadObj: makeWorkload({ kind: 'A', seed }),
      timeoutMs: o.timeoutMs, headers, records: true });
    const both = (duration, seedShift, t0) => Promise.all([
      runLoad({ ...stream(1 - o.tightShare, {}, o.seed), duration, seed: o.seed + seedShift, t0 }),
      runLoad({ ...stream(o.tightShare, tightHeaders, o.seed + 1), duration, seed: o.seed + 1 + seedShift, t0 }),
    ]);
    if (o.warmup > 0) await both(o.warmup, 7919);
    const before = await scrape(`${proxy.adminUrl}/metrics`);
    const cpu0 = cpuSeconds(proxy.proc.pid);
    const t0 = performance.now();
    const slowAtMs = simsStarted + slowAfter * 1000 - t0;  // in the measured window's clock
    const [bg, tight] = await both(o.duration, 0, t0);
    const cpu = cpuSeconds(proxy.proc.pid) - cpu0;
    const after = await scrape(`${proxy.adminUrl}/metrics`);
    const ok = (rs) => rs.filter((r) => r && r.outcome === 'ok' && r.tFirstContent >= 0);
    const ttft = (rs) => percentiles(ok(rs).map((r) => r.tFirstContent));
    const slowed = eps[0];
    const hedges = Object.fromEntries(['primary', 'hedge', 'failover', 'abandoned'].map((k) =>
      [k, (after.get(`ringgate_hedged_requests_total{result="${k}"}`) ?? 0) - (before.get(`ringgate_hedged_requests_total{result="${k}"}`) ?? 0)]));
    const hedged = Object.values(hedges).reduce((a, b) => a + b, 0);
    const sent = bg.sent + tight.sent;
    return {
      config: configName, rate, slowAtMs, sent, failed: bg.failed + tight.failed, tightSent: tight.sent,
      cpuMsPerReq: (1000 * cpu) / Math.max(1, bg.ok + tight.ok),
      tight: ttft(tight.records), tightAfter: ttft(tight.records.filter((r) => r && r.tStart >= slowAtMs)),
      background: ttft(bg.records),
      tightOnSlowed: ok(tight.records).filter((r) => r.dest === slowed).length,
      hedges, hedged, extraLoad: sent ? hedged / sent : NaN,
      overBudget: (after.get('ringgate_hedges_over_budget_total') ?? 0) - (before.get('ringgate_hedges_over_budget_total') ?? 0),
      gatewayRequests: sum(after, 'ringgate_requests_total') - sum(before, 'ringgate_requests_total'),
    };
  } finally {
    if (proxy) await proxy.stop().catch(() => {});
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

function table(o, cap, rows, meta) {
  const L = [];
  L.push(`# ringgate hedged prefill benchmark (issue 35) — ${meta.date}`);
  L.push(`# machine: ${os.cpus().length} cores (shared; figures are noisy), load avg at start ${meta.load}`);
  L.push(`# pool: ${o.sims} × ringgate-sim --speed 1 --max-num-seqs ${o.maxNumSeqs} --kv-blocks ${o.kvBlocks} --prefill-time-per-token-us ${o.prefillUs} ` +
    `--prefill-overhead-ms ${o.overheadMs} --inter-token-latency-ms ${o.itlMs}; sim 0 slowed to --speed ${o.slowFactor} ${o.slowAt} s into the measured window (--speed-after)`);
  L.push(`# load: ${Math.round(o.load * 100)}% of the computed capacity ${f(cap.total)} req/s = ${f(o.load * cap.total)} req/s, Poisson, streamed shared-prefix chats ` +
    `(workload A), max_tokens ${o.maxTokens}; ${f(100 * o.tightShare)}% of them tight-SLO (TTFT ≤ ${o.tightTtft} ms, TPOT ≤ ${o.tightTpot} ms), the rest without objectives`);
  L.push(`# rows: ringgate --config with the static pool (SLO-aware pick for the tight ones, default scorers for the rest); ringgate-hedge adds ` +
    `hedging: {enabled: true, maxExtraLoad: ${o.maxExtraLoad}, headroom: ${o.headroom}}; ${o.warmup} s warm-up, ${o.duration} s measured, fresh sims and gateway per row`);
  L.push('');
  const hdr = ['config', 'sent', 'fail', 'tight', 'tight TTFT p50', 'p99', 'after slowdown p50', 'p99', 'on slowed', 'background TTFT p50', 'p99',
    'hedged', 'prim/hedge/failover/aband', 'extra load', 'over budget', 'CPU ms/req'];
  const lines = [hdr];
  for (const r of rows) {
    lines.push([r.config, r.sent, r.failed, r.tightSent, f(r.tight.p50), f(r.tight.p99), f(r.tightAfter.p50), f(r.tightAfter.p99),
      r.tightOnSlowed, f(r.background.p50), f(r.background.p99), r.hedged,
      `${r.hedges.primary}/${r.hedges.hedge}/${r.hedges.failover}/${r.hedges.abandoned}`, `${f(100 * r.extraLoad, 2)}%`, r.overBudget,
      f(r.cpuMsPerReq, 3)]);
  }
  const w = hdr.map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  for (const l of lines) L.push(l.map((x, c) => (c < 1 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
  L.push('');
  L.push('TTFT = first chunk with text, client-side, ms, over OK streams; "after slowdown" = tight requests sent after sim 0 slowed;');
  L.push('on slowed = tight requests the slowed sim answered (x-gateway-destination-endpoint); hedged = Δringgate_hedged_requests_total,');
  L.push('by result; extra load = hedged / requests sent; over budget = Δringgate_hedges_over_budget_total;');
  L.push('CPU ms/req = the gateway process\'s user+system CPU over the measured window / OK requests (/proc).');
  for (const r of rows) L.push(`  ${r.config}: sim 0 slowed ${f(r.slowAtMs / 1000)} s into the measured window; the gateway counted ${r.gatewayRequests} requests`);
  const base = rows.find((r) => r.config === 'ringgate-slo'), hedge = rows.find((r) => r.config === 'ringgate-hedge');
  if (base && hedge) {
    L.push('');
    L.push('Goals (issue 35):');
    const ratio = hedge.tight.p99 / base.tight.p99;
    L.push(`  ${ratio <= 0.5 ? 'PASS' : 'FAIL'}  tight-SLO TTFT p99 with hedging ≤ 0.5 × without: ${f(hedge.tight.p99)} vs ${f(base.tight.p99)} ms (${f(ratio, 2)}×)`);
    L.push(`  ${hedge.extraLoad <= o.maxExtraLoad ? 'PASS' : 'FAIL'}  extra load under its budget: ${f(100 * hedge.extraLoad, 2)}% ≤ ${f(100 * o.maxExtraLoad, 2)}%`);
  }
  return L.join('\n');
}

async function main() {
  const o = parse(process.argv.slice(2));
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const cap = computedCapacity(o);
  const rate = Math.round(o.load * cap.total * 10) / 10;
  const rows = [];
  for (const c of o.configList) {
    process.stderr.write(`[hedge] ${c} @ ${rate} req/s × ${o.duration} s ... `);
    const r = await runRow(o, c, rate);
    rows.push(r);
    process.stderr.write(`sent ${r.sent}, failed ${r.failed}, tight TTFT p99 ${f(r.tight.p99)} ms, hedged ${r.hedged}\n`);
  }
  const text = table(o, cap, rows, meta);
  console.log(text);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, '');
  writeFileSync(path.join(o.out, `hedge-${stamp}.txt`), text + '\n');
  writeFileSync(path.join(o.out, `hedge-${stamp}.json`), JSON.stringify({ options: o, meta, capacity: cap, rows }, null, 1));
  console.log(`\n(written to ${path.join(o.out, `hedge-${stamp}.txt`)} and .json)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(() => process.exit(0), (e) => { console.error(`hedge: ${e.stack || e.message}`); process.exit(1); });
}
