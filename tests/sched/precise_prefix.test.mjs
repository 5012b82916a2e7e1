// Precise prefix routing from vLLM KV-cache events, end to end: real ringgate-sims
// publish KVEventBatches (ZMQ PUB + replay ROUTER, vLLM's wire format and sha256_cbor
// block hashes with PYTHONHASHSEED=0); a real ringgate in `mode: precise` follows them
// and sends a prompt to the server whose events say it holds the prompt's blocks,
// even when the gateway itself never routed that prompt anywhere.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { writePreciseConfig, debugEndpoints, waitSource } from './precise_gateway.mjs';
import { text } from '../lib/pseudo_text.mjs';
import { waitFor } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-precise-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const simEnv = { PYTHONHASHSEED: '0' };
function kvConfig(replay) {
  const c = { enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://127.0.0.1:*', topic: 'kv' };
  if (replay) c.replay_endpoint = 'tcp://127.0.0.1:*';
  return JSON.stringify(c);
}
const startEventSim = (replay = true, extra = []) =>
  startSim(['--model', MODEL, '--kv-blocks', '256', '--block-size', '16', '--kv-events-config', kvConfig(replay), ...extra],
    { env: simEnv });

async function complete(url, prompt) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }),
  });
  await res.text();
  assert.equal(res.status, 200);
  return res.headers.get('x-gateway-destination-endpoint');
}

test('a prompt cached on a server (by its events) is routed there; replay fills a late subscription; a gap falls back', async () => {
  // d is warmed before the gateway subscribes: its history comes by replay.
  // e has no replay socket: warmed early, its first batch seen is not seq 0 -> fallback.
  const sims = await Promise.all([startEventSim(), startEventSim(), startEventSim(), startEventSim(true), startEventSim(false)]);
  live.push(...sims);
  const [a, b, c, d, e] = sims;
  const early = text(999, 2048);
  await complete(d.url, early);
  await complete(e.url, text(998, 2048));

  const gw = await startGateway(['--config', writePreciseConfig(dir, 'gw.yaml', sims)]);
  live.push(gw);
  await waitRoutable(gw, 5);
  // Until the gateway's subscription is live a batch can go unseen: each server gets
  // fresh prompts (each one a new batch) until the gateway reports the state awaited.
  let seed = 10000;
  async function until(sim, pred, what) {
    for (let i = 0; i < 100; i++) {
      await complete(sim.url, text(seed++, 100));
      try {
        return await waitSource(gw, sim.api, pred, what, 200);
      } catch {}
    }
    return waitSource(gw, sim.api, pred, what);
  }
  for (const s of [a, b, c]) await until(s, (p) => p.source === 'precise', 'precise');
  // d's seq 0 went out before the gateway subscribed: it comes by replay.
  await until(d, (p) => p.source === 'precise' && p.last_seq >= 1, 'precise after replay');
  // e cannot replay: its set is not trusted.
  const fallback = await until(e, (p) => p.source === 'approximate-fallback', 'fallback');
  assert.match(fallback.reason, /lost batches 0\.\.\d+ \(no replay endpoint\)/);

  // Prompts the gateway never routed: each warmed directly on one server.
  const targets = [a, b, c, a, b, c, d];
  const prompts = targets.map((_, i) => (i === 6 ? early : text(100 + i, 3000)));
  for (let i = 0; i < 6; i++) {
    const before = (await waitSource(gw, targets[i].api, () => true, 'any')).blocks;
    await complete(targets[i].url, prompts[i]);
    await waitSource(gw, targets[i].api, (p) => p.blocks > before, 'blocks announced');
  }
  for (let i = 0; i < targets.length; i++) {
    const got = await complete(gw.url, prompts[i]);
    assert.equal(got, targets[i].api, `prompt ${i} warmed on ${targets[i].api} went to ${got}`);
  }

  const src = await waitSource(gw, a.api, () => true, 'any');
  assert.equal(src.max_blocks, 262144);  // kvEvents.maxBlocksPerEndpoint's default: the bound, reported
  assert.ok(src.blocks > 0 && src.blocks <= src.max_blocks);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok(m.get('ringgate_kv_events_index_blocks') > 0);
  assert.ok(m.get('ringgate_kv_events_index_memory_bytes') > 0);
  assert.equal(m.get('ringgate_kv_events_endpoints_fallback'), 1);
  assert.ok(m.get('ringgate_kv_events_replayed_batches_total') >= 1);
  assert.ok(m.get('ringgate_kv_events_gaps_total') >= 2);
});

test('without precise mode the prefix source says approximate', async () => {
  const sim = await startEventSim();
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api]);
  live.push(gw);
  await waitRoutable(gw, 1);
  const [ep] = await debugEndpoints(gw);
  assert.equal(ep.prefix_source.source, 'approximate');
  assert.match(ep.prefix_source.reason, /no KV events configured/);
});

