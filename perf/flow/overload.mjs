#!/usr/bin/env node
// perf/flow/overload.mjs — issue 16's overload comparison: critical traffic (priority
// 10) at about half of what the pool can serve plus sheddable traffic (priority -1) at
// about 2.5x that, closed-loop, streaming, through ringgate with flow control, nginx
// round-robin and HAProxy leastconn; TTFT p50/p99 per class side by side, and the
// critical class alone through ringgate (its unloaded TTFT).
//
//   node perf/flow/overload.mjs [--duration S] [--warmup S] [--min-samples N]
//                               [--critical N] [--sheddable N] [--headroom N] [--out FILE.json]
//   RINGGATE_BUILD_DIR=build (default) ; nginx and haproxy from PATH
//
// Each row: fresh sims and proxy, --warmup seconds of the same load whose answers are
// discarded (connections open, sims and queues in their steady state), then at least
// --duration seconds measured and, past that, on until the critical class has
// --min-samples answers (at most 3x the duration; a p99 of fewer than ~300 samples is
// its 3rd-largest value). The two ratios issue 16 asks for are printed with the raw
// numbers they come from.
//
// Pool: 2 ringgate-sim, --max-num-seqs 4 (8 slots), prefill 100 ms + 50 us/token, 10 ms per
// token, 16 tokens: ~0.3 s a request, ~27 req/s. Closed-loop clients: --critical
// (default 4 = half the slots) and --sheddable (default 20 = 2.5x the slots). A client that
// gets 429 waits its Retry-After (capped at 200 ms) before sending again. Numbers depend
// on the machine: this is a measurement, not a test.
//
// --headroom (default 2): ringgate's `sheddableHeadroom`, the slots of each sim's 4 that
// sheddable requests leave free (2 per sim = the 4 critical clients' worth). With it
// above 0 a second ringgate row runs without it, to show what it buys.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { sendOne, percentiles } from '../loadgen/loadgen.mjs';
import { startNginx, startHaproxy, sleep } from '../routing/proxies.mjs';
import { startSims } from '../routing/sims.mjs';
import { startGateway } from '../../tests/lib/procs.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const DURATION_S = opt('duration', 30);
const WARMUP_S = opt('warmup', 5);
const MIN_SAMPLES = opt('min-samples', 400);
const OUT = (() => { const i = args.indexOf('--out'); return i >= 0 ? args[i + 1] : null; })();
const CRITICAL = opt('critical', 4);
const SHEDDABLE = opt('sheddable', 20);
const HEADROOM = opt('headroom', 2);
const SIM_ARGS = ['--max-num-seqs', '4', '--prefill-overhead-ms', '100', '--prefill-time-per-token-us', '50',
  '--inter-token-latency-ms', '10'];
const MODEL = 'facebook/opt-125m';

function ringgateConfig(sims, headroom = HEADROOM) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'rg-flow-perf-')), 'ringgate.yaml');
  // maxConcurrency = the sims' max-num-seqs: nothing waits inside a server.
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
workers: 2
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
saturationDetector: {queueDepthThreshold: 1, maxConcurrency: 4, sheddableHeadroom: ${headroom}}
flowControl:
  enabled: true
  defaultRequestTTL: 10s
  priorityBands: [{priority: -1, maxRequests: 16}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: critical}
