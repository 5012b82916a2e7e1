// A hub ringgate over leaf ringgates on loopback (issue 70, docs/multi-cluster.md): each
// leaf a gateway over its own ringgate-sims, the hub a gateway whose pool entries are the
// leaves (kind: gateway), scheduled on each leaf's /debug/load summary.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { startGateway, startSim, scrape } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';

export const MODEL = 'facebook/opt-125m';
export const live = [];
const dirs = [];
export const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-hub-'));
  dirs.push(d);
  return d;
};
export async function stopAll() {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  live.length = 0;
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}

const sha = (key) => createHash('sha256').update(key).digest('hex');

// A gateway from a config file's lines.
export async function gatewayWith(lines, args = []) {
  const config = path.join(tmpDir(), 'gateway.yaml');
  fs.writeFileSync(config, ['apiVersion: ringgate.io/v1', 'kind: Gateway', ...lines, ''].join('\n'));
  const gw = await startGateway(['--config', config, '--workers', '2', ...args]);
  live.push(gw);
  return gw;
}

// A leaf: `sims` ringgate-sims (simArgs each) behind a gateway. With `adminKey`, the leaf's
// admin port wants it (admin.auth) and its api port takes it and `apiKeys`.
export async function startLeaf({ sims = 2, simArgs = [], adminKey, apiKeys = [], extra = [] } = {}) {
  const servers = await Promise.all(Array.from({ length: sims }, () => startSim(simArgs)));
  live.push(...servers);
  const lines = ['pool:', '  discovery:', `    static: [${servers.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]`,
    'retries: {budget: 3, deadline: 30s}', ...extra];
  if (adminKey) {
    const keys = path.join(tmpDir(), 'keys.yaml');
    const entries = [{ sha256: sha(adminKey), tenant: 'hub', admin: true },
      ...apiKeys.map((k, i) => ({ sha256: sha(k), tenant: `client-${i}` }))];
    fs.writeFileSync(keys, ['apiVersion: ringgate.io/v1', 'kind: ApiKeys', 'keys:', ...entries.map((e) => `- ${JSON.stringify(e)}`), ''].join('\n'));
    lines.push(`auth: {apiKeysFile: ${keys}}`, 'admin: {auth: true}');
  }
  const gw = await gatewayWith(lines);
  return { gw, sims: servers, address: `127.0.0.1:${gw.port}`, adminKey };
}

// The hub's pool entry for a leaf.
export function leafEntry(leaf, priority = 0) {
  let entry = `{address: "127.0.0.1:${leaf.gw.port}", kind: gateway, admin: "127.0.0.1:${leaf.gw.adminPort}", priority: ${priority}`;
  if (leaf.adminKey) {
    const file = path.join(tmpDir(), 'leaf-admin-key');
    fs.writeFileSync(file, `${leaf.adminKey}\n`);
    entry += `, adminKeyFile: ${file}`;
  }
  return `${entry}}`;
}

// A hub over `leaves` (priorities[i] each, 0 by default).
export async function startHub(leaves, { priorities = [], extra = [], args = [] } = {}) {
  return gatewayWith(['pool:', '  discovery:', '    static:',
    ...leaves.map((l, i) => `    - ${leafEntry(l, priorities[i] ?? 0)}`),
    'retries: {budget: 3, deadline: 30s}', ...extra], args);
}

// The hub's /debug/endpoints entries.
export async function hubEndpoints(hub) {
  return (await (await fetch(`${hub.adminUrl}/debug/endpoints`)).json()).endpoints;
}

// Resolves once the hub routes `model` to exactly the leaves `want` (addresses).
export async function waitLeaves(hub, want, model = MODEL) {
  const sorted = [...want].sort().join(',');
  let last;
  await waitFor(`hub routing ${model} to ${sorted}`, async () => {
    last = await hubEndpoints(hub);
    const got = last.filter((e) => e.routable && e.models.includes(model)).map((e) => e.address).sort().join(',');
    return got === sorted;
  }, 5000).catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(last)}`); });
}

// One completion through `url`; { status, leaf, body }.
export async function complete(url, { model = MODEL, prompt = 'Hello', maxTokens = 4, headers = {} } = {}) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, prompt, max_tokens: maxTokens }),
  });
  const body = await res.text();
  return { status: res.status, leaf: res.headers.get('x-gateway-destination-endpoint'), body };
}

// Runs fn(i) for i in [0, n) with at most `width` at once.
export async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

// The sims' own prefix-cache counters, summed: { hits, queries }.
export async function prefixCounters(sims) {
  let hits = 0, queries = 0;
  for (const s of sims) {
    const m = await scrape(`${s.url}/metrics`);
    for (const [k, v] of m) {
      if (k.startsWith('vllm:prefix_cache_hits_total')) hits += v;
      if (k.startsWith('vllm:prefix_cache_queries_total')) queries += v;
    }
  }
  return { hits, queries };
}

export const metric = (m, name) => [...m].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((s, [, v]) => s + v, 0);
