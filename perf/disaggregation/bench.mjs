#!/usr/bin/env node
// Prefill/decode disaggregation benchmark (issue 31): the same open-loop mixed traffic
// (20% ~8k-token uncached prompts, 80% ~100-token chats under one shared system prompt,
// all streamed) at the same rate against the same 4 ringgate-sims behind ringgate, once
// split 2 prefill / 2 decode (disaggregation on) and once all `both` (no
// disaggregation). Reports TTFT and time per output token per class, the ratios
// split/mixed, the goals, and the gateway's P/D decision counters.
// Run through perf/disaggregation/run.sh; --help for options. Loopback only; every
// process started here is killed when this process exits (tests/lib/procs.mjs).
import http from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape, stop as stopProc, binaries } from '../../tests/lib/procs.mjs';
import { rng32, subSeed } from '../loadgen/workload.mjs';
import { percentiles } from '../loadgen/loadgen.mjs';

const HERE = import.meta.dirname;
const envNum = (name, dflt) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : dflt);
const D = {
  rate: envNum('RATE', 6), duration: envNum('DURATION', 60), seed: envNum('SEED', 1),
  longFraction: 0.2, longTokens: 8000, shortTokens: 100, minOut: 64, maxOut: 128,
  sims: 4, prefillSims: 2, prefillUs: 80, itlMs: 15, batchedTokens: 2048, kvTransferUs: 10,
  kvBlocks: 8192, blockSize: 16, maxModelLen: 10000, maxNumSeqs: 64,
  nonCachedTokens: 512, workers: 2, timeoutMs: 60000, setups: 'split,mixed',
  model: 'facebook/opt-125m', simArgs: '', out: path.resolve(HERE, '../results'),
};
const HELP = `usage: perf/disaggregation/run.sh [options]        (bounded; loopback only)
  --rate R --duration S       open-loop Poisson arrivals, per setup (env RATE, DURATION)  [${D.rate} ${D.duration}]
  --seed N                    request sequence (the same in every setup) (env SEED)       [${D.seed}]
  --long-fraction F           share of long prompts                                        [${D.longFraction}]
  --long-tokens N --short-tokens N   prompt sizes (the sim counts 4 bytes a token)         [${D.longTokens} ${D.shortTokens}]
  --min-out N --max-out N     output tokens, uniform per request                           [${D.minOut} ${D.maxOut}]
  --sims N --prefill-sims N   pool size; the split setup's prefill pods (the rest decode)  [${D.sims} ${D.prefillSims}]
  --prefill-us US --itl-ms MS --batched-tokens N --kv-transfer-us US                       [${D.prefillUs} ${D.itlMs} ${D.batchedTokens} ${D.kvTransferUs}]
  --kv-blocks N --max-model-len N --max-num-seqs N                                         [${D.kvBlocks} ${D.maxModelLen} ${D.maxNumSeqs}]
  --non-cached-tokens N       disaggregation.nonCachedTokens of the split setup            [${D.nonCachedTokens}]
  --workers N                 ringgate worker threads                                      [${D.workers}]
  --setups LIST               of split,mixed                                               [${D.setups}]
  --sim-args "..."            extra ringgate-sim flags
  --out DIR                   where the table and JSON go                                  [perf/results]`;

