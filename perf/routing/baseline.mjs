#!/usr/bin/env node
// llm-d's optimized baseline against ringgate's default (issue 52 acceptance): the same sims
// and the same seeded Poisson request sequence behind ringgate (its defaults), ringgate
// running llm-d's optimized-baseline EndpointPickerConfig as the guide writes it
// (tests/epp/data/llm-d-optimized-baseline.yaml through --config-file), nginx round-robin
// and HAProxy leastconn, on workloads A (shared system prompts), C (multi-turn chats,
// finite KV), L (shaped like llm-d's benchmark) and H (llm-d's headline workload, issue 65:
// inference-perf's shared_prefix on 8 engines, scaled), each at its loads and for each seed.
// H adds the precise rows: ringgate-precise (ringgate's own precise mode) and llm-d-precise
// (llm-d's precise-prefix-cache-aware guide config), both on sims publishing KV events. Issue
// 65's other profiles: M (`memory-bound`, sims with a CPU tier; its row
// ringgate-precise-tierblind scores a CPU-tier block as a miss), CONTROL and the six DOE.
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
import { startSims, startEventSims, preciseConfig, simCounters, diff, family, scrapeWithin } from './sims.mjs';
import { startNginx, startHaproxy, startRinggate, sleep } from './proxies.mjs';
import { stop as stopProc } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
const PICKER_CONFIG = path.resolve(HERE, '../../tests/epp/data/llm-d-optimized-baseline.yaml');
const PRECISE_PICKER_CONFIG = path.resolve(HERE, '../../tests/epp/data/llm-d-precise-prefix-cache.yaml');
const ALL_CONFIGS = ['ringgate', 'ringgate-nofilter', 'ringgate-precise', 'ringgate-precise-local', 'ringgate-precise-tierblind', 'llm-d-optimized', 'llm-d-precise', 'round-robin',
  'k8s-service', 'least-conn', 'oracle'];
