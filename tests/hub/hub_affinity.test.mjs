// Issue 70: prefix affinity through a hub. A multi-turn workload of many prompt groups (each
// its own long system prompt, every turn the conversation so far) runs once through one flat
// ringgate over 6 sims and once through a hub over 3 leaves of 2 sims each (fresh sims both
// times): the sims' own prefix-cache hit rate (vllm:prefix_cache_hits / queries) through the
// hub is at least 0.95 of the flat one's. The hub's index sends a group to one leaf, the
// leaf's to one of its sims.
//
// Responses API chains through the hub: 100 chains, each turn through the hub, 0 not-found;
// the leaf holding some of them killed: those get the documented 404
// (previous_response_not_found), the others pass.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSim } from '../lib/procs.mjs';
import { qualityBound } from '../lib/timing.mjs';
import { responseTurn, pool as chainPool, describe } from '../lib/responses_chain.mjs';
import { MODEL, live, stopAll, startLeaf, startHub, waitLeaves, pool, prefixCounters, gatewayWith } from './topology.mjs';
import { waitRoutable, waitRefused } from '../lib/procs.mjs';

after(stopAll);

const GROUPS = 36;
const TURNS = 4;
const simArgs = ['--kv-blocks', '4096', '--max-num-seqs', '64'];

// Group g's system prompt: ~1,500 bytes of its own.
const system = (g) => Array.from({ length: 60 }, (_, k) => `group ${g} rule ${k}: answer within the scope.`).join(' ');
const promptOf = (g, t) => {
  let p = system(g);
  for (let k = 0; k <= t; k++) p += `\nUser: turn ${k} of group ${g}, what next?\nAssistant: step ${k} done for group ${g}.`;
  return p;
};

// The workload, turn by turn, 8 at a time; resolves with the sims' hit rate.
async function run(url, sims) {
  for (let t = 0; t < TURNS; t++) {
    const out = await pool(GROUPS, 8, async (g) => {
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: promptOf(g, t), max_tokens: 2 }),
      });
      await res.text();
      return res.status;
    });
    assert.deepEqual(out.filter((s) => s !== 200), [], `turn ${t}: every request answered`);
  }
  const { hits, queries } = await prefixCounters(sims);
  return hits / queries;
}

test('prefix affinity through the hub: the sims hit their caches at >= 0.95x the rate under one flat gateway', { timeout: 120000 }, async (t) => {
  const flatSims = await Promise.all(Array.from({ length: 6 }, () => startSim(simArgs)));
  live.push(...flatSims);
  const flat = await gatewayWith(['pool:', '  discovery:', `    static: [${flatSims.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]`]);
  await waitRoutable(flat, 6);
  const flatRate = await run(flat.url, flatSims);

  const leaves = await Promise.all([0, 1, 2].map(() => startLeaf({ simArgs })));
  const hub = await startHub(leaves);
  await waitLeaves(hub, leaves.map((l) => l.address));
  const hubRate = await run(hub.url, leaves.flatMap((l) => l.sims));
  console.log(`prefix-cache hit rate: flat ${flatRate.toFixed(4)}, through the hub ${hubRate.toFixed(4)} (${(hubRate / flatRate).toFixed(3)}x)`);
  assert.ok(flatRate > 0.5, `the workload has prefixes to hit: ${flatRate}`);
  qualityBound(t, hubRate >= 0.95 * flatRate, `hub ${hubRate} < 0.95 x flat ${flatRate}`);
});

test('Responses chains through the hub: 100 chains 0 not-found; their holder leaf killed, its chains 404, the others pass', { timeout: 120000 }, async () => {
  const leaves = await Promise.all([0, 1, 2].map(() => startLeaf({ simArgs: ['--enable-responses-store'] })));
  const hub = await startHub(leaves);
  await waitLeaves(hub, leaves.map((l) => l.address));
  const client = new OpenAI({ baseURL: `${hub.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const chains = Array.from({ length: 100 }, () => ({ id: null, holder: null }));
  for (let turn = 0; turn < 3; turn++) {
    const outcomes = await chainPool(100, 16, async (c) => {
      const r = await responseTurn(client, MODEL, c, turn, chains[c].id);
      if (chains[c].holder) assert.equal(r.holder, chains[c].holder, `chain ${c} stays on its leaf`);
      chains[c] = r;
    });
    const failed = outcomes.filter((o) => !o.ok);
    assert.equal(failed.length, 0, `turn ${turn}: ${failed.slice(0, 3).map((o) => describe(o.error)).join(' | ')}`);
  }
  const victim = leaves[0];
  const held = chains.filter((c) => c.holder === victim.address).length;
  console.log(`chains on the victim: ${held}`);
  assert.ok(held > 0 && held < 100, `the chains spread over the leaves: ${held} on the victim`);
  await victim.gw.stop('SIGKILL');
  await waitRefused(victim.gw.port);  // gone, not a leaf that resets connections (procs.mjs)
  await waitLeaves(hub, [leaves[1].address, leaves[2].address]);
  const outcomes = await chainPool(100, 16, (c) => responseTurn(client, MODEL, c, 3, chains[c].id));
  outcomes.forEach((o, c) => {
    if (chains[c].holder !== victim.address) {
      assert.ok(o.ok, `chain ${c} on a live leaf passes: ${describe(o.error)}`);
      return;
    }
    assert.ok(!o.ok, `chain ${c} on the killed leaf cannot continue`);
    assert.equal(o.error.status, 404, describe(o.error));
    assert.equal(o.error.code, 'previous_response_not_found', describe(o.error));
  });
});