function parse(argv) {
  const o = { ...D };
  const nums = { '--rate': 'rate', '--duration': 'duration', '--seed': 'seed', '--long-fraction': 'longFraction',
    '--long-tokens': 'longTokens', '--short-tokens': 'shortTokens', '--min-out': 'minOut', '--max-out': 'maxOut',
    '--sims': 'sims', '--prefill-sims': 'prefillSims', '--prefill-us': 'prefillUs', '--itl-ms': 'itlMs',
    '--batched-tokens': 'batchedTokens', '--kv-transfer-us': 'kvTransferUs', '--kv-blocks': 'kvBlocks',
    '--max-model-len': 'maxModelLen', '--max-num-seqs': 'maxNumSeqs', '--non-cached-tokens': 'nonCachedTokens',
    '--workers': 'workers' };
  const strs = { '--setups': 'setups', '--sim-args': 'simArgs', '--out': 'out' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (i + 1 >= argv.length) throw new Error(`${a}: needs a value`);
    if (nums[a]) { o[nums[a]] = Number(argv[++i]); if (!Number.isFinite(o[nums[a]])) throw new Error(`${a}: not a number`); }
    else if (strs[a]) o[strs[a]] = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  for (const k of ['rate', 'duration']) if (!Number.isFinite(o[k]) || o[k] <= 0) throw new Error(`${k}: must be > 0`);
  if (o.duration > 300 || o.rate > 200) throw new Error('keep it bounded: duration ≤ 300 s, rate ≤ 200 req/s');
  if (!(o.prefillSims >= 1 && o.prefillSims < o.sims)) throw new Error('--prefill-sims: 1 .. sims-1');
  if (o.longTokens + o.maxOut + 64 > o.maxModelLen) throw new Error('--max-model-len too small for --long-tokens + --max-out');
  o.setupList = o.setups.split(',').filter(Boolean);
  for (const s of o.setupList) if (!['split', 'mixed'].includes(s)) throw new Error(`unknown setup ${s}`);
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const words = (s) => s.split(/\s+/).filter(Boolean);

// ---------------------------------------------------------------- workload
// One shared system prompt (cached everywhere after the first chats); short chats ask a
// question of their own; long ones carry a unique document (unique from its first line,
// so nothing past the system prompt is cached anywhere).
const SYSTEM = 'You are a helpful assistant for the ringgate project. Answer briefly and precisely. ' +
  'Cite the documentation when you can, say so when you do not know, and never invent APIs, flags or ' +
  'metric names. Prefer short code examples to long explanations.';
const VOCAB = ['kv', 'cache', 'token', 'prefill', 'decode', 'batch', 'gpu', 'model', 'stream', 'latency', 'router',
  'block', 'queue', 'server', 'prompt', 'layer', 'tensor', 'shard', 'pool', 'weight', 'the', 'of', 'and', 'to'];
// The sim renders a chat as `system: ...\nuser: ...\nassistant: ` and counts 4 bytes a token.
const renderedBytes = (user) => `system: ${SYSTEM}\nuser: ${user}\nassistant: `.length;

function text(rand, bytes, head) {
  let s = head;
  while (s.length < bytes) s += ' ' + VOCAB[Math.floor(rand() * VOCAB.length)] + Math.floor(rand() * 1000);
  return s.slice(0, bytes);
}

export function makeRequests(o) {
  const rand = rng32(subSeed(o.seed, 'disagg'));
  const arrival = rng32(subSeed(o.seed, 'arrival'));
  const uni = rand;  // [0, 1)
  const out = [];
  const nonce = `${o.seed}`;
  for (let t = 0, i = 0; ; i++) {
    t += -Math.log(1 - arrival()) * 1000 / o.rate;
    if (t >= o.duration * 1000) break;
    const long = uni() < o.longFraction;
    const targetBytes = (long ? o.longTokens : o.shortTokens) * 4;
    const userBytes = Math.max(16, targetBytes - renderedBytes(''));
    const head = long ? `Document ${nonce}-${i}. Summarise it in a few sentences.\n` : `Question ${nonce}-${i}:`;
    const user = text(rand, userBytes, head);
    const maxTokens = o.minOut + Math.floor(rand() * (o.maxOut - o.minOut + 1));
    out.push({ i, at: t, cls: long ? 'long' : 'short', promptTokens: Math.ceil(renderedBytes(user) / 4), maxTokens,
      body: { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }], model: o.model,
        max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } } });
  }
  return out;
}