const PRECISE = new Set(['ringgate-precise', 'ringgate-precise-local', 'ringgate-precise-tierblind', 'llm-d-precise']);

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
  // llm-d's headline workload (issue 65's `llmd-headline`), perf/routing/README.md "llm-d's
  // headline regime": inference-perf's shared_prefix, 150 groups x 5 questions, on 8
  // engines, token counts / 10 (600-token system prompts, 120-token questions, 100 output
  // tokens; 1,921 blocks of 16 an engine), so the working set is 0.73x the pool's KV and
  // 5.9x one engine's, as in llm-d's run; chunked prefill at 819 tokens a step; a 20 ms
  // inter-token latency, so that prefill, not the KV held by decodes, binds a blind router
  // (perf/routing/README.md "Why 20 ms").
  H: { kind: 'S', api: 'completions', maxTokens: 100, sims: 8, rates: [16, 18, 20, 22, 24, 40, 57, 85, 100, 120, 140], warmup: 30, warmupRequests: 900,
    duration: 40, options: { groups: 150, perGroup: 5, systemTokens: 600, questionTokens: 120 },
    sim: { kvBlocks: 1921, maxNumSeqs: 256, prefillUs: 600, itlMs: 20, maxModelLen: 2048, batchedTokens: 819 } },
  // Issue 65's `memory-bound`: inference-perf's shared_prefix, 45 groups x 10 questions of
  // 3,000 / 26 / 102 tokens (llm-d's 30,000 / 256 / 1,024, / 10) on 4 engines with
  // vLLM's OffloadingConnector: each engine's GPU holds ~6 of its ~11 groups' prefixes, its
  // CPU tier all of them (perf/routing/README.md "The CPU tier (issue 65's `memory-bound`)"). A CPU hit
  // loads at 800 µs a block, 1/12 of prefilling it.
  M: { kind: 'S', api: 'completions', maxTokens: 102, sims: 4, rates: [2, 3, 4], warmup: 30, warmupRequests: 150,
    duration: 40, options: { groups: 45, perGroup: 10, systemTokens: 3000, questionTokens: 26 },
    sim: { kvBlocks: 1200, cpuBlocks: 4000, offloadUs: 800, maxNumSeqs: 256, prefillUs: 600, itlMs: 60, maxModelLen: 4096, batchedTokens: 819 },
    vsLlmd: 0.98 },
  // Issue 65's `control`: 16 engines, 50-token questions and 50 output tokens (llm-d's 500 / 500,
  // / 10), nothing shared (every prompt its own, none repeats within a cell): what is left to
  // a router is the load, where llm-d's routing gained ~8%. At most 16 running a sim.
  CONTROL: { kind: 'S', api: 'completions', maxTokens: 50, sims: 16, rates: [24, 32, 40], warmup: 20, duration: 40, vsLlmd: 0.98,
    options: { groups: 5000, perGroup: 1, systemTokens: 4, questionTokens: 46 },
    sim: { kvBlocks: 1921, maxNumSeqs: 16, prefillUs: 600, itlMs: 120, maxModelLen: 2048, batchedTokens: 819 } },
};
// Issue 65's `doe`: llm-d-benchmark's design of experiments on 2 engines, G in {40, 60} groups x
// 32 questions, system prompts of {1,000, 5,000, 8,000} tokens, 256-token questions and
// outputs, all / 10 on H's engines; `--workloads DOE` runs the six. Two loads a variant,
// falling as the system prompt grows (set once, not tuned to a knee).
for (const groups of [40, 60]) {
  for (const [name, system, rates] of [['1K', 100, [48, 96]], ['5K', 500, [24, 48]], ['8K', 800, [16, 32]]]) {
    WORKLOADS[`DOE${groups}-${name}`] = { kind: 'S', api: 'completions', maxTokens: 26, sims: 2, rates, warmup: 20, duration: 30, vsLlmd: 0.98,
      options: { groups, perGroup: 32, systemTokens: system, questionTokens: 26 },
      sim: { kvBlocks: 1921, maxNumSeqs: 256, prefillUs: 600, itlMs: 120, maxModelLen: 2048, batchedTokens: 819 } };
  }
}
const simsOf = (o, w) => WORKLOADS[w].sims ?? o.sims;
// A workload with `warmupRequests` warms up for at least that many requests at the cell's rate
// (H: past the first sighting of every group and one cycle of its 750 prompts).
const windowOf = (o, w, rate) => ({ warmup: o.warmup || Math.max(WORKLOADS[w].warmup, (WORKLOADS[w].warmupRequests ?? 0) / rate),
  duration: o.duration || WORKLOADS[w].duration });
const sentPerSec = (r) => r.sent / (r.duration ?? WORKLOADS[r.workload].duration);
const D = { configs: ALL_CONFIGS.filter((c) => !PRECISE.has(c) && c !== 'k8s-service').join(','), workloads: 'A,C,L', seeds: '1', rates: '', workers: 2, sims: 4,
  blockSize: 16, ttftLimitMs: 2000, warmup: 0, duration: 0, itlMs: 0, model: 'facebook/opt-125m', out: path.resolve(HERE, '../results'), timeoutMs: 60000 };
