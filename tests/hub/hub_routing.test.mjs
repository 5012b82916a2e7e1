// Issue 70: a hub ringgate over 3 leaf ringgates, each with 2 sims, on loopback.
//   - the hub reads each leaf's /debug/load with the leaf's admin key (without it: 401, the
//     leaf stays unscheduled, counted); a model one leaf serves is routed only there;
//   - locality: below saturation every request stays on the priority-0 leaf; past it the
//     overflow goes to priority 1, counted on /metrics, and no request fails;
//   - loops: x-ringgate-hops past hub.maxHops is 508 (N passes, N + 1 refused); a hub
//     pointed at itself and two hubs in a cycle answer 508 after maxHops + 1 passes;
//   - a drained leaf (SIGTERM) gets no new request 1 s on, and its streams finish.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, scrape } from '../lib/procs.mjs';
import { freePort } from '../lib/prometheus.mjs';
import { waitFor, qualityBound } from '../lib/timing.mjs';
import {
  MODEL, live, stopAll, startLeaf, startHub, leafEntry, waitLeaves, complete, pool, metric, gatewayWith, hubEndpoints,
} from './topology.mjs';

after(stopAll);

const ONLY_B = 'only-on-leaf-b';
const ADMIN_KEY = 'sk-hub-reads-leaves-0a1b2c';
const CLIENT_KEY = 'sk-client-7f7f7f';