// ---------------------------------------------------------------- client
// One streamed chat request; resolves (never rejects) with its record: TTFT (first
// content delta), the last content delta's time, content deltas, usage, headers.
function sendOne(agent, port, req, timeoutMs, t0) {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(req.body));
    const start = performance.now();
    const rec = { i: req.i, cls: req.cls, maxTokens: req.maxTokens, tStart: start - t0, lagMs: start - t0 - req.at,
      status: 0, outcome: '', detail: '', ttft: -1, tLast: -1, tEnd: -1, deltas: 0, usageTokens: -1,
      promptTokens: -1, cachedTokens: -1, dest: null, prefill: null, done: false };
    let finished = false, buf = '', body = '';
    const finish = (outcome, detail = '') => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      rec.outcome = outcome;
      rec.detail = String(detail).slice(0, 300);
      rec.tEnd = performance.now() - start;
      resolve(rec);
    };
    const r = http.request({ agent, host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': payload.length, accept: 'text/event-stream' } });
    const timer = setTimeout(() => { finish('timeout', `no end after ${timeoutMs} ms`); r.destroy(); }, timeoutMs);
    const onEvent = (block) => {
      let data = '';
      for (const line of block.split(/\r?\n/)) if (line.startsWith('data:')) data += line.slice(5).trim();
      if (!data) return;
      if (data === '[DONE]') { rec.done = true; return; }
      let obj;
      try { obj = JSON.parse(data); } catch { rec.detail = 'bad event'; return; }
      if (obj.error) { rec.sseError = JSON.stringify(obj.error); return; }
      if (obj.usage) {
        rec.usageTokens = obj.usage.completion_tokens;
        rec.promptTokens = obj.usage.prompt_tokens;
        rec.cachedTokens = obj.usage.prompt_tokens_details?.cached_tokens ?? 0;
      }
      const c = Array.isArray(obj.choices) ? obj.choices[0] : undefined;
      const content = c?.delta?.content;
      if (typeof content === 'string' && content.length > 0) {
        const now = performance.now() - start;
        if (rec.ttft < 0) rec.ttft = now;
        rec.tLast = now;
        rec.deltas++;
      }
    };
    r.on('response', (res) => {
      rec.status = res.statusCode;
      rec.dest = res.headers['x-gateway-destination-endpoint'] ?? null;
      rec.prefill = res.headers['x-gateway-prefill-endpoint'] ?? null;
      const sse = res.statusCode === 200 && /event-stream/.test(res.headers['content-type'] || '');
      res.setEncoding('utf8');
      res.on('data', (s) => {
        if (!sse) { if (body.length < 65536) body += s; return; }
        buf += s;
        for (let m; (m = /\r?\n\r?\n/.exec(buf));) { onEvent(buf.slice(0, m.index)); buf = buf.slice(m.index + m[0].length); }
      });
      const conclude = (how) => {
        if (res.statusCode !== 200) return finish(`http_${res.statusCode}`, body);
        if (!sse) return finish('not_sse', body);
        if (buf.trim()) onEvent(buf);
        if (rec.sseError) return finish('sse_error', rec.sseError);
        if (!rec.done) return finish('truncated', `no [DONE] (${how}, ${rec.deltas} deltas)`);
        if (rec.deltas !== rec.maxTokens || rec.usageTokens !== rec.deltas) {
          return finish('token_count', `${rec.deltas} deltas, usage ${rec.usageTokens}, max_tokens ${rec.maxTokens}`);
        }
        return finish('ok');
      };
      res.on('end', () => conclude('end'));
      res.on('error', (e) => conclude(`error ${e.code || e.message}`));
      res.on('close', () => conclude(res.complete ? 'close' : 'aborted'));
    });
    r.on('error', (e) => finish('conn_error', e.code || e.message));
    r.end(payload);
  });
}

async function runLoad(port, requests, o) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const t0 = performance.now();
  const pending = [];
  for (const req of requests) {
    const wait = req.at - (performance.now() - t0);
    if (wait > 1) await sleep(wait);
    pending.push(sendOne(agent, port, req, o.timeoutMs, t0));
  }
  const records = await Promise.all(pending);
  const wallSeconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { records, wallSeconds };
}

