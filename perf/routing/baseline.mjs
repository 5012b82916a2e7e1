#!/usr/bin/env node
// llm-d's optimized baseline against ringgate's default (issue 52 acceptance): the same sims
// and the same seeded Poisson request sequence behind ringgate (its defaults), ringgate
// running llm-d's optimized-baseline EndpointPickerConfig as the guide writes it
// (tests/epp/data/llm-d-optimized-baseline.yaml through --config-file), nginx round-robin
// and HAProxy leastconn, on workloads A (shared system prompts), C (multi-turn chats,
// finite KV) and L (shaped like llm-d's benchmark), each at three loads and for each seed.
// The `oracle` row has no proxy: the client sends each request to the server oracle.mjs's
// cache model says holds its longest prefix (what the best-cached placement gives).
// Reported per cell: output tokens/s, TTFT mean/p90/p99, the sims' hit rate and the
// offline oracle's on the same sequence (oracle.mjs). Run through perf/routing/baseline.sh;
// --help for options.
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../loadgen/loadgen.mjs';
import { makeWorkload, simPromptText } from '../loadgen/workload.mjs';
import { CacheModel, replay } from './oracle.mjs';
import { startSims, simCounters, diff } from './sims.mjs';
import { startNginx, startHaproxy, startRinggate, sleep } from './proxies.mjs';
import { stop as stopProc } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
const PICKER_CONFIG = path.resolve(HERE, '../../tests/epp/data/llm-d-optimized-baseline.yaml');
const ALL_CONFIGS = ['ringgate', 'ringgate-nofilter', 'llm-d-optimized', 'round-robin', 'least-conn', 'oracle'];

// One entry per workload: the request shape, the sims' flags and the three rates (req/s).
// A and C are compare.mjs's setups. L is llm-d's benchmark shape: 150 groups sharing a
// ~6K-token prefix (picked uniformly), a 500-token question and 500 output tokens; the
// sims hold about 34 groups each beside 16 running requests, so the pool can keep ~140 of
// the 150 only if a group stays on one server.
export const WORKLOADS = {
  A: { kind: 'A', api: 'completions', maxTokens: 24, rates: [80, 120, 160], warmup: 10, duration: 25,
    sim: { kvBlocks: 1200, maxNumSeqs: 8, prefillUs: 100, itlMs: 5, maxModelLen: 4096 } },
  C: { kind: 'C', api: 'chat', maxTokens: 24, rates: [30, 40, 50], warmup: 15, duration: 20,
    sim: { kvBlocks: 400, maxNumSeqs: 8, prefillUs: 100, itlMs: 5, maxModelLen: 4096, echo: true } },
  L: { kind: 'A', api: 'completions', maxTokens: 500, rates: [5, 7, 9], warmup: 25, duration: 35,
    options: { prompts: 150, minBytes: 23000, maxBytes: 25000, zipf: 0, suffixMinBytes: 1950, suffixMaxBytes: 2050 },
    sim: { kvBlocks: 20000, maxNumSeqs: 16, prefillUs: 100, itlMs: 10, maxModelLen: 8192 } },
};
const D = { configs: ALL_CONFIGS.join(','), workloads: 'A,C,L', seeds: '1', rates: '', workers: 2, sims: 4,
  blockSize: 16, ttftLimitMs: 2000, model: 'facebook/opt-125m', out: path.resolve(HERE, '../results'), timeoutMs: 60000 };
const HELP = `usage: perf/routing/baseline.sh [options]     (bounded; loopback only)
  --configs LIST     of ${ALL_CONFIGS.join(',')}                        [all]
                     ringgate-nofilter = ringgate's default before issue 52 (the affinity filter off);
                     llm-d-optimized = ringgate --config-file ${path.relative(process.cwd(), PICKER_CONFIG)};
                     ringgate@FILE = ringgate --config FILE (a Gateway document: a candidate profile);
                     oracle = no proxy: the client sends each request to the server the offline
                     oracle (oracle.mjs) picks, the one holding its longest cached prefix
  --workloads LIST   of A,C,L                                                          [${D.workloads}]
  --seeds LIST       one run of every cell per seed (the request sequence and arrivals)  [${D.seeds}]
  --rates W:R1/R2/R3,...   the loads of a workload in req/s (default: A ${WORKLOADS.A.rates.join('/')}, C ${WORKLOADS.C.rates.join('/')}, L ${WORKLOADS.L.rates.join('/')})
  --ttft-limit-ms MS the TTFT p90 a load must keep for its output tokens/s to count     [${D.ttftLimitMs}]
  --workers N --timeout-ms MS --out DIR                                                 [${D.workers} ${D.timeoutMs} perf/results]
  --report A.json B.json ...   no run: one report of the rows of earlier runs' JSON files (rows of
                     one config, workload, load and seed in two files: the later file's)`;

