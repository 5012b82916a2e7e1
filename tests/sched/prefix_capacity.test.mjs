// The approximate index's share of a server kept by the server's own counters
// (control/prefix_capacity.h), end to end: one ringgate-sim of 64 KV blocks of 16 tokens,
// a gateway in the default mode (no KV events), prompts of 500 bytes (125 sim tokens,
// 8 of the index's blocks) sent in a cycle.
// - 12 prompts (96 blocks) overflow the sim: LRU over a cycle longer than the cache
//   evicts each prompt before it comes back, so every request misses, while the index,
//   twice the sim's 64 blocks, still promises each one. Sent 4 at a time to a sim that
//   runs 2, requests wait there, and the share shrinks; sent one at a time, nothing
//   waits, the broken promises cost nothing, and the share stays.
// - 6 prompts (48 blocks) fit: the sim delivers every hit the index promised, and the
//   share stays at twice the sim's KV, queue or not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';
import { debugEndpoints } from './precise_gateway.mjs';
import { text } from '../lib/pseudo_text.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { await Promise.all(live.map((p) => p.stop('SIGKILL'))); });

async function complete(url, prompt) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 4 }),
  });
  await res.text();
  assert.equal(res.status, 200);
}

// Cycles `prompts` distinct prompts for `rounds` rounds, `concurrency` at a time, to a sim
// that runs 2 at once (each ~40 ms); returns each judged window's state.
async function cycle(prompts, rounds, concurrency) {
  const sim = await startSim(['--model', MODEL, '--kv-blocks', '64', '--block-size', '16', '--max-num-seqs', '2',
    '--inter-token-latency-ms', '10']);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api]);
  live.push(gw);
  await waitRoutable(gw, 1);
  const endpoint = async () => (await debugEndpoints(gw)).find((e) => e.address === sim.api);
  await waitFor('the sim\'s cache_config_info read', async () => (await endpoint())?.prefix_index_capacity === 128 || null);
  const seen = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < prompts; i += concurrency) {
      const batch = [];
      for (let j = i; j < Math.min(prompts, i + concurrency); j++) batch.push(complete(gw.url, text(1000 + j, 500)));
      await Promise.all(batch);
    }
    await new Promise((res) => setTimeout(res, 150));  // a few scrapes (every 50 ms): a window is judged at one
    const e = await endpoint();
    if (e.prefix_capacity.windows > (seen.at(-1)?.windows ?? 0)) seen.push({ ...e.prefix_capacity, capacity: e.prefix_index_capacity });
  }
  await sim.stop('SIGKILL');
  await gw.stop('SIGKILL');
  return seen;
}

test('an index that promises hits its server evicted, while requests wait there, gives it a smaller share', async () => {
  const seen = await cycle(12, 8, 4);
  assert.ok(seen.length >= 2, JSON.stringify(seen));
  const broken = seen.find((w) => w.promised - w.delivered > 0.03 && w.queued);
  assert.ok(broken, `no window where the sim delivered less than the index promised, with a queue: ${JSON.stringify(seen)}`);
  assert.ok(broken.delivered < 0.1, JSON.stringify(broken));  // every prompt evicted before it came back
  assert.ok(broken.factor < 2 && broken.capacity < 128, JSON.stringify(broken));
});

test('broken promises with nothing waiting at the server cost nothing: the share stays', async () => {
  const seen = await cycle(12, 8, 1);
  assert.ok(seen.length >= 2, JSON.stringify(seen));
  assert.ok(seen.some((w) => w.promised - w.delivered > 0.03), JSON.stringify(seen));
  for (const w of seen) {
    assert.equal(w.queued, false, JSON.stringify(seen));
    assert.equal(w.factor, 2, JSON.stringify(seen));
  }
});

test('an index whose promises the server keeps stays at twice the server\'s KV', async () => {
  const seen = await cycle(6, 12, 4);
  assert.ok(seen.length >= 2, JSON.stringify(seen));
  assert.ok(seen.some((w) => w.queued), JSON.stringify(seen));
  for (const w of seen) {
    assert.ok(Math.abs(w.promised - w.delivered) < 0.01, JSON.stringify(seen));
    assert.equal(w.factor, 2, JSON.stringify(seen));
    assert.equal(w.capacity, 128, JSON.stringify(seen));
  }
  // Each repeat is a hit as vLLM counts one: 112 of 125 tokens (7 whole blocks; the last token computed again).
  assert.ok(seen.at(-1).delivered > 0.85, JSON.stringify(seen));
});