// ---------------------------------------------------------------- metrics
const family = (m, name, match = '') => {
  let sum = 0;
  for (const [k, v] of m) if ((k === name || k.startsWith(name + '{')) && k.includes(match)) sum += v;
  return sum;
};
async function simCounters(sim) {
  const m = await scrape(`${sim.url}/metrics`);
  return {
    success: family(m, 'vllm:request_success_total'),
    promptTokens: family(m, 'vllm:prompt_tokens_total'),
    generationTokens: family(m, 'vllm:generation_tokens_total'),
    externalHits: family(m, 'vllm:external_prefix_cache_hits_total'),
    nixlTransfers: family(m, 'vllm:nixl_xfer_time_seconds_count'),
    nixlFailed: family(m, 'vllm:nixl_num_failed_transfers_total'),
    preemptions: family(m, 'vllm:num_preemptions_total'),
  };
}
async function gatewayCounters(gw) {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const lines = [...m].filter(([k]) => /^(llm_d_inference_scheduler_disagg_decision_total|ringgate_pd_prefill_failures_total|ringgate_pd_decode_only_fallbacks_total)/.test(k));
  return {
    split: family(m, 'llm_d_inference_scheduler_disagg_decision_total', 'decision_type="prefill-decode"'),
    decodeOnly: family(m, 'llm_d_inference_scheduler_disagg_decision_total', 'decision_type="decode-only"'),
    prefillFailures: family(m, 'ringgate_pd_prefill_failures_total'),
    fallbacks: family(m, 'ringgate_pd_decode_only_fallbacks_total'),
    lines: lines.map(([k, v]) => `${k} ${v}`),
  };
}

// ---------------------------------------------------------------- one setup
function gatewayConfig(o, sims, split) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rg-disagg-'));
  const file = path.join(dir, 'gateway.yaml');
  const entries = sims.map((s, j) => (split
    ? `      - {address: "127.0.0.1:${s.port}", role: ${j < o.prefillSims ? 'prefill' : 'decode'}}`
    : `      - "127.0.0.1:${s.port}"`));
  writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    static:', ...entries,
    ...(split ? [`disaggregation: {nonCachedTokens: ${o.nonCachedTokens}}`] : []), ''].join('\n'));
  return { dir, file };
}

function simArgs(o) {
  return ['--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize), '--max-model-len', String(o.maxModelLen),
    '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
    '--inter-token-latency-ms', String(o.itlMs), '--max-num-batched-tokens', String(o.batchedTokens),
    '--kv-transfer-config', '{"kv_connector":"NixlConnector","kv_role":"kv_both"}',
    '--kv-transfer-time-per-block-us', String(o.kvTransferUs), '--enable-prompt-tokens-details', ...words(o.simArgs)];
}

