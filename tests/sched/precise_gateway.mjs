// Shared by the precise prefix tests: a gateway config that follows each sim's KV events,
// and an awaited condition on one endpoint's /debug/endpoints prefix_source.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

// Writes dir/name: a static pool of `sims` (their api, kv_events and, if any, kv_replay
// addresses) scored by the precise prefix with `tokenizer`.
export function writePreciseConfig(dir, name, sims, tokenizer = 'sim-bytes') {
  const file = path.join(dir, name);
  const endpoints = sims.map((s) => `    - {endpoint: "${s.api}", address: "${s.kv_events}"${s.kv_replay ? `, replay: "${s.kv_replay}"` : ''}}`).join('\n');
  fs.writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool:
  name: vllm
  discovery:
    static: [${sims.map((s) => `"${s.api}"`).join(', ')}]
scheduler:
  scorers:
    queue: 1
    kv-cache: 1
    prefix: {weight: 5, mode: precise, tokenizer: "${tokenizer}", blockSize: 16, hashSeed: "0"}
kvEvents:
  topic: kv
  endpoints:
${endpoints}
`);
  return file;
}

export async function debugEndpoints(gw) {
  return (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;
}

// Resolves with the prefix_source of the endpoint at `api` once `pred` holds for it.
export async function waitSource(gw, api, pred, what, timeoutMs = 5000) {
  let last;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    last = (await debugEndpoints(gw)).find((e) => e.address === api)?.prefix_source;
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${api}: ${what} not reached: ${JSON.stringify(last)}`);
}