const HELP = `usage: perf/routing/baseline.sh [options]     (bounded; loopback only)
  --configs LIST     of ${ALL_CONFIGS.join(',')}
                     [all but the precise rows]
                     ringgate-nofilter = ringgate's default before issue 52 (the affinity filter off);
                     llm-d-optimized = ringgate --config-file ${path.relative(process.cwd(), PICKER_CONFIG)};
                     ringgate-precise = ringgate's prefix scorer in precise mode (sims publish KV events);
                     ringgate-precise-local = the same with loadSignal {mode: local} (the default's load signal);
                     ringgate-precise-tierblind = the same with tierWeights {cpu: 0} (a CPU-tier hit counts as a miss);
                     llm-d-precise = ringgate --config-file ${path.relative(process.cwd(), PRECISE_PICKER_CONFIG)}
                     (its blockSize and hashSeed set to the sims', as the guide says to), KV events;
                     k8s-service = round-robin (nginx), named as issue 65's row (kube-proxy);
                     ringgate@FILE = ringgate --config FILE (a Gateway document: a candidate profile);
                     oracle = no proxy: the client sends each request to the server the offline
                     oracle (oracle.mjs) picks, the one holding its longest cached prefix
  --workloads LIST   of A,C,L,H,M,CONTROL,DOE (the six DOE40-1K..DOE60-8K); issue 65's
                     names llmd-headline (H), memory-bound (M), control, doe          [${D.workloads}]
  --seeds LIST       one run of every cell per seed (the request sequence and arrivals)  [${D.seeds}]
  --rates W:R1/R2/R3,...   the loads of a workload in req/s (default: ${Object.entries(WORKLOADS).map(([w, x]) => `${w} ${x.rates.join('/')}`).join(', ')})
  --ttft-limit-ms MS the TTFT p90 a load must keep for its output tokens/s to count     [${D.ttftLimitMs}]
  --warmup S --duration S   every workload's warm-up and measured window (0: the workload's own)
  --itl-ms MS        the sims' inter-token latency in every workload (0: the workload's own; a
                     calibration experiment: how long running sequences hold their KV)           [0]
  --workers N --timeout-ms MS --out DIR                                                 [${D.workers} ${D.timeoutMs} perf/results]
  --report A.json B.json ...   no run: one report of the rows of earlier runs' JSON files (rows of
                     one config, workload, load and seed in two files: the later file's)`;

// --itl-ms: the sims' flags and the report's arithmetic both read the workload's own figure.
function overrideItl(ms) {
  if (ms) for (const spec of Object.values(WORKLOADS)) spec.sim.itlMs = ms;
}

function parse(argv) {
  const o = { ...D };
  const keys = { '--configs': 'configs', '--workloads': 'workloads', '--seeds': 'seeds', '--rates': 'rates', '--out': 'out',
    '--workers': 'workers', '--ttft-limit-ms': 'ttftLimitMs', '--timeout-ms': 'timeoutMs', '--warmup': 'warmup', '--duration': 'duration',
    '--itl-ms': 'itlMs' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') { console.log(HELP); process.exit(0); }
    const k = keys[argv[i]];
    if (!k || i + 1 >= argv.length) throw new Error(`${argv[i]}: unknown option or no value (--help)`);
    o[k] = typeof D[k] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  o.configs = list(o.configs);
  // Issue 65's profile names work too: llmd-headline is H, memory-bound M, doe the six DOE.
  const named = { 'LLMD-HEADLINE': ['H'], 'MEMORY-BOUND': ['M'], DOE: Object.keys(WORKLOADS).filter((k) => k.startsWith('DOE')) };
  o.workloads = list(o.workloads).map((w) => w.toUpperCase()).flatMap((w) => named[w] ?? [w]);
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
  if (!(o.warmup >= 0 && o.warmup <= 600 && o.duration >= 0 && o.duration <= 600)) throw new Error('--warmup, --duration: 0..600 s');
  if (!(o.itlMs >= 0 && o.itlMs <= 1000)) throw new Error('--itl-ms: 0..1000');
  overrideItl(o.itlMs);
  return o;
}

const simArgsFor = (o, s) => ['--model', o.model, '--kv-blocks', String(s.kvBlocks), '--block-size', String(o.blockSize),
  '--max-num-seqs', String(s.maxNumSeqs), '--prefill-time-per-token-us', String(s.prefillUs),
  '--inter-token-latency-ms', String(s.itlMs), '--max-model-len', String(s.maxModelLen), ...(s.echo ? ['--mode', 'echo'] : []),
  ...(s.batchedTokens ? ['--max-num-batched-tokens', String(s.batchedTokens)] : []),
  ...(s.cpuBlocks ? ['--kv-transfer-config', JSON.stringify({ kv_connector: 'OffloadingConnector', kv_role: 'kv_both',
    kv_connector_extra_config: { num_cpu_blocks: s.cpuBlocks } }), '--kv-offload-load-time-per-block-us', String(s.offloadUs)] : [])];
const workloadFor = (w, seed) => makeWorkload({ ...WORKLOADS[w].options, kind: WORKLOADS[w].kind, seed, answerTokens: WORKLOADS[w].maxTokens });

// llm-d's precise guide config with its blockSize and hashSeed set to the sims' (the guide:
// "must match vLLM --block-size" and PYTHONHASHSEED).
function precisePickerConfig(o) {
  const guide = readFileSync(PRECISE_PICKER_CONFIG, 'utf8');
  if (!guide.includes('blockSize: 64 ') || !guide.includes('hashSeed: "42"')) throw new Error(`${PRECISE_PICKER_CONFIG}: no blockSize 64 or hashSeed "42"`);
  const text = guide.replace('blockSize: 64 ', `blockSize: ${o.blockSize} `).replace('hashSeed: "42"', 'hashSeed: "0"');
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'llm-d-precise-')), 'picker.yaml');
  writeFileSync(file, text);
  return file;
}