async function runSetup(o, setup, requests) {
  const split = setup === 'split';
  const sims = await Promise.all(Array.from({ length: o.sims }, () => startSim(simArgs(o))));
  let gw, cfg;
  try {
    cfg = gatewayConfig(o, sims, split);
    gw = await startGateway(['--workers', String(o.workers), '--config', cfg.file]);
    await waitRoutable(gw, o.sims);
    const g0 = await gatewayCounters(gw);
    const s0 = await Promise.all(sims.map(simCounters));
    const { records, wallSeconds } = await runLoad(gw.port, requests, o);
    await sleep(200);
    const g1 = await gatewayCounters(gw);
    const s1 = await Promise.all(sims.map(simCounters));
    const simDelta = sims.map((s, j) => ({ endpoint: `127.0.0.1:${s.port}`,
      role: split ? (j < o.prefillSims ? 'prefill' : 'decode') : 'both',
      ...Object.fromEntries(Object.keys(s1[j]).map((k) => [k, s1[j][k] - s0[j][k]])) }));
    const exited = gw.proc.exitCode !== null || gw.proc.signalCode !== null;
    return { setup, records, wallSeconds, simDelta, gateway: { ...g1, split: g1.split - g0.split, decodeOnly: g1.decodeOnly - g0.decodeOnly },
      note: exited ? `gateway exited during the run: ${gw.stderr().slice(-500)}` : null };
  } finally {
    if (gw) await gw.stop().catch(() => {});
    await Promise.all(sims.map((s) => stopProc(s.proc, 'SIGKILL')));
    if (cfg) rmSync(cfg.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report
const CLASSES = ['short', 'long', 'all'];
function stats(records, cls) {
  const rs = records.filter((r) => cls === 'all' || r.cls === cls);
  const ok = rs.filter((r) => r.outcome === 'ok');
  const tpot = ok.filter((r) => r.deltas > 1).map((r) => (r.tLast - r.ttft) / (r.deltas - 1));
  const errors = {};
  for (const r of rs) if (r.outcome !== 'ok') errors[r.outcome] = (errors[r.outcome] || 0) + 1;
  return { n: rs.length, ok: ok.length, errors, ttft: percentiles(ok.map((r) => r.ttft), [50, 99]),
    tpot: percentiles(tpot, [50, 99]), split: rs.filter((r) => r.prefill).length };
}
const f = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : Number(x).toFixed(d));
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

function report(o, results, meta) {
  const L = [];
  L.push(`# ringgate P/D disaggregation benchmark (issue 31) — ${meta.date}`);
  L.push(`# machine: ${os.cpus().length} cores (shared; figures are noisy), load avg at start ${meta.load}; binaries ${path.dirname(path.dirname(path.dirname(binaries.sim)))}`);
  L.push(`# sims: ${o.sims} × ringgate-sim ${simArgs(o).join(' ').replace(/'/g, '')}`);
  L.push(`# split: ${o.prefillSims} prefill + ${o.sims - o.prefillSims} decode, disaggregation.nonCachedTokens ${o.nonCachedTokens}; mixed: all ${o.sims} both; ringgate --workers ${o.workers}`);
  L.push(`# load: ${o.rate} req/s Poisson for ${o.duration} s per setup (the same ${meta.count} requests, seed ${o.seed}), chat, all streamed with include_usage;`);
  L.push(`#   ${Math.round(o.longFraction * 100)}% long (~${o.longTokens} tokens, unique), the rest short (~${o.shortTokens} tokens, shared system prompt); ${o.minOut}–${o.maxOut} output tokens`);
  L.push(`# TTFT: send → first content delta; TPOT per request: (last delta − first delta) / (tokens − 1); ms`);
  L.push('');
  L.push(`${pad('setup', 6)} ${pad('class', 6)} ${lpad('n', 5)} ${lpad('ok', 5)} ${lpad('errors', 7)} ${lpad('split', 6)} ${lpad('TTFT p50', 9)} ${lpad('TTFT p99', 9)} ${lpad('TPOT p50', 9)} ${lpad('TPOT p99', 9)}`);
  const S = {};
  for (const r of results) {
    S[r.setup] = {};
    for (const c of CLASSES) {
      const s = (S[r.setup][c] = stats(r.records, c));
      const errs = Object.values(s.errors).reduce((a, b) => a + b, 0);
      L.push(`${pad(r.setup, 6)} ${pad(c, 6)} ${lpad(s.n, 5)} ${lpad(s.ok, 5)} ${lpad(errs, 7)} ${lpad(s.split, 6)} ${lpad(f(s.ttft.p50), 9)} ${lpad(f(s.ttft.p99), 9)} ${lpad(f(s.tpot.p50, 2), 9)} ${lpad(f(s.tpot.p99, 2), 9)}`);
    }
  }
  const goals = [];
  if (S.split && S.mixed) {
    L.push('');
    L.push(`ratios split / mixed`);
    L.push(`${pad('class', 6)} ${lpad('TTFT p50', 9)} ${lpad('TTFT p99', 9)} ${lpad('TPOT p50', 9)} ${lpad('TPOT p99', 9)}`);
    const ratio = (a, b) => a / b;
    for (const c of CLASSES) {
      const a = S.split[c], b = S.mixed[c];
      L.push(`${pad(c, 6)} ${lpad(f(ratio(a.ttft.p50, b.ttft.p50), 2), 9)} ${lpad(f(ratio(a.ttft.p99, b.ttft.p99), 2), 9)} ${lpad(f(ratio(a.tpot.p50, b.tpot.p50), 2), 9)} ${lpad(f(ratio(a.tpot.p99, b.tpot.p99), 2), 9)}`);
    }
    L.push('');
    for (const c of ['short', 'all']) {
      const tp = ratio(S.split[c].tpot.p99, S.mixed[c].tpot.p99), tt = ratio(S.split[c].ttft.p99, S.mixed[c].ttft.p99);
      goals.push({ cls: c, tpot: tp, tpotPass: tp <= 0.5, ttft: tt, ttftPass: tt <= 1.2 });
      L.push(`goal (${c}): TPOT p99 ≤ 0.5× mixed: ${f(tp, 2)}× ${tp <= 0.5 ? 'PASS' : 'FAIL'};  TTFT p99 ≤ 1.2× mixed: ${f(tt, 2)}× ${tt <= 1.2 ? 'PASS' : 'FAIL'}`);
    }
  }
  L.push('');
  for (const r of results) {
    const longs = r.records.filter((x) => x.cls === 'long').length;
    const g = r.gateway;
    L.push(`${r.setup}: gateway /metrics: disagg_decision prefill-decode ${g.split}, decode-only ${g.decodeOnly} (long requests sent ${longs}); prefill failures ${g.prefillFailures}, decode-only fallbacks ${g.fallbacks}; wall ${f(r.wallSeconds)} s; max send lag ${f(Math.max(...r.records.map((x) => x.lagMs)))} ms`);
    for (const line of g.lines) L.push(`  ${line}`);
    for (const s of r.simDelta) {
      L.push(`  sim ${s.endpoint} ${pad(s.role, 7)} requests ${lpad(s.success, 4)}  prompt tokens ${lpad(s.promptTokens, 8)}  generated ${lpad(s.generationTokens, 6)}  KV pulls ${lpad(s.nixlTransfers, 4)} (failed ${s.nixlFailed})  external hits ${lpad(s.externalHits, 8)}  preemptions ${s.preemptions}`);
    }
    const errs = r.records.filter((x) => x.outcome !== 'ok');
    for (const e of errs.slice(0, 5)) L.push(`  error: #${e.i} ${e.cls} ${e.outcome} ${e.detail}`);
    if (r.note) L.push(`  NOTE: ${r.note}`);
  }
  return { text: L.join('\n'), summary: S, goals };
}

async function main() {
  const o = parse(process.argv.slice(2));
  const requests = makeRequests(o);
  const meta = { date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' '), count: requests.length };
  const results = [];
  for (const setup of o.setupList) {
    process.stderr.write(`[disagg] ${setup}: ${requests.length} requests at ${o.rate} req/s for ${o.duration} s ...\n`);
    results.push(await runSetup(o, setup, requests));
  }
  const { text: out, summary, goals } = report(o, results, meta);
  console.log(out);
  mkdirSync(o.out, { recursive: true });
  const stamp = meta.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(o.out, `disaggregation-${stamp}.txt`), out + '\n');
  writeFileSync(path.join(o.out, `disaggregation-${stamp}.json`), JSON.stringify({ options: o, meta, summary, goals,
    results: results.map((r) => ({ ...r, records: r.records.map(({ i, cls, maxTokens, tStart, lagMs, status, outcome, detail, ttft, tLast, tEnd, deltas, usageTokens, promptTokens, cachedTokens, dest, prefill }) =>
      ({ i, cls, maxTokens, tStart, lagMs, status, outcome, detail, ttft, tLast, tEnd, deltas, usageTokens, promptTokens, cachedTokens, dest, prefill })) })) }, null, 1));
  process.stderr.write(`[disagg] written to ${o.out}/disaggregation-${stamp}.{txt,json}\n`);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
