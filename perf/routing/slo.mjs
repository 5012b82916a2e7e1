#!/usr/bin/env node
// SLO-aware routing benchmark (issue 35 acceptance): a mixed pool (2 sims at --speed 1,
// 2 at --speed 0.4, interleaved), shared-prefix chats (workload A over the chat API) with
// a TTFT and a TPOT objective, at 70% and 90% of the pool's capacity, behind ringgate
// (today's default scorers), ringgate with SLO headers (the SLO-aware pick), ringgate with
// `scheduler.scorers: {latency: 1, prefix: 3}`, HAProxy leastconn and nginx round-robin.
// Per request: attained = TTFT ≤ objective and TPOT ≤ objective (client-side, streaming).
// The capacity is measured first (closed loop, every slot of every sim busy through
// HAProxy leastconn) unless --capacity is given. Run through perf/routing/slo.sh; --help.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { runLoad, percentiles, tpotOf } from '../loadgen/loadgen.mjs';
import { makeWorkload, simPromptText, WORKLOAD_DEFAULTS as WD } from '../loadgen/workload.mjs';
import { simCounters, diff, binaries } from './sims.mjs';
import { startNginx, startHaproxy, startRinggate, sleep } from './proxies.mjs';
import { stop as stopProc, startSim } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const HERE = import.meta.dirname;
export const SLO_HEADERS = { ttft: 'x-llm-d-slo-ttft-ms', tpot: 'x-llm-d-slo-tpot-ms' };
const ALL_CONFIGS = ['ringgate', 'ringgate-slo', 'ringgate-slo-most', 'ringgate-latency', 'haproxy-lc', 'nginx-rr'];
// The rows that send the SLO headers (the SLO-aware pick with llm-d's two headroom strategies).
const SLO_ROWS = ['ringgate-slo', 'ringgate-slo-most'];
const D = {
  loads: '0.7,0.9', capacity: 0, capacityBasis: 'pool', capacityWarmup: 10, capacitySeconds: 15, capacityOnly: false,
  duration: 25, warmup: 10, speeds: '1,0.4,1,0.4', kvBlocks: 4000, blockSize: 16, maxNumSeqs: 8,
  prefillUs: 150, overheadMs: 10, itlMs: 20, maxTokens: 32, maxModelLen: 4096, ttftSlo: 300, tpotSlo: 40,
  seed: 1, workers: 2, arrival: 'poisson', configs: ALL_CONFIGS.join(','), model: 'facebook/opt-125m',
  ringgateArgs: process.env.RINGGATE_ARGS ?? '', sloArgs: process.env.RINGGATE_SLO_ARGS ?? '',
  latencyScorers: '{latency: 1, prefix: 3}', headersAll: false, simArgs: '', out: path.resolve(HERE, '../results'),
  timeoutMs: 60000,
};
const HELP = `usage: perf/routing/slo.sh [options]     (bounded; loopback only)
  --loads LIST               fractions of the pool's capacity, one table block each      [${D.loads}]
  --capacity R               the pool's capacity in req/s (skips the measurement)         [measured]
  --capacity-basis pool|fast  what the loads are fractions of: the whole pool's measured
                             throughput at saturation, or the fast sims' part of it (the most
                             any router can serve within the TPOT objective)              [${D.capacityBasis}]
  --capacity-warmup S --capacity-seconds S   the measurement: closed loop, concurrency = every
                             slot of every sim, through HAProxy leastconn                 [${D.capacityWarmup} ${D.capacitySeconds}]
  --capacity-only            measure (or compute) the capacity, print it, stop
  --duration S --warmup S    per cell: S s of warm-up (same workload, same proxy, not measured),
                             then S s measured; Poisson arrivals at load × capacity       [${D.duration} ${D.warmup}]
  --arrival poisson|uniform                                                             [${D.arrival}]
  --speeds LIST              one ringgate-sim --speed per sim                             [${D.speeds}]
  --kv-blocks N --block-size N --max-num-seqs N --max-model-len N                        [${D.kvBlocks} ${D.blockSize} ${D.maxNumSeqs} ${D.maxModelLen}]
  --prefill-us US --overhead-ms MS --itl-ms MS   sim latency flags (divided by --speed)  [${D.prefillUs} ${D.overheadMs} ${D.itlMs}]
  --max-tokens N             output tokens per request (exactly, random mode)            [${D.maxTokens}]
  --ttft-slo MS --tpot-slo MS   the objectives, sent as ${SLO_HEADERS.ttft} / ${SLO_HEADERS.tpot}   [${D.ttftSlo} ${D.tpotSlo}]
  --configs LIST             of ${ALL_CONFIGS.join(',')}   [all]
  --headers-all              send the SLO headers on every row (default: the ringgate-slo rows only, so
                             that the ringgate row stays today's default scorers once the
                             gateway honours them; the requests are otherwise identical)
  --ringgate-args "..."      extra flags for every ringgate row                    (env RINGGATE_ARGS)
  --slo-args "..."           extra flags for the ringgate-slo rows (e.g. a --config that turns
                             the SLO pick on, if it needs one)                     (env RINGGATE_SLO_ARGS)
  --latency-scorers MAP      scheduler.scorers of the ringgate-latency row         [${D.latencyScorers}]
  --workers N --seed N --sim-args "..." --timeout-ms MS --out DIR                 [${D.workers} ${D.seed} "" ${D.timeoutMs} perf/results]`;

