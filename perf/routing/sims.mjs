// Starting ringgate-sim pools and reading their counters (shared by perf/routing and
// perf/failover). Processes are started through tests/lib/procs.mjs, which kills them
// when the Node process exits.
import { start, startSim, binaries, scrape } from '../../tests/lib/procs.mjs';

export { binaries };

export async function startSims(n, args = []) {
  return Promise.all(Array.from({ length: n }, () => startSim(args)));
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

// Rejects after timeoutMs (a scrape must not hang a run).
export async function simCounters(url, timeoutMs = 2000) {
  let timer;
  const m = await Promise.race([scrape(`${url}/metrics`),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`scrape ${url} timed out`)), timeoutMs); })])
    .finally(() => clearTimeout(timer));
  return {
    hits: family(m, 'vllm:prefix_cache_hits_total'),
    queries: family(m, 'vllm:prefix_cache_queries_total'),
    success: family(m, 'vllm:request_success_total'),
    promptTokens: family(m, 'vllm:prompt_tokens_total'),
    running: family(m, 'vllm:num_requests_running'),
    waiting: family(m, 'vllm:num_requests_waiting'),
  };
}

export const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));
