#!/usr/bin/env node
// Two-replica agreement (issue 14 acceptance): two ringgate replicas in precise mode in
// front of the same sims (KV events, PYTHONHASHSEED=0, --mode echo), workload C (the
// multi-turn chat of perf/loadgen) sent alternately to one and the other. Just before
// each request is sent, BOTH replicas are asked for their dry-run decision
// (POST /debug/pick on the admin port: the same router code, nothing recorded); the
// request then goes to its replica as usual. Reports how often the two dry runs name
// the same sim, and for the disagreements which inputs differed between the replicas:
// the prefix picture (prefix blocks per sim: events applied by one and not yet the
// other) and the load terms (the in-flight counts each replica has of its own half of
// the traffic; the sims' scraped waiting / running / KV usage, read at different moments).
//
//   node perf/routing/agreement.mjs [--duration 45] [--warmup 15] [--rate 40] ...   (--help)
//
// Loopback only, bounded in time (≤ warmup + duration + a few seconds), and every
// process it starts is killed when it exits (tests/lib/procs.mjs).
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sendOne } from '../loadgen/loadgen.mjs';
import { makeWorkload } from '../loadgen/workload.mjs';
import { binaries } from './sims.mjs';
import { startRinggate, sleep } from './proxies.mjs';
import { startSim, stop as stopProc } from '../../tests/lib/procs.mjs';

const HERE = import.meta.dirname;
const D = {
  duration: 45, warmup: 15, rate: 40, sims: 4, kvBlocks: 400, blockSize: 16, prefillUs: 100, itlMs: 5,
  maxNumSeqs: 8, maxModelLen: 4096, maxTokens: 24, seed: 1, workers: 2, sample: 1, prefixWeight: 3,
  model: 'facebook/opt-125m', out: path.resolve(HERE, '../results'), loadSignal: '',
};
const HELP = `usage: node perf/routing/agreement.mjs [options]     (loopback only, bounded)
  --duration S --warmup S     measured seconds (dry runs asked) after S s of the same
                              workload without them                         [${D.duration} ${D.warmup}]
  --rate R                    requests/s, open loop, alternating replicas    [${D.rate}]
  --sample F                  share of measured requests whose decision is asked of both [${D.sample}]
  --sims N --kv-blocks N --block-size N --max-num-seqs N --max-model-len N  [${D.sims} ${D.kvBlocks} ${D.blockSize} ${D.maxNumSeqs} ${D.maxModelLen}]
  --prefill-us US --itl-ms MS --max-tokens N --seed N --workers N            [${D.prefillUs} ${D.itlMs} ${D.maxTokens} ${D.seed} ${D.workers}]
  --prefix-weight W           precise prefix scorer weight (queue, kv-cache: ringgate's defaults) [${D.prefixWeight}]
  --load-signal MODE          scheduler.loadSignal.mode: local or shared     [precise mode's default: shared]
  --out DIR                   where the JSON goes                            [perf/results]`;