function parse(argv) {
  const o = { ...D };
  const keys = { '--configs': 'configs', '--workloads': 'workloads', '--seeds': 'seeds', '--rates': 'rates', '--out': 'out',
    '--workers': 'workers', '--ttft-limit-ms': 'ttftLimitMs', '--timeout-ms': 'timeoutMs' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') { console.log(HELP); process.exit(0); }
    const k = keys[argv[i]];
    if (!k || i + 1 >= argv.length) throw new Error(`${argv[i]}: unknown option or no value (--help)`);
    o[k] = typeof D[k] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  o.configs = list(o.configs);
  o.workloads = list(o.workloads).map((w) => w.toUpperCase());
  o.seeds = list(o.seeds).map(Number);
  for (const c of o.configs) if (!ALL_CONFIGS.includes(c) && !c.startsWith('ringgate@')) throw new Error(`unknown config ${c}`);
  for (const w of o.workloads) if (!WORKLOADS[w]) throw new Error(`unknown workload ${w}`);
  o.rateOf = Object.fromEntries(Object.entries(WORKLOADS).map(([w, spec]) => [w, spec.rates]));
  for (const item of list(o.rates)) {
    const [w, rs] = item.split(':');
    const rates = (rs ?? '').split('/').map(Number);
    if (!WORKLOADS[w] || !rates.length || rates.some((r) => !(r > 0 && r <= 500))) throw new Error(`--rates ${item}: W:R1/R2/.. with 0 < R ≤ 500`);
    o.rateOf[w] = rates;
  }
  if (o.seeds.some((s) => !Number.isInteger(s)) || o.seeds.length > 10) throw new Error('--seeds: at most 10 integers');
  return o;
}

const simArgsFor = (o, s) => ['--model', o.model, '--kv-blocks', String(s.kvBlocks), '--block-size', String(o.blockSize),
  '--max-num-seqs', String(s.maxNumSeqs), '--prefill-time-per-token-us', String(s.prefillUs),
  '--inter-token-latency-ms', String(s.itlMs), '--max-model-len', String(s.maxModelLen), ...(s.echo ? ['--mode', 'echo'] : [])];
const workloadFor = (w, seed) => makeWorkload({ ...WORKLOADS[w].options, kind: WORKLOADS[w].kind, seed, answerTokens: WORKLOADS[w].maxTokens });

async function startProxy(o, config, eps) {
  const workers = ['--workers', String(o.workers)];
  if (config === 'ringgate') return startRinggate(eps, workers);
  if (config === 'ringgate-nofilter') {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-nofilter-')), 'gateway.yaml');
    writeFileSync(file, 'apiVersion: ringgate.io/v1\nkind: Gateway\nscheduler: {filters: {prefix-cache-affinity: false}}\n');
    return startRinggate(eps, [...workers, '--config', file]);
  }
  if (config === 'llm-d-optimized') return startRinggate(eps, [...workers, '--config-file', PICKER_CONFIG]);
  if (config.startsWith('ringgate@')) return startRinggate(eps, [...workers, '--config', config.slice('ringgate@'.length)]);
  if (config === 'round-robin') return startNginx(eps);
  return startHaproxy(eps);
}

async function runCell(o, config, w, rate, seed) {
  const spec = WORKLOADS[w];
  const sims = await startSims(o.sims, simArgsFor(o, spec.sim));
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  let proxy;
  try {
    // The oracle row has no proxy: the client routes each request as oracle.mjs's cache
    // model picks, serving it there in the model too (warm-up and measured alike).
    const oracle = config === 'oracle' && new CacheModel({ servers: o.sims, capacity: spec.sim.kvBlocks, blockTokens: o.blockSize });
    proxy = oracle ? null : await startProxy(o, config, eps);
    if (config.startsWith('ringgate') || config === 'llm-d-optimized') {
      const warned = proxy.stderr().split('\n').filter((l) => /warn/i.test(l));
      if (warned.length) throw new Error(`${config}: the gateway warned at start: ${warned.join(' | ')}`);
    }
    const wl = workloadFor(w, seed);
    const common = { url: proxy?.url ?? sims[0].url, model: o.model, api: spec.api, rate, arrival: 'poisson', maxTokens: spec.maxTokens,
      workloadObj: wl, timeoutMs: o.timeoutMs, records: true,
      ...(oracle ? { route: (req) => sims[oracle.route(simPromptText(req, spec.api))].url } : {}) };
    const warm = await runLoad({ ...common, duration: spec.warmup, seed: seed + 7919 });
    const before = await Promise.all(sims.map((s) => simCounters(s.url)));
    const cpu0 = proxy ? cpuSeconds(proxy.proc.pid) : NaN;
    const s = await runLoad({ ...common, duration: spec.duration, seed });
    const cpu = proxy ? cpuSeconds(proxy.proc.pid) - cpu0 : NaN;
    await sleep(300);
    const after = await Promise.all(sims.map((x) => simCounters(x.url)));
    const d = sims.map((_, i) => diff(before[i], after[i]));
    const sum = (k) => d.reduce((a, x) => a + x[k], 0);
    const outputTokens = s.records.reduce((a, r) => a + (r && r.outcome === 'ok' ? r.contentChunks : 0), 0);
    const shares = d.map((x) => x.success / Math.max(1, sum('success')));
    return { config, workload: w, rate, seed, warmupSent: warm.sent, warmupFailed: warm.failed, sent: s.sent, ok: s.ok,
      failed: s.failed, outcomes: s.outcomes, ttft: s.ttftMs, lagP99: s.scheduleLagMs.p99,
      outputTokensPerSec: outputTokens / s.wallSeconds, hitRate: sum('hits') / Math.max(1, sum('queries')),
      maxLoad: Math.max(...shares) * o.sims, cpuMsPerReq: (1000 * cpu) / Math.max(1, s.ok) };
  } finally {
    if (proxy) await proxy.stop().catch(() => {});
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

// The oracle's hit rate on a cell's exact sequence (warm-up + measured requests), or with
// `bound`, the best any placement allows: one unbounded cache, where a request misses only
// what no server could hold for it (its own tokens, a prompt's first sighting).
function oracleHit(o, w, seed, warm, n, cache, bound = false) {
  const key = `${w}/${seed}/${warm}/${n}/${bound}`;
  if (!cache.has(key)) {
    const wl = workloadFor(w, seed);
    const prompts = Array.from({ length: warm + n }, () => simPromptText(wl.next(), WORKLOADS[w].api));
    const model = bound ? { servers: 1, capacity: Infinity } : { servers: o.sims, capacity: WORKLOADS[w].sim.kvBlocks };
    cache.set(key, replay(prompts, { ...model, blockTokens: o.blockSize, policy: 'oracle', countFrom: warm }).hitRate);
  }
  return cache.get(key);
}

const f = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : Number(x).toFixed(d));
const median = (xs) => { const a = [...xs].sort((p, q) => p - q); return a.length ? (a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2) : NaN; };

function pad(lines) {
  const w = lines[0].map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  return lines.map((l) => l.map((x, c) => (c < 2 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
}

// Output tokens/s a row sustains within the TTFT limit: the best load whose TTFT p90 stays
// at or under it (0 when none does), per seed.
function goodput(o, cells) {
  const ok = cells.filter((c) => c.ttft.p90 <= o.ttftLimitMs && c.failed === 0);
  return ok.length ? Math.max(...ok.map((c) => c.outputTokensPerSec)) : 0;
}

// How much output a router could gain at all, per seed: past the knee a cell's output is
// what the pool completes, and that falls with the miss rate (each miss is prefill that
// stalls every running decode on its server). Fitted over the seed's saturated cells of every
// row (output under 97% of what the seed's unsaturated cells deliver per request sent) and
// read at the best hit any placement allows; null when under 4 cells fit, the fit explains
// under 80% of their spread, or the bound lies beyond the fitted misses by more than a fifth
// of the smallest.
function capacityAtBound(o, w, cells, cache) {
  const sentPerSec = (c) => c.sent / WORKLOADS[w].duration;
  const perReq = Math.max(...cells.map((c) => c.outputTokensPerSec / sentPerSec(c)));
  const sat = cells.filter((c) => c.outputTokensPerSec < 0.97 * perReq * sentPerSec(c));
  if (sat.length < 4) return null;
  const xs = sat.map((c) => 1 - c.hitRate), ys = sat.map((c) => c.outputTokensPerSec);
  const mx = xs.reduce((a, x) => a + x, 0) / xs.length, my = ys.reduce((a, y) => a + y, 0) / ys.length;
  let sxy = 0, sxx = 0, syy = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; syy += (ys[i] - my) ** 2; });
  const r2 = sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
  if (r2 < 0.8) return null;
  const hit = median(sat.map((c) => oracleHit(o, w, c.seed, c.warmupSent, c.sent, cache, true)));
  if (1 - hit < 0.8 * Math.min(...xs)) return null;
  return { hit, cells: sat.length, r2, out: my + (sxy / sxx) * (1 - hit - mx) };
}

function report(o, rows, meta) {
  const bounds = new Map();
  const L = [`# llm-d optimized baseline vs ringgate (issue 52) — ${meta.date}`,
    `# machine: ${os.cpus().length} cores, load avg at start ${meta.load}; seeds ${o.seeds.join(',')}; every cell: fresh sims and proxy, warm-up, then the measured window; Poisson arrivals`];
  for (const w of o.workloads) {
    const spec = WORKLOADS[w];
    L.push('', `## workload ${w}: ${o.sims} sims ${simArgsFor(o, spec.sim).slice(2).join(' ')}; max_tokens ${spec.maxTokens}; ${spec.warmup} s warm-up + ${spec.duration} s measured`);
    const lines = [['config', 'load', 'req/s sent', 'seeds', 'out tok/s', 'ttft mean', 'p90', 'p99', 'p90 worst', 'hit', 'oracle', 'max/mean', 'fail', 'CPU ms/req']];
    for (const c of o.configs) {
      for (const rate of o.rateOf[w]) {
        const cs = rows.filter((r) => r.config === c && r.workload === w && r.rate === rate);
        if (!cs.length) continue;
        const m = (g) => median(cs.map(g));
        lines.push([c, `${rate}`, f(m((r) => r.sent / WORKLOADS[w].duration)), cs.length, f(m((r) => r.outputTokensPerSec), 0),
          f(m((r) => r.ttft.mean)), f(m((r) => r.ttft.p90)), f(m((r) => r.ttft.p99)), f(Math.max(...cs.map((r) => r.ttft.p90))),
          f(m((r) => r.hitRate), 3), f(m((r) => r.oracle), 3), f(m((r) => r.maxLoad), 2), cs.reduce((a, r) => a + r.failed, 0),
          f(m((r) => r.cpuMsPerReq), 2)]);
      }
    }
    L.push(...pad(lines));
    // The acceptance lines: ringgate's default against llm-d-optimized, per seed.
    const per = (c) => o.seeds.map((s) => goodput(o, rows.filter((r) => r.config === c && r.workload === w && r.seed === s)));
    if (o.configs.includes('ringgate') && o.configs.includes('llm-d-optimized')) {
      const rg = per('ringgate'), ld = per('llm-d-optimized');
      const ratios = rg.map((x, i) => x / ld[i]);
      L.push(`  output tokens/s at TTFT p90 ≤ ${o.ttftLimitMs} ms, per seed: ringgate ${rg.map((x) => f(x, 0)).join(' / ')}, llm-d-optimized ${ld.map((x) => f(x, 0)).join(' / ')}; ` +
        `ratio ${ratios.map((x) => f(x, 2)).join(' / ')} (worst ${f(Math.min(...ratios), 2)}): ${Math.min(...ratios) >= 1.1 ? 'PASS' : 'FAIL'} (≥ 1.1)`);
      const caps = o.seeds.map((s) => capacityAtBound(o, w, rows.filter((r) => r.workload === w && r.seed === s), bounds));
      if (caps.some(Boolean)) {
        const each = (g, d) => caps.map((c) => (c ? f(g(c), d) : '-')).join(' / ');
        L.push(`  the pool's saturated output at the best hit any placement allows, per seed: ${each((c) => c.out, 0)} tok/s ` +
          `= ${caps.map((c, i) => (c ? f(c.out / ld[i], 2) : '-')).join(' / ')} × llm-d-optimized's within the limit ` +
          `(hit ${each((c) => c.hit, 4)}; fitted on ${each((c) => c.cells, 0)} saturated cells, r² ${each((c) => c.r2, 2)})`);
      }
      for (const rate of o.rateOf[w]) {
        const q = o.seeds.map((s) => {
          const a = rows.find((r) => r.config === 'ringgate' && r.workload === w && r.rate === rate && r.seed === s);
          const b = rows.find((r) => r.config === 'llm-d-optimized' && r.workload === w && r.rate === rate && r.seed === s);
          return a && b ? a.ttft.p90 / b.ttft.p90 : NaN;
        });
        L.push(`  TTFT p90 ringgate / llm-d-optimized at ${rate} req/s, per seed: ${q.map((x) => f(x, 2)).join(' / ')}: ${q.every((x) => x <= 1.0) ? 'PASS' : 'FAIL'} (≤ 1.0)`);
      }
    }
    if (w === 'C') {
      // The issue's line for ringgate; the oracle row's, beside it, is what sending every
      // request to its best-cached server gives on the same sequence (no load awareness).
      for (const rate of o.rateOf[w]) {
        const at = (c, k) => median(rows.filter((r) => r.config === c && r.workload === w && r.rate === rate).map((r) => r.ttft[k]));
        const best = (k) => Math.min(...['round-robin', 'least-conn'].map((c) => at(c, k)).filter(Number.isFinite));
        if (!Number.isFinite(best('mean'))) continue;  // neither row run
        for (const c of ['ringgate', 'oracle'].filter((x) => Number.isFinite(at(x, 'mean')))) {
          const mean = at(c, 'mean') / best('mean'), p99 = at(c, 'p99') / best('p99');
          L.push(`  C at ${rate} req/s, ${c} / best of round-robin and least-conn: TTFT mean ${f(mean, 2)} (≤ 0.65), p99 ${f(p99, 2)} (≤ 0.85)` +
            (c === 'ringgate' ? `: ${mean <= 0.65 && p99 <= 0.85 ? 'PASS' : 'FAIL'}` : ''));
        }
      }
    }
  }
  const lagged = rows.filter((r) => r.lagP99 > 50);
  if (lagged.length) L.push('', `Note: the load client fell behind schedule (p99 lag > 50 ms) in ${lagged.map((r) => `${r.config}/${r.workload}/${r.rate}/seed ${r.seed}`).join(', ')}`);
  const failed = rows.filter((r) => r.failed || r.warmupFailed);
  if (failed.length) L.push('', `Failures: ${failed.map((r) => `${r.config}/${r.workload}/${r.rate}/seed ${r.seed}: ${JSON.stringify(r.outcomes)} (warm-up ${r.warmupFailed})`).join('; ')}`);
  return L.join('\n');
}

// The rows of earlier runs, merged into one report.
function merged(files) {
  const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
  const o = { ...runs[0].options, ttftLimitMs: D.ttftLimitMs };
  const byCell = new Map();
  for (const run of runs) for (const r of run.rows) byCell.set(`${r.config}/${r.workload}/${r.rate}/${r.seed}`, r);
  const rows = [...byCell.values()];
  const union = (key) => [...new Set(runs.flatMap((run) => run.options[key]))];
  o.configs = union('configs');
  o.workloads = union('workloads');
  o.seeds = union('seeds').sort((a, b) => a - b);
  o.rateOf = Object.fromEntries(o.workloads.map((w) => [w, [...new Set(rows.filter((r) => r.workload === w).map((r) => r.rate))].sort((a, b) => a - b)]));
  return { o, rows, meta: { date: `runs of ${runs.map((run) => run.meta.date).join(', ')}`, load: '-' } };
}

async function main() {
  const reportAt = process.argv.indexOf('--report');
  if (reportAt >= 0) {
    const { o, rows, meta } = merged(process.argv.slice(reportAt + 1));
    console.log(report(o, rows, meta));
    return;
  }
  const o = parse(process.argv.slice(2));
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const rows = [], oracles = new Map();
  // Seed outermost, then workload and load, the configs innermost: each row's cells of one
  // seed run minutes apart at most, in the same machine conditions.
  for (const seed of o.seeds) {
    for (const w of o.workloads) {
      for (const rate of o.rateOf[w]) {
        for (const c of o.configs) {
          process.stderr.write(`[baseline] seed ${seed} ${w} ${rate} req/s ${c} ... `);
          const r = await runCell(o, c, w, rate, seed);
          r.oracle = oracleHit(o, w, seed, r.warmupSent, r.sent, oracles);
          process.stderr.write(`ok ${r.ok}/${r.sent}, out ${f(r.outputTokensPerSec, 0)} tok/s, ttft p90 ${f(r.ttft.p90)} ms, hit ${f(r.hitRate, 3)} (oracle ${f(r.oracle, 3)})\n`);
          rows.push(r);
        }
      }
    }
  }
  const text = report(o, rows, meta);
  console.log(text);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, '');
  writeFileSync(path.join(o.out, `baseline-${stamp}.txt`), text + '\n');
  writeFileSync(path.join(o.out, `baseline-${stamp}.json`), JSON.stringify({ options: o, meta, rows }, null, 1));
  console.log(`\n(written to ${path.join(o.out, `baseline-${stamp}.txt`)} and .json)`);
}

main().then(() => process.exit(0), (e) => { console.error(`baseline: ${e.stack || e.message}`); process.exit(1); });