// Issue 48: vLLM's data-parallel rank R publishes its KV events on the configured port + R.
// A server of two ranks behind one port: a prompt warmed on rank 1 alone (the header sent to
// the server directly) is routed to rank 1 by the events of that rank's stream.
test('precise mode rank by rank: each rank of a one-port server is followed on its own event port', { timeout: 60000 }, async () => {
  const { freePort } = await import('../lib/prometheus.mjs');
  let sim = null;
  let base = 0;
  let replay = 0;
  // Two consecutive free ports for the publishers, two for the replay sockets.
  for (let attempt = 0; attempt < 20 && !sim; attempt++) {
    base = await freePort();
    replay = await freePort();
    if (Math.abs(base - replay) < 2 || base + 1 > 65535 || replay + 1 > 65535) continue;
    const c = { enable_kv_cache_events: true, publisher: 'zmq', endpoint: `tcp://*:${base}`,  // bound (vLLM connects a PUB to any other host)
      replay_endpoint: `tcp://127.0.0.1:${replay}`, topic: 'kv' };
    try {
      sim = await startSim(['--model', MODEL, '--kv-blocks', '256', '--block-size', '16', '--data-parallel-size', '2',
        '--data-parallel-stats-interval-ms', '0', '--kv-events-config', JSON.stringify(c)], { env: simEnv });
    } catch { /* a port was taken meanwhile: another pair */ }
  }
  assert.ok(sim, 'no free port pair for the sim\'s publishers');
  live.push(sim);
  const gw = await startGateway(['--config', writePreciseConfig(dir, 'dp.yaml',
    [{ api: sim.api, kv_events: `tcp://127.0.0.1:${base}`, kv_replay: `tcp://127.0.0.1:${replay}` }])]);
  live.push(gw);
  await waitRoutable(gw, 2);
  const ranks = (await debugEndpoints(gw)).sort((x, y) => x.data_parallel_rank - y.data_parallel_rank);
  assert.deepEqual(ranks.map((e) => [e.data_parallel_rank, e.prefix_source.events_address]),
    [[0, `tcp://127.0.0.1:${base}`], [1, `tcp://127.0.0.1:${base + 1}`]]);
  assert.equal(ranks[1].prefix_source.replay_address, `tcp://127.0.0.1:${replay + 1}`);
  // Both ranks' streams followed (a warm-up batch each, until the gateway reports precise).
  for (let r = 0, seed = 20000; r < 2; r++) {
    for (let i = 0; ; i++) {
      await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-data-parallel-rank': String(r) },
        body: JSON.stringify({ model: MODEL, prompt: text(seed++, 100), max_tokens: 1 }) }).then((res) => res.text());
      const src = (await debugEndpoints(gw)).find((e) => e.data_parallel_rank === r).prefix_source;
      if (src.source === 'precise' && src.blocks > 0) break;
      assert.ok(i < 100, `rank ${r}: ${JSON.stringify(src)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  for (let k = 0; k < 4; k++) {
    const prompt = text(300 + k, 3000);
    const warmRank = k % 2;
    const before = (await debugEndpoints(gw)).find((e) => e.data_parallel_rank === warmRank).prefix_source.blocks;
    const warm = await fetch(`${sim.url}/v1/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-data-parallel-rank': String(warmRank) },
      body: JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }) });
    await warm.text();
    assert.equal(warm.headers.get('x-sim-engine'), String(warmRank));
    await waitSource(gw, sim.api, () => true, 'any');
    for (const t0 = performance.now(); ; await new Promise((res) => setTimeout(res, 20))) {
      const src = (await debugEndpoints(gw)).find((e) => e.data_parallel_rank === warmRank).prefix_source;
      if (src.blocks > before) break;
      assert.ok(performance.now() - t0 < 5000, `rank ${warmRank} announced no blocks`);
    }
    const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }) });
    await res.text();
    assert.equal(res.headers.get('x-sim-engine'), String(warmRank), `prompt ${k} warmed on rank ${warmRank}`);
  }
});

// Issue 71 (rank boundaries): a server whose ranks each have their own port (vLLM's external
// load balancing, `--data-parallel-rank R`): rank R's events are on kvEvents.port + R and
// its replay on replayPort + R, rank 0 on the ports themselves and rank N-1 on + N-1.
test('precise mode, one port per rank: rank 0 on kvEvents.port, rank N-1 on port + N-1', { timeout: 60000 },
  async () => {
    const size = 4;
    const ranks = [];
    for (let r = 0; r < size; r++)
      ranks.push(await startSim(['--model', MODEL, '--data-parallel-size', String(size), '--data-parallel-rank',
        String(r)], { env: simEnv }));
    live.push(...ranks);
    const file = path.join(dir, 'per-rank-ports.yaml');
    fs.writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
scheduler:
  scorers:
    prefix: {weight: 5, mode: precise, tokenizer: "sim-bytes", blockSize: 16, hashSeed: "0"}
kvEvents:
  port: 41000
  replayPort: 42000
  topic: kv
`);
    // One server, a port per rank, in rank order (the --endpoint host:p0,p1,... form).
    const gw = await startGateway(['--config', file, '--endpoint', `127.0.0.1:${ranks.map((s) => s.port).join(',')}`]);
    live.push(gw);
    await waitRoutable(gw, size);
    const eps = await waitFor('every rank listed', async () => {
      const list = await debugEndpoints(gw);
      return list.length === size && list.every((e) => e.data_parallel_rank != null) ? list : null;
    });
    const byRank = new Map(eps.map((e) => [e.data_parallel_rank, e.prefix_source]));
    for (const r of [0, size - 1]) {
      assert.equal(byRank.get(r)?.events_address, `tcp://127.0.0.1:${41000 + r}`, `rank ${r}: ${JSON.stringify(eps)}`);
      assert.equal(byRank.get(r)?.replay_address, `tcp://127.0.0.1:${42000 + r}`, `rank ${r}`);
    }
  });