spec: {priority: 10}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: -1}
`);
  return file;
}

async function run(label, url, classes) {
  const base = new URL(url);
  const t0 = performance.now();
  const measureFrom = t0 + WARMUP_S * 1000;
  const minEnd = measureFrom + DURATION_S * 1000;
  const maxEnd = measureFrom + 3 * DURATION_S * 1000;
  const records = { critical: [], sheddable: [] };
  const criticalOk = () => records.critical.filter((r) => r.status === 200 && r.tFirstContent >= 0).length;
  let stopAt = Infinity;
  let serial = 0;
  const client = async (cls, objective) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (;;) {
      const now = performance.now();
      if (now >= maxEnd || now >= stopAt) break;
      // The critical class decides when the row ends; the load around it runs until then.
      if (cls === 'critical' && now >= minEnd && criticalOk() >= MIN_SAMPLES) {
        stopAt = Math.min(stopAt, now);
        break;
      }
      const body = { model: MODEL, prompt: `${cls} ${++serial} ${'lorem ipsum '.repeat(40)}`, max_tokens: 16, stream: true };
      const sent = performance.now();
      const rec = await sendOne({ agent, base, path: '/v1/completions', body, stream: true,
        headers: { 'x-gateway-inference-objective': objective }, timeoutMs: 60000, t0 });
      if (sent >= measureFrom) records[cls].push(rec);  // warm-up answers are not counted
      if (rec.status === 429) await sleep(200);
    }
    agent.destroy();
  };
  const clients = [];
  for (let i = 0; i < (classes.critical ?? 0); i++) clients.push(client('critical', 'critical'));
  for (let i = 0; i < (classes.sheddable ?? 0); i++) clients.push(client('sheddable', 'batch'));
  await Promise.all(clients);
  const row = { label, seconds: Math.round((Math.min(stopAt, performance.now()) - measureFrom) / 100) / 10 };
  for (const cls of ['critical', 'sheddable']) {
    const ok = records[cls].filter((r) => r.status === 200 && r.tFirstContent >= 0);
    const p = percentiles(ok.map((r) => r.tFirstContent), [50, 99]);
    row[cls] = { ok: ok.length, refused429: records[cls].filter((r) => r.status === 429).length,
      other: records[cls].length - ok.length - records[cls].filter((r) => r.status === 429).length, p50: p.p50, p99: p.p99 };
  }
  return row;
}

async function withPool(fn) {
  const sims = await startSims(2, SIM_ARGS);
  try { return await fn(sims); } finally { await Promise.all(sims.map((s) => s.stop('SIGKILL'))); }
}

const rows = [];
rows.push(await withPool(async (sims) => {
  const gw = await startGateway(['--config', ringgateConfig(sims)]);
  await sleep(500);
  try { return await run('ringgate, critical alone (unloaded)', gw.url, { critical: CRITICAL }); } finally { await gw.stop('SIGKILL'); }
}));
rows.push(await withPool(async (sims) => {
  const gw = await startGateway(['--config', ringgateConfig(sims)]);
  await sleep(500);
  try { return await run(`ringgate flow control, headroom ${HEADROOM}`, gw.url, { critical: CRITICAL, sheddable: SHEDDABLE }); } finally { await gw.stop('SIGKILL'); }
}));
if (HEADROOM > 0) {
  rows.push(await withPool(async (sims) => {
    const gw = await startGateway(['--config', ringgateConfig(sims, 0)]);
    await sleep(500);
    try { return await run('ringgate flow control, headroom 0', gw.url, { critical: CRITICAL, sheddable: SHEDDABLE }); } finally { await gw.stop('SIGKILL'); }
  }));
}
rows.push(await withPool(async (sims) => {
  const p = await startNginx(sims.map((s) => s.api));
  try { return await run('nginx round-robin', p.url, { critical: CRITICAL, sheddable: SHEDDABLE }); } finally { await p.stop(); }
}));
rows.push(await withPool(async (sims) => {
  const p = await startHaproxy(sims.map((s) => s.api));
  try { return await run('haproxy leastconn', p.url, { critical: CRITICAL, sheddable: SHEDDABLE }); } finally { await p.stop(); }
}));

const fmt = (c) => (c ? `${String(c.p50 ?? '-').padStart(8)} ${String(c.p99 ?? '-').padStart(8)} ${String(c.ok).padStart(6)} ${String(c.refused429).padStart(5)} ${String(c.other).padStart(5)}` : '');
console.log(`TTFT ms after ${WARMUP_S} s warm-up, >= ${DURATION_S} s and >= ${MIN_SAMPLES} critical answers per row, ` +
  `${CRITICAL} critical + ${SHEDDABLE} sheddable closed-loop clients, 2 sims x 4 seqs`);
console.log(`${'config'.padEnd(36)} |     s | critical p50      p99     ok   429 other | sheddable p50    p99     ok   429 other`);
for (const r of rows) console.log(`${r.label.padEnd(36)} | ${String(r.seconds).padStart(5)} | ${fmt(r.critical)} | ${r.sheddable.ok ? fmt(r.sheddable) : ''}`);
const byLabel = (prefix) => rows.find((r) => r.label.startsWith(prefix)).critical.p99;
const unloaded = byLabel('ringgate, critical alone'), rg = byLabel('ringgate flow control'),
  nginx = byLabel('nginx'), haproxy = byLabel('haproxy');
const ratios = { vs_unloaded: rg / unloaded, vs_nginx_rr: rg / nginx, vs_haproxy_leastconn: rg / haproxy };
console.log(`critical p99 ms: ringgate (headroom ${HEADROOM}) ${rg}, unloaded ${unloaded}, nginx RR ${nginx}, haproxy leastconn ${haproxy}`);
console.log(`  ringgate / unloaded  = ${ratios.vs_unloaded.toFixed(2)} (target <= 2)   ${ratios.vs_unloaded <= 2 ? 'met' : 'NOT met'}`);
console.log(`  ringgate / nginx RR  = ${ratios.vs_nginx_rr.toFixed(2)} (target <= 0.3) ${ratios.vs_nginx_rr <= 0.3 ? 'met' : 'NOT met'}`);
console.log(`  ringgate / haproxy leastconn = ${ratios.vs_haproxy_leastconn.toFixed(2)} (for comparison)`);
if (rows.some((r) => r.critical.other > 0 || (r.sheddable.other ?? 0) > 0)) console.log('note: some answers were neither 200 nor 429 (column "other")');
if (OUT) writeFileSync(OUT, JSON.stringify({ duration_s: DURATION_S, warmup_s: WARMUP_S, min_samples: MIN_SAMPLES,
  critical: CRITICAL, sheddable: SHEDDABLE, headroom: HEADROOM, rows, ratios }, null, 1));
process.exit(0);