function parse(argv) {
  const o = { ...D };
  const keys = { '--duration': 'duration', '--warmup': 'warmup', '--rate': 'rate', '--sample': 'sample', '--sims': 'sims',
    '--kv-blocks': 'kvBlocks', '--block-size': 'blockSize', '--max-num-seqs': 'maxNumSeqs', '--max-model-len': 'maxModelLen',
    '--prefill-us': 'prefillUs', '--itl-ms': 'itlMs', '--max-tokens': 'maxTokens', '--seed': 'seed', '--workers': 'workers',
    '--prefix-weight': 'prefixWeight', '--out': 'out', '--load-signal': 'loadSignal' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') { console.log(HELP); process.exit(0); }
    const k = keys[argv[i]];
    if (!k || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${argv[i]} (--help)`);
    o[k] = k === 'out' || k === 'loadSignal' ? argv[++i] : Number(argv[++i]);
  }
  if (!(o.duration > 0 && o.duration + o.warmup <= 150)) throw new Error('need 0 < duration and warmup + duration <= 150 s');
  if (!(o.rate > 0 && o.rate <= 200)) throw new Error('need 0 < rate <= 200');
  if (!['', 'local', 'shared'].includes(o.loadSignal)) throw new Error('--load-signal: local or shared');
  return o;
}

const kvEventsSimArgs = ['--kv-events-config', JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq',
  endpoint: 'tcp://127.0.0.1:*', replay_endpoint: 'tcp://127.0.0.1:*', topic: 'kv' })];

// Both replicas read this one file: the same pool, scorers and event sources.
function preciseConfig(o, sims) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-agree-')), 'gateway.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
scheduler:
  scorers: {prefix: {weight: ${o.prefixWeight}, mode: precise, tokenizer: sim-bytes, blockSize: ${o.blockSize}, hashSeed: "0"}}
${o.loadSignal ? `  loadSignal: {mode: ${o.loadSignal}}\n` : ''}kvEvents:
  topic: kv
  endpoints:
${sims.map((s) => `  - {endpoint: "${s.api}", address: "${s.kv_events}", replay: "${s.kv_replay}"}`).join('\n')}
`);
  return file;
}

// POST /debug/pick on one replica's admin port: { status, json }.
function dryRun(agent, adminUrl, body) {
  const u = new URL(adminUrl);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = http.request({ agent, host: u.hostname, port: u.port, method: 'POST', path: '/debug/pick?path=/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { text += s; });
      res.on('end', () => { let json = null; try { json = JSON.parse(text); } catch {} resolve({ status: res.statusCode, json }); });
      res.on('error', () => resolve({ status: 0, json: null }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, json: null }));
    req.end(payload);
  });
}

// Which of the replicas' inputs differed, candidate by candidate.
function differences(a, b) {
  const byA = new Map(a.candidates.map((c) => [c.endpoint, c]));
  const d = { prefix: false, inflight: false, scraped: false, scored: false, candidates: false, placement: false };
  if (a.candidates.length !== b.candidates.length) d.candidates = true;
  for (const cb of b.candidates) {
    const ca = byA.get(cb.endpoint);
    if (!ca) { d.candidates = true; continue; }
    if (ca.prefix_blocks !== cb.prefix_blocks) d.prefix = true;
    if (ca.inflight !== cb.inflight) d.inflight = true;
    if (ca.waiting !== cb.waiting || ca.running !== cb.running || ca.kv_usage !== cb.kv_usage || ca.fresh !== cb.fresh) d.scraped = true;
    if (ca.placement !== cb.placement) d.placement = true;
    // What the scores were computed from: the load (stepped when shared) and the KV score.
    if (ca.load !== cb.load || ca.queue_score !== cb.queue_score || ca.kv_cache_score !== cb.kv_cache_score) d.scored = true;
  }
  return d;
}

// True when the chosen candidate's total equals another's (the decision was a tie-break).
function tie(p) {
  const chosen = p.candidates.find((c) => c.endpoint === p.endpoint);
  return !!chosen && p.candidates.some((c) => c !== chosen && Math.abs(c.total - chosen.total) <= 1e-9);
}

const pct = (n, d) => (d ? (100 * n / d).toFixed(2) + '%' : '-');