// ringgate's own precise rows: what each sets beside precise mode (sims.mjs preciseConfig).
const RINGGATE_PRECISE = { 'ringgate-precise': {}, 'ringgate-precise-local': { loadSignal: 'local' }, 'ringgate-precise-tierblind': { tierWeights: '{cpu: 0}' } };

async function startProxy(o, config, eps, sims) {
  const workers = ['--workers', String(o.workers)];
  if (config === 'ringgate') return startRinggate(eps, workers);
  if (config in RINGGATE_PRECISE) return startRinggate([], [...workers, '--config', preciseConfig(sims, { blockSize: o.blockSize, ...RINGGATE_PRECISE[config] })]);
  if (config === 'llm-d-precise') {
    return startRinggate([], [...workers, '--config', preciseConfig(sims, { blockSize: o.blockSize, scorer: false }),
      '--config-file', precisePickerConfig(o)]);
  }
  if (config === 'ringgate-nofilter') {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-nofilter-')), 'gateway.yaml');
    writeFileSync(file, 'apiVersion: ringgate.io/v1\nkind: Gateway\nscheduler: {filters: {prefix-cache-affinity: false}}\n');
    return startRinggate(eps, [...workers, '--config', file]);
  }
  if (config === 'llm-d-optimized') return startRinggate(eps, [...workers, '--config-file', PICKER_CONFIG]);
  if (config.startsWith('ringgate@')) return startRinggate(eps, [...workers, '--config', config.slice('ringgate@'.length)]);
  if (config === 'round-robin' || config === 'k8s-service') return startNginx(eps);
  return startHaproxy(eps);
}

// The gateway's own prefix-indexer hit ratio (sum and count of its histogram): what its index
// predicted on the server it picked, against the sims' hit rate (the index's accuracy).
async function predictedHits(proxy) {
  if (!proxy?.adminUrl) return null;
  try {
    const m = await scrapeWithin(proxy.adminUrl);
    const sum = family(m, 'llm_d_epp_prefix_indexer_hit_ratio_sum'), count = family(m, 'llm_d_epp_prefix_indexer_hit_ratio_count');
    return Number.isFinite(sum) && Number.isFinite(count) ? { sum, count } : null;
  } catch { return null; }
}