function parse(argv) {
  const o = { ...D };
  const nums = { '--capacity': 'capacity', '--capacity-warmup': 'capacityWarmup', '--capacity-seconds': 'capacitySeconds',
    '--duration': 'duration', '--warmup': 'warmup', '--kv-blocks': 'kvBlocks', '--block-size': 'blockSize',
    '--max-num-seqs': 'maxNumSeqs', '--prefill-us': 'prefillUs', '--overhead-ms': 'overheadMs', '--itl-ms': 'itlMs',
    '--max-tokens': 'maxTokens', '--max-model-len': 'maxModelLen', '--ttft-slo': 'ttftSlo', '--tpot-slo': 'tpotSlo',
    '--seed': 'seed', '--workers': 'workers', '--timeout-ms': 'timeoutMs' };
  const strs = { '--loads': 'loads', '--speeds': 'speeds', '--arrival': 'arrival', '--configs': 'configs', '--model': 'model',
    '--ringgate-args': 'ringgateArgs', '--slo-args': 'sloArgs', '--latency-scorers': 'latencyScorers', '--sim-args': 'simArgs',
    '--out': 'out', '--capacity-basis': 'capacityBasis' };
  const flags = { '--headers-all': 'headersAll', '--capacity-only': 'capacityOnly' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (flags[a]) { o[flags[a]] = true; continue; }
    if (i + 1 >= argv.length) throw new Error(`${a}: needs a value`);
    if (nums[a]) { o[nums[a]] = Number(argv[++i]); if (!Number.isFinite(o[nums[a]])) throw new Error(`${a}: not a number`); }
    else if (strs[a]) o[strs[a]] = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  o.loadList = o.loads.split(',').map(Number);
  o.speedList = o.speeds.split(',').map(Number);
  o.configList = o.configs.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of o.configList) if (!ALL_CONFIGS.includes(c)) throw new Error(`unknown config ${c}`);
  if (o.loadList.some((x) => !(x > 0 && x <= 1.5))) throw new Error('--loads: fractions in (0, 1.5]');
  if (o.speedList.some((x) => !(x >= 0.01 && x <= 100))) throw new Error('--speeds: 0.01..100 each');
  if (o.duration > 120 || o.warmup > 120 || o.capacitySeconds > 60) throw new Error('keep it bounded: --duration, --warmup ≤ 120, --capacity-seconds ≤ 60');
  if (o.maxTokens < 2) throw new Error('--max-tokens ≥ 2 (TPOT needs two tokens)');
  if (!['pool', 'fast'].includes(o.capacityBasis)) throw new Error('--capacity-basis pool|fast');
  if (!['poisson', 'uniform'].includes(o.arrival)) throw new Error('--arrival poisson|uniform');
  return o;
}

const words = (s) => s.split(/\s+/).filter(Boolean);
const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const pct = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : (100 * x).toFixed(1));

const simArgsFor = (o) => ['--model', o.model, '--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize),
  '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
  '--prefill-overhead-ms', String(o.overheadMs), '--inter-token-latency-ms', String(o.itlMs),
  '--max-model-len', String(o.maxModelLen), ...words(o.simArgs)];