async function main() {
  const o = parse(process.argv.slice(2));
  if (!existsSync(binaries.sim) || !existsSync(binaries.ringgate)) throw new Error(`build first (RINGGATE_BUILD_DIR=${process.env.RINGGATE_BUILD_DIR ?? 'build'})`);
  const simArgs = ['--model', o.model, '--kv-blocks', String(o.kvBlocks), '--block-size', String(o.blockSize),
    '--max-num-seqs', String(o.maxNumSeqs), '--prefill-time-per-token-us', String(o.prefillUs),
    '--inter-token-latency-ms', String(o.itlMs), '--max-model-len', String(o.maxModelLen), '--mode', 'echo', ...kvEventsSimArgs];
  const sims = await Promise.all(Array.from({ length: o.sims }, () => startSim(simArgs, { env: { PYTHONHASHSEED: '0' } })));
  const replicas = [];
  try {
    const config = preciseConfig(o, sims);
    for (let r = 0; r < 2; r++) replicas.push(await startRinggate([], ['--workers', String(o.workers), '--config', config]));
    const wl = makeWorkload({ kind: 'C', seed: o.seed, answerTokens: o.maxTokens });
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const adminAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const bases = replicas.map((g) => new URL(g.url));
    const t0 = performance.now();
    const samples = [];
    const outcomes = {};
    const dests = {};
    let answerMismatches = 0, sent = 0;
    const inflight = new Set();
    // Deterministic sampling (seeded), so a rerun asks about the same requests.
    let s = (o.seed * 2654435761) >>> 0;
    const sampleNext = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / (1 << 24) < o.sample; };

    const fire = (measured) => {
      const req = wl.next();
      const i = sent++;
      const r = i % 2;
      const body = { messages: req.messages, model: o.model, max_tokens: o.maxTokens, temperature: 0, stream: true };
      const p = (async () => {
        let picks = null;
        if (measured && sampleNext()) picks = await Promise.all(replicas.map((g) => dryRun(adminAgent, g.adminUrl, body)));
        const rec = await sendOne({ agent, base: bases[r], path: '/v1/chat/completions', body, stream: true, headers: {},
          timeoutMs: 30000, t0, keepText: true });
        outcomes[rec.outcome] = (outcomes[rec.outcome] ?? 0) + 1;
        if (rec.outcome === 'ok' && rec.text !== req.answer) answerMismatches++;
        if (measured && rec.dest) dests[rec.dest] = (dests[rec.dest] ?? 0) + 1;
        if (picks) samples.push({ i, replica: r, dest: rec.dest, picks });
      })();
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    };
    // Open loop at the rate: warm-up (no dry runs), then the measured window.
    const end = (o.warmup + o.duration) * 1000;
    await new Promise((resolve) => {
      let next = 0;
      const tick = () => {
        const now = performance.now() - t0;
        while (next <= now && next < end) { fire(next >= o.warmup * 1000); next += 1000 / o.rate; }
        if (next >= end) return resolve();
        setTimeout(tick, Math.max(0, next - (performance.now() - t0)));
      };
      tick();
    });
    while (inflight.size) await Promise.all([...inflight]);
    agent.destroy();
    adminAgent.destroy();
    const replicasSignal = (await (await fetch(`${replicas[0].adminUrl}/debug/endpoints`)).json()).load_signal?.mode ?? '?';
    const sources = await Promise.all(replicas.map(async (g) => (await (await fetch(`${g.adminUrl}/debug/endpoints`)).json())
      .endpoints.map((e) => `${e.address}=${e.prefix_source?.source}`).join(' ')));

    // ---- analysis ----
    const both = samples.filter((x) => x.picks.every((p) => p.status === 200 && p.json && p.json.endpoint));
    const agree = both.filter((x) => x.picks[0].json.endpoint === x.picks[1].json.endpoint);
    const own = both.filter((x) => x.picks[x.replica].json.endpoint === x.dest);  // the replica then sent it where its dry run said
    const causes = { prefix_only: 0, load_only: 0, prefix_and_load: 0, tie_only: 0, none: 0 };
    const detail = { prefix: 0, inflight: 0, scraped: 0, scored: 0, placement: 0, candidates: 0, tie: 0 };
    const inputsDiffered = { prefix: 0, load: 0, scored: 0 };
    for (const x of both) {
      const [a, b] = x.picks.map((p) => p.json);
      const d = differences(a, b);
      if (d.prefix) inputsDiffered.prefix++;
      if (d.inflight || d.scraped) inputsDiffered.load++;
      if (d.scored) inputsDiffered.scored++;
      if (a.endpoint === b.endpoint) continue;
      const t = tie(a) || tie(b);
      for (const k of ['prefix', 'inflight', 'scraped', 'scored', 'placement', 'candidates']) if (d[k]) detail[k]++;
      if (t) detail.tie++;
      const load = d.inflight || d.scraped;
      if (d.prefix && load) causes.prefix_and_load++;
      else if (d.prefix) causes.prefix_only++;
      else if (load) causes.load_only++;
      else if (t) causes.tie_only++;
      else causes.none++;
    }
    const disagree = both.length - agree.length;
    const measured = Object.values(dests).reduce((a, b) => a + b, 0);
    const shares = sims.map((sm) => (measured ? (dests[sm.api] ?? 0) / measured : 0));
    const L = [];
    L.push(`# two-replica agreement, precise mode, workload C — ${new Date().toISOString()}, load avg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    L.push(`# ${o.sims} sims --kv-blocks ${o.kvBlocks} --block-size ${o.blockSize} --max-num-seqs ${o.maxNumSeqs} --prefill-time-per-token-us ${o.prefillUs} --inter-token-latency-ms ${o.itlMs} --mode echo, KV events; 2 × ringgate --workers ${o.workers}, prefix weight ${o.prefixWeight}, load signal ${o.loadSignal || 'default'} (${replicasSignal})`);
    L.push(`# ${o.rate} req/s alternating replicas, warm-up ${o.warmup} s, measured ${o.duration} s, sample ${o.sample}`);
    L.push(`requests sent ${sent} (${JSON.stringify(outcomes)}), echo answers differing ${answerMismatches}`);
    L.push(`dry runs asked of both: ${samples.length}, both answered with an endpoint: ${both.length}`);
    L.push(`AGREEMENT: ${agree.length}/${both.length} = ${pct(agree.length, both.length)}   (target >= 99%: ${both.length && agree.length / both.length >= 0.99 ? 'PASS' : 'FAIL'})`);
    L.push(`dry run = where the replica then sent it: ${own.length}/${both.length} = ${pct(own.length, both.length)}`);
    L.push(`inputs that differed between the replicas (all ${both.length} sampled): prefix blocks ${pct(inputsDiffered.prefix, both.length)}, load terms (in-flight or scraped) ${pct(inputsDiffered.load, both.length)}, scored load / KV terms ${pct(inputsDiffered.scored, both.length)}`);
    L.push(`disagreements ${disagree}: prefix picture only ${causes.prefix_only}, load terms only ${causes.load_only}, both ${causes.prefix_and_load}, tie only ${causes.tie_only}, nothing differed ${causes.none}`);
    L.push(`  of which with: prefix blocks differing ${detail.prefix}, in-flight counts differing ${detail.inflight}, scraped metrics differing ${detail.scraped}, scored load / KV terms differing ${detail.scored}, placement differing ${detail.placement}, candidates differing ${detail.candidates}, a tie in either ${detail.tie}`);
    L.push(`sim shares (measured, by x-gateway-destination-endpoint): ${shares.map((x) => x.toFixed(3)).join(' ')}; busiest ${(Math.max(...shares) * o.sims).toFixed(2)}× mean`);
    L.push(`prefix sources at the end: A: ${sources[0]} | B: ${sources[1]}`);
    console.log(L.join('\n'));
    mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, `agreement-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ options: o, text: L, sent, outcomes, samples: samples.length, both: both.length,
      agree: agree.length, own: own.length, causes, detail, inputsDiffered, shares,
      disagreements: both.filter((x) => x.picks[0].json.endpoint !== x.picks[1].json.endpoint).slice(0, 200) }, null, 1));
    console.log(`# written: ${file}`);
  } finally {
    await Promise.all(replicas.map((g) => g.stop().catch(() => {})));
    await Promise.all(sims.map((x) => stopProc(x.proc, 'SIGKILL')));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