test('the hub reads each leaf with its admin key; a model one leaf serves is routed only there', async () => {
  const a = await startLeaf({ adminKey: ADMIN_KEY, apiKeys: [CLIENT_KEY] });
  const b = await startLeaf({ adminKey: ADMIN_KEY, apiKeys: [CLIENT_KEY], simArgs: ['--model', ONLY_B] });
  const c = await startLeaf({ adminKey: ADMIN_KEY, apiKeys: [CLIENT_KEY] });
  // The leaf's summary wants its admin key.
  assert.equal((await fetch(`${a.gw.adminUrl}/debug/load`)).status, 401);
  const summary = await (await fetch(`${a.gw.adminUrl}/debug/load`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
  assert.equal(summary.version, 1);
  assert.equal(summary.draining, false);
  assert.deepEqual(summary.models, [{ name: MODEL, ready: 2 }]);
  const hub = await startHub([a, b, c]);
  await waitLeaves(hub, [a.address, c.address], MODEL);
  await waitLeaves(hub, [b.address], ONLY_B);
  const auth = { authorization: `Bearer ${CLIENT_KEY}` };
  const seen = new Map();
  await pool(60, 6, async (i) => {
    const r = await complete(hub.url, { model: ONLY_B, prompt: `only b ${i}`, headers: auth });
    assert.equal(r.status, 200, r.body);
    seen.set(r.leaf, (seen.get(r.leaf) ?? 0) + 1);
  });
  assert.deepEqual([...seen.keys()], [b.address], 'a model only leaf b serves goes only to leaf b');
  const other = await pool(30, 6, (i) => complete(hub.url, { prompt: `base ${i}`, headers: auth }));
  for (const r of other) assert.equal(r.status, 200, r.body);
  assert.ok(other.every((r) => r.leaf !== b.address), 'leaf b does not serve the base model: never routed there');

  // A hub without the leaf's admin key: the leaf answers 401, stays unscheduled.
  const blind = await gatewayWith(['pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${a.gw.port}", kind: gateway, admin: "127.0.0.1:${a.gw.adminPort}"}`]);
  await waitFor('the 401 seen', async () => (await hubEndpoints(blind))[0]?.health?.last_error?.includes('401'));
  assert.equal((await hubEndpoints(blind))[0].routable, false);
});

test('locality: the priority-0 leaf keeps the traffic below saturation, the overflow goes to priority 1', async (t) => {
  // Sims that run 2 sequences each, 30 ms a token: leaf 0 (4 slots) saturates under 8 at once.
  const simArgs = ['--max-num-seqs', '2', '--inter-token-latency-ms', '30'];
  const [local, near, far] = await Promise.all([startLeaf({ simArgs }), startLeaf({ simArgs }), startLeaf({ simArgs })]);
  const hub = await startHub([local, near, far], { priorities: [0, 1, 2] });
  await waitLeaves(hub, [local.address, near.address, far.address]);
  // One at a time: nothing queues anywhere.
  const calm = await pool(200, 1, (i) => complete(hub.url, { prompt: `calm ${i}`, maxTokens: 1 }));
  for (const r of calm) assert.equal(r.status, 200, r.body);
  const stayed = calm.filter((r) => r.leaf === local.address).length;
  // A leaf whose summary is late (a loaded machine) counts as saturated: a placement bound.
  qualityBound(t, stayed >= 198, `>= 99% stay local below saturation: ${stayed}/200`);
  let m = await scrape(`${hub.adminUrl}/metrics`);
  const overflowBefore = metric(m, 'ringgate_hub_priority_overflows_total');
  assert.equal(overflowBefore, 200 - stayed);
  // 8 at once, 10 tokens each: leaf 0 (4 slots) saturates, the overflow goes to priority 1
  // first, whose 4 slots take the rest. (40 at once saturated all three levels, 12 slots in
  // all, and spread evenly, as it should: local 80, far 80 on a loaded CI machine.)
  const busy = await pool(120, 8, (i) => complete(hub.url, { prompt: `busy ${i}`, maxTokens: 10 }));
  const failed = busy.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `no request fails: ${failed.slice(0, 3).map((r) => r.body).join(' | ')}`);
  const at = (leaf) => busy.filter((r) => r.leaf === leaf.address).length;
  // Where the overflow goes follows the leaves' load summaries in time: a placement bound (under
  // ASan beside the heaviest tests all 120 stayed local once: local 120, near 0, far 0).
  qualityBound(t, at(near) > 0, `the overflow reaches priority 1: local ${at(local)}, near ${at(near)}, far ${at(far)}`);
  qualityBound(t, at(local) > at(far), `priority 0 keeps more than priority 2: local ${at(local)}, far ${at(far)}`);
  m = await scrape(`${hub.adminUrl}/metrics`);
  assert.equal(metric(m, 'ringgate_hub_priority_overflows_total') - overflowBefore, at(near) + at(far),
    'every request past priority 0 is counted as an overflow');
});

test('loops: x-ringgate-hops past hub.maxHops is 508, a hub pointed at itself and two hubs in a cycle end there', async () => {
  const leaf = await startLeaf();
  // The hub allows 1 hop, the leaf the default 2: the hub's forward of 1 arrives with 2.
  const hub = await startHub([leaf], { extra: ['hub: {maxHops: 1}'] });
  await waitLeaves(hub, [leaf.address]);
  const at1 = await complete(hub.url, { headers: { 'x-ringgate-hops': '1' } });
  assert.equal(at1.status, 200, `maxHops hops pass: ${at1.body}`);
  const at2 = await complete(hub.url, { headers: { 'x-ringgate-hops': '2' } });
  assert.equal(at2.status, 508, at2.body);
  const error = JSON.parse(at2.body).error;
  assert.equal(error.code, 'loop_detected');
  assert.equal(error.type, 'server_error');
  assert.match(error.message, /hub\.maxHops \(1\)/);
  const bad = await complete(hub.url, { headers: { 'x-ringgate-hops': 'many' } });
  assert.equal(bad.status, 400, bad.body);
  assert.equal(JSON.parse(bad.body).error.code, 'invalid_hops');
  assert.equal(metric(await scrape(`${hub.adminUrl}/metrics`), 'ringgate_hub_loops_refused_total'), 1);

  // A hub pointed at itself (it declares the model, so it routes to itself at once).
  const [api, admin] = [await freePort(), await freePort()];
  const self = await gatewayWith(['pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${api}", kind: gateway, admin: "127.0.0.1:${admin}"}`],
  ['--listen', `127.0.0.1:${api}`, '--admin', `127.0.0.1:${admin}`, '--model', MODEL]);
  await waitLeaves(self, [`127.0.0.1:${api}`]);
  const looped = await complete(self.url);
  assert.equal(looped.status, 508, looped.body);
  assert.equal(JSON.parse(looped.body).error.code, 'loop_detected');
  const selfMetrics = await scrape(`${self.adminUrl}/metrics`);
  assert.equal(metric(selfMetrics, 'ringgate_hub_loops_refused_total'), 1, 'refused once: no storm');

  // Two hubs in a cycle.
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const cycle = (mine, theirs) => gatewayWith(['pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${theirs[0]}", kind: gateway, admin: "127.0.0.1:${theirs[1]}"}`],
  ['--listen', `127.0.0.1:${mine[0]}`, '--admin', `127.0.0.1:${mine[1]}`, '--model', MODEL]);
  const [x, y] = await Promise.all([cycle(ports.slice(0, 2), ports.slice(2)), cycle(ports.slice(2), ports.slice(0, 2))]);
  await waitLeaves(x, [`127.0.0.1:${ports[2]}`]);
  await waitLeaves(y, [`127.0.0.1:${ports[0]}`]);
  const round = await complete(x.url);
  assert.equal(round.status, 508, round.body);
  const refused = metric(await scrape(`${x.adminUrl}/metrics`), 'ringgate_hub_loops_refused_total') +
    metric(await scrape(`${y.adminUrl}/metrics`), 'ringgate_hub_loops_refused_total');
  assert.equal(refused, 1, 'one 508, passed back: no storm');
});

// A stream of `tokens` tokens through `url`: { status, leaf, text, done, error }.
async function stream(url, prompt, tokens) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: tokens, stream: true }),
  });
  const raw = await res.text();
  let text = '';
  let error = null;
  for (const e of raw.split('\n\n')) {
    if (!e.startsWith('data: {')) continue;
    const ev = JSON.parse(e.slice(6));
    if (ev.error) error = ev.error;
    for (const c of ev.choices ?? []) text += c.text ?? '';
  }
  return { status: res.status, leaf: res.headers.get('x-gateway-destination-endpoint'), text, done: raw.endsWith('data: [DONE]\n\n'), error };
}

