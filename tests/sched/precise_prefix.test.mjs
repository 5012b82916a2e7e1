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

function text(seed, bytes) {
  let x = (seed * 2654435761) % 4294967296;
  let s = '';
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += 'w' + (x % 9973).toString(36) + ' ';
  }
  return s.slice(0, bytes);
}

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
