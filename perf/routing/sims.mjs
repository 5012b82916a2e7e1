// Starting ringgate-sim pools and reading their counters (shared by perf/routing and
// perf/failover). Processes are started through tests/lib/procs.mjs, which kills them
// when the Node process exits.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, startSim, binaries, scrape } from '../../tests/lib/procs.mjs';

export { binaries };

export async function startSims(n, args = []) {
  return Promise.all(Array.from({ length: n }, () => startSim(args)));
}

// Sims that publish vLLM's KV-cache events (ZMQ, with a replay socket), PYTHONHASHSEED=0:
// what a gateway in precise mode follows (preciseConfig).
const kvEventsSimArgs = ['--kv-events-config', JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq',
  endpoint: 'tcp://127.0.0.1:*', replay_endpoint: 'tcp://127.0.0.1:*', topic: 'kv' })];
export async function startEventSims(n, args = []) {
  return Promise.all(Array.from({ length: n }, () => startSim([...args, ...kvEventsSimArgs], { env: { PYTHONHASHSEED: '0' } })));
}

// A Gateway document for event sims: the pool and each sim's event stream, and unless
// `scorer` is false, the prefix scorer in precise mode (weight `prefixWeight`, default 3).
// `scorer: false` leaves the scorers to an EndpointPickerConfig given beside it; `tierWeights`
// (a YAML flow map) overrides the scorer's weights by KV tier.
export function preciseConfig(sims, { blockSize = 16, prefixWeight = 3, loadSignal = '', scorer = true, tierWeights = '' } = {}) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ringgate-precise-')), 'gateway.yaml');
  const scheduler = [
    ...(scorer ? [`  scorers: {prefix: {weight: ${prefixWeight}, mode: precise, tokenizer: sim-bytes, blockSize: ${blockSize}, hashSeed: "0"` +
      `${tierWeights ? `, tierWeights: ${tierWeights}` : ''}}}`] : []),
    ...(loadSignal ? [`  loadSignal: {mode: ${loadSignal}}`] : []),
  ];
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
${scheduler.length ? `scheduler:\n${scheduler.join('\n')}\n` : ''}kvEvents:
  topic: kv
  endpoints:
${sims.map((s) => `  - {endpoint: "${s.api}", address: "${s.kv_events}", replay: "${s.kv_replay}"}`).join('\n')}
`);
  return file;
}

// Starts a sim on a given port (a restart in place); retries while the port is busy.
export async function startSimOnPort(port, args = [], { retryMs = 5000 } = {}) {
  const until = Date.now() + retryMs;
  for (;;) {
    try {
      return await start(binaries.sim, ['--host', '127.0.0.1', '--port', String(port), ...args]);
    } catch (e) {
      if (Date.now() > until || !/in use|EADDRINUSE|bind/i.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// Sum of every sample of a metric family (all label sets).
export function family(m, name) {
  let sum = 0, found = false;
  for (const [k, v] of m) {
    if (k === name || k.startsWith(name + '{')) { sum += v; found = true; }
  }
  return found ? sum : NaN;
}

// `url`/metrics as scrape() parses it; rejects after timeoutMs (a scrape must not hang a run).
export async function scrapeWithin(url, timeoutMs = 2000) {
  let timer;
  return Promise.race([scrape(`${url}/metrics`),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`scrape ${url} timed out`)), timeoutMs); })])
    .finally(() => clearTimeout(timer));
}

export async function simCounters(url, timeoutMs = 2000) {
  const m = await scrapeWithin(url, timeoutMs);
  return {
    hits: family(m, 'vllm:prefix_cache_hits_total'),
    queries: family(m, 'vllm:prefix_cache_queries_total'),
    success: family(m, 'vllm:request_success_total'),
    promptTokens: family(m, 'vllm:prompt_tokens_total'),
    running: family(m, 'vllm:num_requests_running'),
    waiting: family(m, 'vllm:num_requests_waiting'),
    kvUse: family(m, 'vllm:kv_cache_usage_perc'),
    cpuHits: family(m, 'vllm:external_prefix_cache_hits_total'),
  };
}

export const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));