test('a drained leaf gets no new request 1 s on, and its streams finish', async () => {
  const simArgs = ['--inter-token-latency-ms', '20'];
  const leaves = await Promise.all([startLeaf({ simArgs }), startLeaf({ simArgs }), startLeaf({ simArgs })]);
  const hub = await startHub(leaves);
  await waitLeaves(hub, leaves.map((l) => l.address));
  // Streams of 60 tokens (~1.2 s) on every leaf, then leaf 0 drains under them.
  const running = pool(30, 30, (i) => stream(hub.url, `drain ${i}`, 60));
  const drained = leaves[0];
  await waitFor('streams on leaf 0', async () => metric(await scrape(`${drained.gw.adminUrl}/metrics`), 'inference_objective_running_requests') > 0);
  const t0 = performance.now();
  const stopped = drained.gw.stop('SIGTERM');
  const after1s = [];
  const during = pool(300, 4, async (i) => {
    const r = await complete(hub.url, { prompt: `during drain ${i}`, maxTokens: 2 });
    if (performance.now() - t0 >= 1000) after1s.push(r);
    return r;
  });
  const [streams, requests] = await Promise.all([running, during]);
  await stopped;
  for (const s of streams) {
    assert.equal(s.status, 200);
    assert.equal(s.error, null, `a stream ended in an error: ${JSON.stringify(s.error)}`);
    assert.ok(s.done, 'every stream ends with [DONE]');
  }
  assert.ok(streams.some((s) => s.leaf === drained.address), 'some streams ran on the drained leaf and finished');
  for (const r of requests) assert.equal(r.status, 200, r.body);
  assert.ok(after1s.length > 0, 'requests were sent 1 s into the drain');
  assert.equal(after1s.filter((r) => r.leaf === drained.address).length, 0, 'none of them went to the drained leaf');
});