async function runCell(o, config, w, rate, seed) {
  const spec = WORKLOADS[w];
  const n = simsOf(o, w);
  const sims = PRECISE.has(config) ? await startEventSims(n, simArgsFor(o, spec.sim)) : await startSims(n, simArgsFor(o, spec.sim));
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  let proxy;
  try {
    // The oracle row has no proxy: the client routes each request as oracle.mjs's cache
    // model picks, serving it there in the model too (warm-up and measured alike).
    const oracle = config === 'oracle' && new CacheModel({ servers: n, capacity: spec.sim.kvBlocks, blockTokens: o.blockSize });
    proxy = oracle ? null : await startProxy(o, config, eps, sims);
    if (config.startsWith('ringgate') || config.startsWith('llm-d')) {
      const warned = proxy.stderr().split('\n').filter((l) => /warn/i.test(l));
      if (warned.length) throw new Error(`${config}: the gateway warned at start: ${warned.join(' | ')}`);
    }
    const wl = workloadFor(w, seed);
    const common = { url: proxy?.url ?? sims[0].url, model: o.model, api: spec.api, rate, arrival: 'poisson', maxTokens: spec.maxTokens,
      workloadObj: wl, timeoutMs: o.timeoutMs, records: true,
      ...(oracle ? { route: (req) => sims[oracle.route(simPromptText(req, spec.api))].url } : {}) };
    const win = windowOf(o, w, rate);
    const warm = await runLoad({ ...common, duration: win.warmup, seed: seed + 7919 });
    const before = await Promise.all(sims.map((s) => simCounters(s.url)));
    const predicted0 = await predictedHits(proxy);
    const cpu0 = proxy ? cpuSeconds(proxy.proc.pid) : NaN;
    // KV use and waiting queue, sampled every 2 s over the measured window (mean over the sims).
    const samples = [];
    const sampler = setInterval(() => Promise.all(sims.map((x) => simCounters(x.url))).then((cs) => samples.push(cs), () => {}), 2000);
    const s = await runLoad({ ...common, duration: win.duration, seed }).finally(() => clearInterval(sampler));
    const cpu = proxy ? cpuSeconds(proxy.proc.pid) - cpu0 : NaN;
    const predicted1 = await predictedHits(proxy);
    // Each sim's mean of a sampled gauge, and the pool's (the mean over the sims).
    const bySim = (k) => sims.map((_, i) => samples.reduce((a, cs) => a + cs[i][k], 0) / Math.max(1, samples.length));
    const sampled = (k) => bySim(k).reduce((a, x) => a + x, 0) / n;
    await sleep(300);
    const after = await Promise.all(sims.map((x) => simCounters(x.url)));
    const d = sims.map((_, i) => diff(before[i], after[i]));
    const sum = (k) => d.reduce((a, x) => a + x[k], 0);
    const outputTokens = s.records.reduce((a, r) => a + (r && r.outcome === 'ok' ? r.contentChunks : 0), 0);
    const shares = d.map((x) => x.success / Math.max(1, sum('success')));
    const cpuHits = sum('cpuHits');
    return { config, workload: w, rate, seed, duration: win.duration, warmupSent: warm.sent, warmupFailed: warm.failed, sent: s.sent, ok: s.ok,
      failed: s.failed, outcomes: s.outcomes, ttft: s.ttftMs, lagP99: s.scheduleLagMs.p99,
      outputTokensPerSec: outputTokens / s.wallSeconds, hitRate: sum('hits') / Math.max(1, sum('queries')),
      cpuHitRate: Number.isFinite(cpuHits) ? cpuHits / Math.max(1, sum('queries')) : null,
      predictedHitRate: predicted0 && predicted1 && predicted1.count > predicted0.count
        ? (predicted1.sum - predicted0.sum) / (predicted1.count - predicted0.count) : null,
      kvUse: sampled('kvUse'), waiting: sampled('waiting'),
      maxLoad: Math.max(...shares) * n, cpuMsPerReq: (1000 * cpu) / Math.max(1, s.ok),
      shares, waitingBySim: bySim('waiting') };
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
    const model = bound ? { servers: 1, capacity: Infinity } : { servers: simsOf(o, w), capacity: WORKLOADS[w].sim.kvBlocks };
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
  const out = my + (sxy / sxx) * (1 - hit - mx);
  // A cell that kept up with its load delivered what the pool can: a fit under it bounds
  // nothing (past a knee the saturated cells' output follows their drain, not their misses).
  if (cells.some((c) => !sat.includes(c) && c.outputTokensPerSec > out)) return null;
  return { hit, cells: sat.length, r2, out };
}

// A goodput ratio as printed: `inf` where only the numerator's row kept the limit at some load run
// (the denominator's held none of the loads run: the ladder did not reach low enough to bound it).
const ratioText = (a, b) => (b > 0 ? f(a / b, 2) : a > 0 ? 'inf' : '-');

// A row's cells of one seed, by load.
const rowsOfSeed = (rows, c, seed) => rows.filter((r) => r.config === c && r.seed === seed).sort((a, b) => a.rate - b.rate);

// One line comparing two rows' output within the TTFT limit (goodput) against its bound, or
// none when either row was not run; `inf` when only the first keeps the limit at some load.
function goodputRatioLine(o, rows, seed, [a, b, min, what]) {
  const [ga, gb] = [a, b].map((c) => (rowsOfSeed(rows, c, seed).length ? goodput(o, rowsOfSeed(rows, c, seed)) : NaN));
  if (!Number.isFinite(ga) || !Number.isFinite(gb)) return [];
  const x = ga / gb;
  return [`    ${what}: ${a} ${f(ga, 0)} / ${b} ${f(gb, 0)} tok/s within p90 ≤ ${o.ttftLimitMs} ms = ` +
    `${ratioText(ga, gb)}: ${x >= min ? 'PASS' : 'FAIL'} (≥ ${min})`];
}

// Issue 65's lines on the headline workload, per seed. The prefill arithmetic: a blind
// router's misses are prompt tokens x (1 - its hit rate at its lowest load), and the pool
// prefills N engines x 1e6 / prefill-time-per-token-us tokens a second, so blind placement
// saturates prefill at their quotient, R_p. With KV: prefill at a share u = r / R_p of an
// engine stretches every running decode by 1 / (1 - u) (a chunk's step delays them, as
// vLLM's chunked prefill does), so a blind router's running requests hold
// r x T / (1 - u) x b blocks (T: max_tokens x ITL; b: a prompt's blocks and half its
// output's), and the pool's N x K blocks are full at r = N K / (T b + N K / R_p). The
// collapse is where k8s-service's TTFT p90 crosses the limit, interpolated between the loads
// around it.
function headlineLines(o, rows, bounds) {
  const spec = WORKLOADS.H, out = [];
  const limit = o.ttftLimitMs;
  const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL');
  const rowsOf = (c, seed) => rowsOfSeed(rows, c, seed);
  const ratioLines = (seed) => [['ringgate', 'ringgate-precise', 0.95, 'default vs precise'],
    ['ringgate-precise', 'oracle', 0.95, 'precise vs the oracle row'], ['ringgate', 'llm-d-optimized', 1.15, 'against llm-d'],
    ['ringgate-precise', 'llm-d-precise', 1.0, 'precise against llm-d\'s precise guide']].flatMap((line) => goodputRatioLine(o, rows, seed, line));
  for (const seed of o.seeds) {
    const svc = rowsOf('k8s-service', seed);
    if (!svc.length) {  // the fidelity lines need k8s-service's rows; the ratio lines do not
      out.push(`  seed ${seed}:`, ...ratioLines(seed));
      continue;
    }
    const promptTokens = spec.options.systemTokens + spec.options.questionTokens;
    const predicted = (simsOf(o, 'H') * 1e6 / spec.sim.prefillUs) / (promptTokens * (1 - svc[0].hitRate));
    const over = svc.findIndex((r) => r.ttft.p90 > limit);
    let collapse = null;
    if (over > 0) {
      const a = svc[over - 1], b = svc[over];
      collapse = a.rate + ((limit - a.ttft.p90) / (b.ttft.p90 - a.ttft.p90)) * (b.rate - a.rate);
    }
    const nk = simsOf(o, 'H') * spec.sim.kvBlocks, T = (spec.maxTokens * spec.sim.itlMs) / 1000;
    const b = Math.ceil(promptTokens / o.blockSize) + spec.maxTokens / o.blockSize / 2;
    const withKv = nk / (T * b + nk / predicted);
    out.push(`  seed ${seed}: prefill arithmetic: ${simsOf(o, 'H')} x ${f(1e6 / spec.sim.prefillUs, 0)} tok/s / (${promptTokens} tokens x ` +
      `(1 - k8s-service's hit ${f(svc[0].hitRate, 3)} at ${svc[0].rate} req/s)) = R_p ${f(predicted, 1)} req/s; ` +
      `with the KV its stretched decodes hold: ${f(nk, 0)} / (${f(T, 1)} s x ${f(b, 1)} blocks + ${f(nk, 0)} / R_p) = ${f(withKv, 1)} req/s`);
    const seen = collapse === null ? (over === 0 ? `< ${svc[0].rate}` : `> ${svc.at(-1).rate}`) : f(collapse, 1);
    const within = (x) => verdict(collapse === null ? false : Math.abs(collapse / x - 1) <= 0.25);
    out.push(`    fidelity: k8s-service's TTFT p90 crosses ${limit} ms at ${seen} req/s = ${collapse === null ? '-' : f(collapse / predicted, 2)}x R_p: ` +
      `${within(predicted)} (within ±25%); ${collapse === null ? '-' : f(collapse / withKv, 2)}x the rate with KV: ${within(withKv)}`);
    const rowsRun = o.configs.filter((c) => !['k8s-service', 'round-robin', 'least-conn'].includes(c) && rowsOf(c, seed).length);
    for (const c of rowsRun) {
      const within = rowsOf(c, seed).filter((r) => r.ttft.p90 <= limit && r.failed === 0);
      const top = within.length ? Math.max(...within.map((r) => r.rate)) : 0;
      out.push(`    ${c}: p90 within ${limit} ms up to ${top} req/s = ${f(top / predicted, 2)}x R_p: ${verdict(top >= 2.5 * predicted)} (≥ 2.5x)` +
        (collapse === null ? '' : `; ${f(top / collapse, 2)}x k8s-service's collapse: ${verdict(top >= 2.5 * collapse)}`) +
        (rowsOf(c, seed).length && Math.max(...rowsOf(c, seed).map((r) => r.rate)) === top ? ' (the top load run)' : ''));
    }
    out.push(...ratioLines(seed));
    if (over >= 0) {
      const at = svc[over].rate, p = rowsOf('ringgate-precise', seed).find((r) => r.rate === at);
      if (p) out.push(`    at ${at} req/s (k8s-service past the limit): ringgate-precise p90 ${f(p.ttft.p90, 0)} / k8s-service ${f(svc[over].ttft.p90, 0)} ms = ` +
        `${f(p.ttft.p90 / svc[over].ttft.p90, 3)}: ${verdict(p.ttft.p90 <= 0.05 * svc[over].ttft.p90)} (≤ 0.05)`);
    }
  }
  return out;
}

// Issue 65's lines on `memory-bound` (M), per seed: tier-aware precise scoring against the
// same scorer blind to the CPU tier (a CPU hit scored as a miss), within the TTFT limit and
// load by load; the default (no KV events) against precise.
function memoryBoundLines(o, rows) {
  const out = [];
  for (const seed of o.seeds) {
    out.push(`  seed ${seed}:`, ...goodputRatioLine(o, rows, seed, ['ringgate-precise', 'ringgate-precise-tierblind', 1.15, 'tier-aware vs tier-blind']));
    for (const a of rowsOfSeed(rows, 'ringgate-precise', seed)) {
      const b = rowsOfSeed(rows, 'ringgate-precise-tierblind', seed).find((r) => r.rate === a.rate);
      if (b) out.push(`      at ${a.rate} req/s: out ${f(a.outputTokensPerSec, 0)} / ${f(b.outputTokensPerSec, 0)} tok/s = ` +
        `${f(a.outputTokensPerSec / b.outputTokensPerSec, 2)}, TTFT p90 ${f(a.ttft.p90, 0)} / ${f(b.ttft.p90, 0)} ms, ` +
        `hit GPU ${f(a.hitRate, 3)} / ${f(b.hitRate, 3)}, CPU ${f(a.cpuHitRate, 3)} / ${f(b.cpuHitRate, 3)}`);
    }
    out.push(...goodputRatioLine(o, rows, seed, ['ringgate', 'ringgate-precise', 0.95, 'default vs precise']));
  }
  return out;
}

function report(o, rows, meta) {
  const bounds = new Map();
  const L = [`# llm-d optimized baseline vs ringgate (issue 52) — ${meta.date}`,
    `# machine: ${os.cpus().length} cores, load avg at start ${meta.load}; seeds ${o.seeds.join(',')}; every cell: fresh sims and proxy, warm-up, then the measured window; Poisson arrivals`];
  for (const w of o.workloads) {
    const spec = WORKLOADS[w];
    L.push('', `## workload ${w}: ${simsOf(o, w)} sims ${simArgsFor(o, spec.sim).slice(2).join(' ')}; max_tokens ${spec.maxTokens}; ${o.warmup || WORKLOADS[w].warmup} s warm-up${spec.warmupRequests && !o.warmup ? ` (at least ${spec.warmupRequests} requests)` : ''} + ${windowOf(o, w, 1).duration} s measured`);
    const lines = [['config', 'load', 'req/s sent', 'seeds', 'out tok/s', 'ttft mean', 'p50', 'p90', 'p99', 'p90 worst', 'hit', 'pred hit', 'cpu hit',
      'oracle', 'kv use', 'waiting', 'max/mean', 'fail', 'CPU ms/req']];
    for (const c of o.configs) {
      for (const rate of o.rateOf[w]) {
        const cs = rows.filter((r) => r.config === c && r.workload === w && r.rate === rate);
        if (!cs.length) continue;
        const m = (g) => median(cs.map(g));
        lines.push([c, `${rate}`, f(m(sentPerSec)), cs.length, f(m((r) => r.outputTokensPerSec), 0),
          f(m((r) => r.ttft.mean)), f(m((r) => r.ttft.p50)), f(m((r) => r.ttft.p90)), f(m((r) => r.ttft.p99)), f(Math.max(...cs.map((r) => r.ttft.p90))),
          f(m((r) => r.hitRate), 3), f(m((r) => r.predictedHitRate ?? NaN), 3), f(m((r) => r.cpuHitRate ?? NaN), 3), f(m((r) => r.oracle), 3), f(m((r) => r.kvUse ?? NaN), 2),
          f(m((r) => r.waiting ?? NaN), 1), f(m((r) => r.maxLoad), 2), cs.reduce((a, r) => a + r.failed, 0), f(m((r) => r.cpuMsPerReq), 2)]);
      }
    }
    L.push(...pad(lines));
    // The acceptance lines: ringgate's default against llm-d-optimized, per seed.
    const per = (c) => o.seeds.map((s) => goodput(o, rows.filter((r) => r.config === c && r.workload === w && r.seed === s)));
    if (o.configs.includes('ringgate') && o.configs.includes('llm-d-optimized')) {
      const rg = per('ringgate'), ld = per('llm-d-optimized');
      const ratios = rg.map((x, i) => x / ld[i]);
      const worst = ratios.reduce((w, x, i) => (x < ratios[w] || Number.isNaN(x) ? i : w), 0);
      const min = spec.vsLlmd ?? 1.1;  // issue 52's line; issue 65's on its other profiles
      L.push(`  output tokens/s at TTFT p90 ≤ ${o.ttftLimitMs} ms, per seed: ringgate ${rg.map((x) => f(x, 0)).join(' / ')}, llm-d-optimized ${ld.map((x) => f(x, 0)).join(' / ')}; ` +
        `ratio ${rg.map((x, i) => ratioText(x, ld[i])).join(' / ')} (worst ${ratioText(rg[worst], ld[worst])}): ` +
        `${ratios[worst] >= min ? 'PASS' : 'FAIL'} (≥ ${min})`);
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
        if (q.every(Number.isNaN)) continue;  // not both rows at this load
        L.push(`  TTFT p90 ringgate / llm-d-optimized at ${rate} req/s, per seed: ${q.map((x) => f(x, 2)).join(' / ')}: ${q.every((x) => x <= 1.0) ? 'PASS' : 'FAIL'} (≤ 1.0)`);
      }
    }
    if (w === 'H') L.push(...headlineLines(o, rows.filter((r) => r.workload === w), bounds));
    if (w === 'M') L.push(...memoryBoundLines(o, rows.filter((r) => r.workload === w)));
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
  if (new Set(runs.map((run) => run.options.itlMs ?? 0)).size > 1) throw new Error('--report: runs with different --itl-ms');
  overrideItl(o.itlMs);
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