const startPool = (o) => Promise.all(o.speedList.map((sp) => startSim([...simArgsFor(o), '--speed', String(sp)])));
const workloadFor = (o) => makeWorkload({ kind: 'A', seed: o.seed });
const isSlow = (o, i) => o.speedList[i] < Math.max(...o.speedList);

// Capacity from the sim flags, for a pool whose every request hits the prefix cache on
// its system prompt: each sim holds max-num-seqs sequences, each for
// (overhead + uncached tokens × prefill + max-tokens × ITL) / speed. Left out: misses,
// the prefill lane's stall of running decodes, HTTP time. Mean uncached tokens from the
// workload itself (the chat text the sim counts, less the system prompt's full blocks).
export function computedCapacity(o) {
  const wl = workloadFor(o);
  let uncached = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const r = wl.next();
    const tokens = Math.ceil(Buffer.byteLength(simPromptText(r, 'chat')) / 4);
    const shared = Math.floor(Buffer.byteLength(`system: ${r.system}\n`) / 4);
    const cachedBlocks = Math.min(Math.floor(shared / o.blockSize), Math.floor((tokens - 1) / o.blockSize));
    uncached += tokens - cachedBlocks * o.blockSize;
  }
  uncached /= n;
  const residenceMs = o.speedList.map((sp) => (o.overheadMs + uncached * o.prefillUs / 1000 + o.maxTokens * o.itlMs) / sp);
  const perSim = residenceMs.map((r) => (o.maxNumSeqs * 1000) / r);
  return { uncachedTokens: uncached, residenceMs, perSim, total: perSim.reduce((a, b) => a + b, 0) };
}

// Per-request SLO view of a run's records (all sent requests; a failed one attains nothing).
function sloStats(o, records, speedOf) {
  const ttft = [], tpot = [], byPair = { fast: { n: 0, met: 0, tpot: [] }, slow: { n: 0, met: 0, tpot: [] } };
  let met = 0, ttftOk = 0, tpotOk = 0, sent = 0;
  for (const r of records) {
    if (!r) continue;
    sent++;
    if (r.outcome !== 'ok' || !r.stream || r.tFirstContent < 0) continue;
    const t1 = r.tFirstContent, tp = tpotOf(r);
    ttft.push(t1);
    if (tp !== null) tpot.push(tp);
    const a = t1 <= o.ttftSlo, b = tp !== null && tp <= o.tpotSlo;
    if (a) ttftOk++;
    if (b) tpotOk++;
    if (a && b) met++;
    const sp = speedOf(r.dest);
    if (sp !== undefined) {
      const p = byPair[sp < Math.max(...o.speedList) ? 'slow' : 'fast'];
      p.n++; if (a && b) p.met++; if (tp !== null) p.tpot.push(tp);
    }
  }
  return {
    sent, attainment: sent ? met / sent : NaN, ttftOk: sent ? ttftOk / sent : NaN, tpotOk: sent ? tpotOk / sent : NaN,
    ttft: percentiles(ttft), tpot: percentiles(tpot),
    pairs: Object.fromEntries(Object.entries(byPair).map(([k, v]) => [k, { n: v.n, attainment: v.n ? v.met / v.n : NaN, tpot: percentiles(v.tpot) }])),
  };
}

function speedLookup(o, eps) {
  const m = new Map(eps.map((e, i) => [e, o.speedList[i]]));
  return (dest) => (dest ? m.get(dest) : undefined);
}

async function measureCapacity(o) {
  const sims = await startPool(o);
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  const proxy = await startHaproxy(eps);
  try {
    const concurrency = o.speedList.length * o.maxNumSeqs;
    const common = { url: proxy.url, model: o.model, api: 'chat', concurrency, streamFraction: 1, maxTokens: o.maxTokens,
      workloadObj: workloadFor(o), timeoutMs: o.timeoutMs };
    await runLoad({ ...common, duration: o.capacityWarmup, seed: o.seed + 104729 });
    const s = await runLoad({ ...common, duration: o.capacitySeconds, seed: o.seed, records: true });
    // Completions inside the sending window only (the drain at the end is not at full concurrency).
    const win = o.capacitySeconds * 1000;
    const done = s.records.filter((r) => r && r.outcome === 'ok' && r.tStart + r.tEnd <= win).length;
    const speedOf = speedLookup(o, eps);
    const slo = sloStats(o, s.records, speedOf);
    const fastMax = Math.max(...o.speedList);
    const fastDone = s.records.filter((r) => r && r.outcome === 'ok' && r.tStart + r.tEnd <= win && speedOf(r.dest) === fastMax).length;
    return { rps: done / o.capacitySeconds, fastRps: fastDone / o.capacitySeconds, sent: s.sent, failed: s.failed, slo, concurrency };
  } finally {
    await proxy.stop().catch(() => {});
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

// A row's config file: the same static pool, and its `scheduler:` fields (the
// ringgate-latency row: the issue's scorer map; ringgate-slo-most: the headroom strategy).
function gatewayConfig(eps, scheduler) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-slo-')), 'gateway.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${eps.map((e) => `"${e}"`).join(', ')}]}}
scheduler:
  ${scheduler}
