// Tier-aware precise prefix scoring, end to end: a ringgate-sim with a CPU tier (vLLM's
// OffloadingConnector) announces the blocks its GPU evicted as BlockStored medium "CPU";
// a gateway in precise mode still sends their prompt there (each block at the CPU's
// weight, 0.8 by default), and one told `tierWeights: {cpu: 0}` scores them 0. Without KV
// events, the approximate index sizes each server's memory from both tiers
// (cache_config_info's num_gpu_blocks and num_cpu_blocks, llm-d-router #1650).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';
import { writePreciseConfig, waitSource, debugEndpoints } from './precise_gateway.mjs';
import { text } from '../lib/pseudo_text.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-tiers-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const kvEvents = JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://127.0.0.1:*',
  topic: 'kv', replay_endpoint: 'tcp://127.0.0.1:*' });
const offload = JSON.stringify({ kv_connector: 'OffloadingConnector', kv_role: 'kv_both',
  kv_connector_extra_config: { num_cpu_blocks: 1024 } });
// 64 GPU blocks of 16 tokens: a 2,000-byte prompt is 500 sim tokens, 31 full blocks.
const startEventSim = (extra = []) => startSim(['--model', MODEL, '--kv-blocks', '64', '--block-size', '16',
  '--kv-events-config', kvEvents, ...extra], { env: { PYTHONHASHSEED: '0' } });

async function complete(url, prompt) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }),
  });
  await res.text();
  assert.equal(res.status, 200);
  return res.headers.get('x-gateway-destination-endpoint');
}

async function pick(gw, prompt) {
  const res = await fetch(`${gw.adminUrl}/debug/pick?path=/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}
const blocksOf = (r, sim) => r.candidates.find((c) => c.endpoint === sim.api).prefix_blocks;

test('a prompt pushed to a server\'s CPU tier still goes there at the CPU\'s weight; with cpu: 0 it does not', async () => {
  const [a, b] = await Promise.all([startEventSim(['--kv-transfer-config', offload]), startEventSim()]);
  live.push(a, b);
  const file = writePreciseConfig(dir, 'gw.yaml', [a, b]);
  const cpu0 = path.join(dir, 'gw-cpu0.yaml');
  fs.writeFileSync(cpu0, fs.readFileSync(file, 'utf8').replace('hashSeed: "0"}', 'hashSeed: "0", tierWeights: {cpu: 0}}'));
  assert.match(fs.readFileSync(cpu0, 'utf8'), /tierWeights: \{cpu: 0\}/);
  const gws = await Promise.all([startGateway(['--config', file]), startGateway(['--config', cpu0])]);
  live.push(...gws);
  const [gw, gwCpu0] = gws;
  await Promise.all(gws.map((g) => waitRoutable(g, 2)));
  // Each stream followed by both gateways (a fresh prompt each try until both say precise).
  let seed = 5000;
  for (const s of [a, b]) {
    await waitFor(`${s.api} followed by both gateways`, async () => {
      await complete(s.url, text(seed++, 100));
      try {
        for (const g of gws) await waitSource(g, s.api, (p) => p.source === 'precise', 'precise', 200);
        return true;
      } catch { return false; }
    }, 20000);
  }

  // The prompt served by a directly: both gateways see it whole on a's GPU.
  const prompt = text(1, 2000);
  await complete(a.url, prompt);
  let total = 0;
  for (const g of gws) {
    await waitFor('the prompt on a\'s GPU', async () => {
      const r = await pick(g, prompt);
      total = r.total_blocks;
      return total > 0 && blocksOf(r, a) === total;
    });
  }
  // Three more prompts (96 blocks) push it out of a's GPU: its blocks stay in a's CPU tier
  // (medium "CPU").
  for (const seed of [2, 3, 4]) await complete(a.url, text(seed, 2000));
  const cpuShare = Math.round(0.8 * total);
  assert.ok(cpuShare > 0 && cpuShare < total);
  const seen = await waitFor(`a's match at the CPU's weight (${cpuShare} of ${total} blocks)`, async () => {
    const r = await pick(gw, prompt);
    return blocksOf(r, a) === cpuShare ? r : null;
  });
  assert.equal(blocksOf(seen, b), 0);
  assert.equal(seen.endpoint, a.api, JSON.stringify(seen.candidates));
  // Told the CPU tier counts for nothing, the other gateway sees no match on a at all.
  let last = null;
  const flat = await waitFor('a\'s CPU-only match scored 0', async () => {
    const r = await pick(gwCpu0, prompt);
    last = r; return blocksOf(r, a) === 0 ? r : null;
  }).catch((e) => { throw new Error(e.message + JSON.stringify(last)); });
  // A prompt cold everywhere: the only prefix score left is the unseen prompt's placement
  // bonus at its rendezvous home (a or b by the prompt's hash), no match anywhere.
  for (const c of flat.candidates) {
    assert.equal(c.prefix_blocks, 0, JSON.stringify(flat.candidates));
    assert.equal(c.prefix_score > 0, c.placement, JSON.stringify(flat.candidates));
  }
  // The data path agrees: routed to a, where the prompt is loaded from the CPU tier.
  assert.equal(await complete(gw.url, prompt), a.api);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_kv_events_unknown_medium_total'), 0);
});

test('approximate routing remembers what a server\'s CPU tier holds: its index is 2x both tiers, not the GPU\'s alone', async () => {
  // Two gateways in the default (approximate) mode, each over one sim of 64 GPU blocks: one
  // sim with a CPU tier of 1,024 blocks, one without. The same 40 prompts through each:
  // ~10x what 2 x 64 blocks can remember, well inside 2 x (64 + 1,024).
  const [a, b] = await Promise.all([
    startSim(['--model', MODEL, '--kv-blocks', '64', '--block-size', '16', '--kv-transfer-config', offload]),
    startSim(['--model', MODEL, '--kv-blocks', '64', '--block-size', '16'])]);
  live.push(a, b);
  const config = (sim, name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static: ["${sim.api}"]\n`);
    return file;
  };
  const gws = await Promise.all([startGateway(['--config', config(a, 'approx-a.yaml')]),
    startGateway(['--config', config(b, 'approx-b.yaml')])]);
  live.push(...gws);
  const [gwA, gwB] = gws;
  await Promise.all(gws.map((g) => waitRoutable(g, 1)));
  for (const [g, sim, cpu, capacity] of [[gwA, a, 1024, 2 * (64 + 1024)], [gwB, b, 0, 2 * 64]]) {
    const e = await waitFor(`${sim.api}'s cache_config_info read`, async () =>
      (await debugEndpoints(g)).find((x) => x.address === sim.api && x.num_gpu_blocks === 64 &&
        x.prefix_index_capacity === capacity) ?? null);
    assert.equal(e.num_cpu_blocks, cpu, JSON.stringify(e));
  }
  const first = text(100, 2000);
  for (const g of gws) {
    await complete(g.url, first);
    for (let i = 1; i < 40; i++) await complete(g.url, text(100 + i, 2000));
  }
  const [ra, rb] = [await pick(gwA, first), await pick(gwB, first)];
  assert.ok(ra.total_blocks * 40 > 2 * 2 * 64, `40 prompts of ${ra.total_blocks} blocks do not overflow 2 x 64`);
  assert.equal(blocksOf(ra, a), ra.total_blocks, `a's index forgot the first prompt: ${JSON.stringify(ra.candidates)}`);
  assert.equal(blocksOf(rb, b), 0, `b's index (2 x 64 blocks) still holds the first prompt: ${JSON.stringify(rb.candidates)}`);
});