`);
  return file;
}
const ROW_SCHEDULER = {
  'ringgate-latency': (o) => `scorers: ${o.latencyScorers}`,
  'ringgate-slo-most': () => 'headroomSelectionStrategy: most',
};
function checkConfig(file) {
  try {
    const out = execFileSync(binaries.ringgate, ['--check-config', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
    return { ok: true, text: out };
  } catch (e) { return { ok: false, text: `${e.stdout || ''}${e.stderr || ''}`.trim() || e.message }; }
}

// Every object in /debug/endpoints' JSON that looks like sched::LatencyModel::append_json's
// {"ttft":{…"relative_mean_abs_error"…},"tpot":{…}}, with the endpoint it sits under.
export function latencyErrors(debug) {
  const found = [];
  const isFit = (x) => x && typeof x === 'object' && typeof x.relative_mean_abs_error === 'number';
  const visit = (x, where, depth) => {
    if (!x || typeof x !== 'object' || depth > 6) return;
    if (isFit(x.ttft) || isFit(x.tpot)) { found.push({ where, ttft: x.ttft, tpot: x.tpot }); return; }
    if (Array.isArray(x)) { for (const y of x) visit(y, where, depth + 1); return; }
    const name = typeof x.address === 'string' ? x.address : typeof x.endpoint === 'string' ? x.endpoint : where;
    for (const [k, v] of Object.entries(x)) visit(v, name ?? k, depth + 1);
  };
  visit(debug?.endpoints, null, 0);
  for (const [k, v] of Object.entries(debug ?? {})) if (k !== 'endpoints') visit(v, `(${k})`, 1);
  return found;
}

// Does the binary know the SLO headers at all? (A gateway that does not cannot honour them.)
function binaryMentions(bin, text) {
  try { return readFileSync(bin).includes(Buffer.from(text)); } catch { return false; }
}

async function runCell(o, config, load, rate, notes) {
  const sims = await startPool(o);
  const eps = sims.map((s) => `127.0.0.1:${s.port}`);
  const row = { config, label: config, load, rate, star: '', eps };
  let proxy;
  try {
    const extra = ['--workers', String(o.workers), ...words(o.ringgateArgs)];
    if (config === 'nginx-rr') proxy = await startNginx(eps);
    else if (config === 'haproxy-lc') proxy = await startHaproxy(eps);
    else if (config === 'ringgate') proxy = await startRinggate(eps, extra);
    else if (config === 'ringgate-slo') proxy = await startRinggate(eps, [...extra, ...words(o.sloArgs)]);
    else if (ROW_SCHEDULER[config]) {
      const fields = ROW_SCHEDULER[config](o);
      const file = gatewayConfig(eps, fields);
      const check = checkConfig(file);
      if (!check.ok) {
        row.star = '*';
        row.skipped = `the gateway refuses scheduler ${fields}: ${check.text.split('\n')[0].replace(/^\S*gateway\.yaml:/, 'line ')}`;
        return row;
      }
      const rowArgs = config === 'ringgate-slo-most' ? words(o.sloArgs) : [];
      try { proxy = await startRinggate([], [...extra, ...rowArgs, '--config', file]); } catch (e) {
        row.star = '*';
        row.skipped = `the gateway did not start with scheduler ${fields}: ${String(e.message).slice(0, 300)}`;
        return row;
      }
    }
    const headers = (SLO_ROWS.includes(config) || o.headersAll)
      ? { [SLO_HEADERS.ttft]: String(o.ttftSlo), [SLO_HEADERS.tpot]: String(o.tpotSlo) } : {};
    row.headers = Object.keys(headers).length > 0;
    const wl = workloadFor(o);
    const common = { url: proxy.url, model: o.model, api: 'chat', rate, arrival: o.arrival, streamFraction: 1,
      maxTokens: o.maxTokens, workloadObj: wl, timeoutMs: o.timeoutMs, headers };
    let warm = { sent: 0, failed: 0 };
    if (o.warmup > 0) warm = await runLoad({ ...common, duration: o.warmup, seed: o.seed + 7919 });
    const before = await Promise.all(sims.map((s) => simCounters(s.url)));
    const cpu0 = cpuSeconds(proxy.proc.pid);
    const s = await runLoad({ ...common, duration: o.duration, seed: o.seed, records: true });
    const proxyCpu = cpuSeconds(proxy.proc.pid) - cpu0;
    await sleep(300);
    const after = await Promise.all(sims.map((x) => simCounters(x.url)));
    const d = sims.map((_, i) => diff(before[i], after[i]));
    const success = d.reduce((a, x) => a + x.success, 0);
    const slowShare = success ? d.reduce((a, x, i) => a + (isSlow(o, i) ? x.success : 0), 0) / success : NaN;
    if (config.startsWith('ringgate')) {
      try {
        const r = await fetch(`${proxy.adminUrl}/debug/endpoints`);
        row.debugStatus = r.status;
        if (r.ok) row.model = latencyErrors(await r.json());
      } catch (e) { row.debugError = e.message; }
      // Today's gateway cannot honour headers it has never heard of: the row is its defaults.
      if (SLO_ROWS.includes(config) && !binaryMentions(binaries.ringgate, SLO_HEADERS.ttft)) {
        row.star = '*';
        notes.push(`${config}*: the ringgate binary does not contain "${SLO_HEADERS.ttft}": it ignores the SLO headers, so this row ran today's default scorers`);
      }
      const warnings = proxy.stderr().split('\n').filter((l) => /latency/i.test(l) && /warn|ignor|unknown/i.test(l));
      if (config === 'ringgate-latency' && warnings.length) {
        row.star = '*';
        notes.push(`ringgate-latency*: the gateway warned: ${warnings[0].slice(0, 300)}`);
      }
    }
    if (proxy.proc.exitCode !== null || proxy.proc.signalCode !== null) notes.push(`${config}@${load}: proxy exited during the run: ${proxy.stderr().slice(-400)}`);
    const slo = sloStats(o, s.records, speedLookup(o, eps));
    Object.assign(row, {
      warmupSent: warm.sent, warmupFailed: warm.failed, sent: s.sent, ok: s.ok, failed: s.failed, outcomes: s.outcomes,
      rps: s.achievedRps, offered: s.offeredRps, lagP99: s.scheduleLagMs.p99, slo, slowShare,
      shares: d.map((x) => (success ? x.success / success : 0)),
      cpuMsPerReq: s.ok ? (1000 * proxyCpu) / s.ok : NaN, proxyCpuPerSec: proxyCpu / s.wallSeconds,
    });
    return row;
  } finally {
    if (proxy) await proxy.stop().catch(() => {});
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

function table(o, cap, rows, notes, meta) {
  const L = [];
  L.push(`# ringgate SLO-aware routing benchmark (issue 35) — ${meta.date}`);
  L.push(`# machine: ${os.cpus().length} cores (shared; figures are noisy), load avg at start ${meta.load}`);
  L.push(`# pool: ${o.speedList.length} × ringgate-sim --speed ${o.speeds} (in that order) --max-num-seqs ${o.maxNumSeqs} --kv-blocks ${o.kvBlocks} --block-size ${o.blockSize} ` +
    `--prefill-time-per-token-us ${o.prefillUs} --prefill-overhead-ms ${o.overheadMs} --inter-token-latency-ms ${o.itlMs} --max-model-len ${o.maxModelLen} ${o.simArgs}`);
  L.push(`# workload: shared-prefix chats (A over /v1/chat/completions: ${WD.prompts} system prompts ${WD.minBytes}–${WD.maxBytes} B, Zipf s=${WD.zipf}, unique user turn), ` +
    `streaming, max_tokens ${o.maxTokens}, ${o.arrival} arrivals, seed ${o.seed}; objectives TTFT ≤ ${o.ttftSlo} ms and TPOT ≤ ${o.tpotSlo} ms ` +
    `(headers ${SLO_HEADERS.ttft} / ${SLO_HEADERS.tpot} sent ${o.headersAll ? 'on every row' : 'on the ringgate-slo rows only'})`);
  L.push(`# capacity: ${cap.source}; computed from the flags ${f(cap.computed.total)} req/s ` +
    `(${cap.computed.perSim.map((x) => f(x)).join(' + ')}; residence ${cap.computed.residenceMs.map((x) => f(x, 0)).join('/')} ms, ${f(cap.computed.uncachedTokens, 0)} uncached tokens a hit)`);
  if (cap.measured) {
    const p = cap.measured.slo.pairs;
    L.push(`#   measured at full concurrency (${cap.measured.concurrency}): ${f(cap.measured.rps)} req/s; fast pair TTFT p50 ${f(cap.measured.slo.ttft.p50)} ms, ` +
      `TPOT p50/p99 fast ${f(p.fast.tpot.p50)}/${f(p.fast.tpot.p99)} ms, slow ${f(p.slow.tpot.p50)}/${f(p.slow.tpot.p99)} ms`);
    L.push(`#   the fast sims alone completed ${f(cap.measured.fastRps)} req/s of it: at a rate R, at most ${f(cap.measured.fastRps)} / R of the requests ` +
      `can meet the TPOT objective (${o.loadList.map((x) => `${Math.round(x * 100)}%: ${pct(Math.min(1, cap.measured.fastRps / (x * cap.rps)))}%`).join(', ')}), ` +
      'and fewer at TTFT ≤ objective (the fast sims would queue)');
  }
  L.push(`# every cell: fresh (cold) sims and proxy, ${o.warmup} s warm-up (same rate, continuing request sequence, not measured), ${o.duration} s measured`);
  L.push('');
  const hdr = ['config', 'load', 'rate', 'sent', 'fail', 'hdr', 'attain%', 'TTFT ok%', 'TPOT ok%', 'TTFT p50', 'TTFT p99', 'TPOT p50', 'TPOT p99',
    'req/s', 'slow%', 'att fast%', 'CPU ms/req'];
  const lines = [hdr];
  for (const r of rows) {
    const name = r.label + r.star;
    if (r.skipped) { lines.push([name, `${Math.round(r.load * 100)}%`, f(r.rate), '-', '-', '-', 'not run', '', '', '', '', '', '', '', '', '', '']); continue; }
    lines.push([name, `${Math.round(r.load * 100)}%`, f(r.rate), r.sent, r.failed, r.headers ? 'SLO' : '-',
      pct(r.slo.attainment), pct(r.slo.ttftOk), pct(r.slo.tpotOk), f(r.slo.ttft.p50), f(r.slo.ttft.p99), f(r.slo.tpot.p50), f(r.slo.tpot.p99),
      f(r.rps), pct(r.slowShare), pct(r.slo.pairs.fast.attainment), f(r.cpuMsPerReq, 3)]);
  }
  const w = hdr.map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  for (const l of lines) L.push(l.map((x, c) => (c < 1 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
  L.push('');
  L.push(`attain% = requests with TTFT ≤ ${o.ttftSlo} ms and TPOT ≤ ${o.tpotSlo} ms / requests sent (a failed request attains nothing); TTFT = first chunk with text,`);
  L.push('TPOT = (last content chunk − first) / (content chunks − 1), both client-side, ms; p50/p99 over OK streams; req/s = OK / wall time;');
  L.push('slow% = the slow sims\' share of Δvllm:request_success_total; att fast% = attainment of the requests the fast sims served');
  L.push('(x-gateway-destination-endpoint); CPU ms/req = the proxy process\'s user+system CPU over the measured window / OK requests;');
  L.push('hdr = SLO headers sent; * = the row is not what its name says on this binary (see Notes).');

  // Latency model (ringgate rows): /debug/endpoints at the end of the measured window.
  L.push('');
  L.push('Latency model, relative mean absolute error (mean |error| / latency) [and normalized: mean |error| / mean latency] at the end of');
  L.push('each ringgate row (/debug/endpoints; EWMAs of the last ~20 predictions each fit made once it had the 20 samples to be used: "scored"):');
  for (const r of rows.filter((x) => x.config.startsWith('ringgate') && !x.skipped)) {
    const head = `  ${r.label}${r.star} @${Math.round(r.load * 100)}%:`;
    if (!r.model || !r.model.length) {
      L.push(`${head} n/a (${r.debugStatus ? `/debug/endpoints ${r.debugStatus}, no latency fields` : r.debugError ?? 'no answer'})`);
      continue;
    }
    const label = (where) => { const i = r.eps.indexOf(where); return i >= 0 ? `${where} (speed ${o.speedList[i]})` : where; };
    const err = (fit) => `${f(fit.relative_mean_abs_error, 3)}${typeof fit.normalized_mean_abs_error === 'number' ? ` [${f(fit.normalized_mean_abs_error, 3)}]` : ''}`;
    const scored = (fit) => (typeof fit.error_samples === 'number' ? `, ${fit.error_samples} scored` : '');
    L.push(`${head} ${r.model.map((m) => `${label(m.where)}: TTFT ${m.ttft ? `${err(m.ttft)} (${m.ttft.source ?? '?'}, ${m.ttft.samples ?? '?'} samples${scored(m.ttft)})` : 'n/a'}, ` +
      `TPOT ${m.tpot ? `${err(m.tpot)} (${m.tpot.source ?? '?'}, ${m.tpot.samples ?? '?'}${scored(m.tpot)})` : 'n/a'}`).join('; ')}`);
  }

  // Goals (issue 35), at the load closest to 90%.
  const target = o.loadList.reduce((a, b) => (Math.abs(b - 0.9) < Math.abs(a - 0.9) ? b : a));
  const at = (c) => rows.find((r) => r.config === c && r.load === target && !r.skipped);
  const verdict = (name, ok, detail) => L.push(`  ${ok === null ? 'N/A ' : ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  L.push('');
  L.push(`Goals (issue 35), at ${Math.round(target * 100)}% of capacity${o.capacityBasis === 'fast' ? ' (the fast sims\' part: --capacity-basis fast)' : ''}:`);
  const base = at('ringgate'), lat = at('ringgate-latency');
  const sloRows = SLO_ROWS.map(at).filter(Boolean);
  const latRow = rows.find((r) => r.config === 'ringgate-latency' && r.load === target);
  if (base && sloRows.length) {
    for (const slo of sloRows)
      verdict(`with SLO headers (${slo.label}), attainment ≥ 1.3 × today's default scorers'`, slo.slo.attainment >= 1.3 * base.slo.attainment,
        `${pct(slo.slo.attainment)}% vs ${pct(base.slo.attainment)}% (${f(slo.slo.attainment / base.slo.attainment, 2)}×)${slo.star ? ` [${slo.label}*]` : ''}`);
  } else verdict('with SLO headers, attainment ≥ 1.3 × default', null, 'ringgate and ringgate-slo rows needed');
  if (base && lat) {
    verdict(`without headers, ${o.latencyScorers} TTFT p99 ≤ 0.7 × default`, lat.slo.ttft.p99 <= 0.7 * base.slo.ttft.p99,
      `${f(lat.slo.ttft.p99)} vs ${f(base.slo.ttft.p99)} ms (${f(lat.slo.ttft.p99 / base.slo.ttft.p99, 2)}×)${lat.star ? ' [ringgate-latency*]' : ''}`);
  } else verdict(`without headers, ${o.latencyScorers} TTFT p99 ≤ 0.7 × default`, latRow?.skipped ? false : null,
    latRow?.skipped ? 'ringgate-latency* not run (see Notes)' : 'ringgate and ringgate-latency rows needed');
  for (const r of [...sloRows, lat].filter(Boolean)) {
    const fits = (r.model ?? []).filter((m) => m.where && !String(m.where).startsWith('('));
    if (!fits.length) { verdict(`${r.label} predictions within 20% relative MAE after warm-up`, null, 'n/a (no latency model errors in /debug/endpoints)'); continue; }
    // A fit that has scored no prediction (error_samples 0: it never had the samples to be
    // used; the pool's fit predicted for its endpoint) has no error to judge.
    const inUse = (fit) => fit && fit.error_samples !== 0;
    const worstOf = (key) => Math.max(...fits.flatMap((m) => [m.ttft, m.tpot].filter(inUse).map((fit) => fit[key]).filter((x) => typeof x === 'number')));
    const worst = worstOf('relative_mean_abs_error');
    verdict(`${r.label} predictions within 20% relative MAE after warm-up (every endpoint, TTFT and TPOT)`, worst <= 0.2, `worst ${f(worst, 3)}`);
    const worstNorm = worstOf('normalized_mean_abs_error');
    if (Number.isFinite(worstNorm))
      verdict(`${r.label} predictions within 20% MAE / mean latency after warm-up (the same, normalized by the mean)`, worstNorm <= 0.2, `worst ${f(worstNorm, 3)}`);
  }
  for (const r of rows.filter((x) => !x.skipped)) {
    if (r.failed) notes.push(`${r.config}@${r.load}: outcomes ${JSON.stringify(r.outcomes)}`);
    if (r.warmupFailed) notes.push(`${r.config}@${r.load}: ${r.warmupFailed} requests failed during the warm-up`);
    if (r.lagP99 > 50) notes.push(`${r.config}@${r.load}: the load client fell behind its schedule (p99 lag ${r.lagP99} ms): the machine is saturated`);
  }
  for (const r of rows.filter((x) => x.skipped)) notes.push(`${r.label}${r.star}: ${r.skipped}`);
  if (notes.length) { L.push(''); L.push('Notes:'); for (const n of [...new Set(notes)]) L.push(`  - ${n}`); }
  return L.join('\n');
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (!existsSync(binaries.sim)) throw new Error(`no ringgate-sim at ${binaries.sim} (build first, or set RINGGATE_BUILD_DIR)`);
  const notes = [];
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const cap = { computed: computedCapacity(o) };
  if (o.capacity > 0) { cap.rps = o.capacity; cap.source = `${f(o.capacity)} req/s (--capacity)`; }
  else {
    process.stderr.write(`[slo] measuring capacity: closed loop, ${o.speedList.length * o.maxNumSeqs} at once through HAProxy leastconn, ${o.capacityWarmup} + ${o.capacitySeconds} s ... `);
    cap.measured = await measureCapacity(o);
    cap.rps = o.capacityBasis === 'fast' ? cap.measured.fastRps : cap.measured.rps;
    cap.source = o.capacityBasis === 'fast' ? `${f(cap.rps)} req/s measured, the fast sims' part (--capacity-basis fast)` : `${f(cap.rps)} req/s measured`;
    process.stderr.write(`${f(cap.rps)} req/s (computed ${f(cap.computed.total)})\n`);
  }
  if (o.capacityOnly) {
    console.log(JSON.stringify({ capacity: cap.rps, computed: cap.computed, measured: cap.measured ? { ...cap.measured } : undefined }, null, 1));
    return;
  }
  let configs = o.configList;
  if (configs.some((c) => c.startsWith('ringgate')) && !existsSync(binaries.ringgate)) {
    notes.push(`no ringgate binary at ${binaries.ringgate}: ringgate rows skipped`);
    configs = configs.filter((c) => !c.startsWith('ringgate'));
  }
  const rows = [];
  for (const load of o.loadList) {
    const rate = Math.round(load * cap.rps * 10) / 10;
    for (const c of configs) {
      process.stderr.write(`[slo] ${c} @ ${Math.round(load * 100)}% = ${rate} req/s × ${o.duration} s ... `);
      const r = await runCell(o, c, load, rate, notes);
      rows.push(r);
      if (r.skipped) process.stderr.write(`not run: ${r.skipped}\n`);
      else process.stderr.write(`sent ${r.sent}, failed ${r.failed}, attainment ${pct(r.slo.attainment)}%, TTFT p99 ${f(r.slo.ttft.p99)} ms, TPOT p99 ${f(r.slo.tpot.p99)} ms, slow ${pct(r.slowShare)}%\n`);
    }
  }
  const text = table(o, cap, rows, notes, meta);
  console.log(text);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, '');
  writeFileSync(path.join(o.out, `slo-${stamp}.txt`), text + '\n');
  writeFileSync(path.join(o.out, `slo-${stamp}.json`), JSON.stringify({ options: o, meta, capacity: cap, rows }, null, 1));
  console.log(`\n(written to ${path.join(o.out, `slo-${stamp}.txt`)} and .json)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(() => process.exit(0), (e) => { console.error(`slo: ${e.stack || e.message}`); process.exit(1); });
}
