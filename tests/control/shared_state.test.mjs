// Issue 33, shared state through Redis (sharedState / --redis), against a real
// redis-server on a free loopback port: two gateways in front of one sim see each
// other's in-flight requests (/debug/shared othersInflight, which the scorers add to
// their own count) and prefill tokens (othersPrefillTokens, the latency model's feature); a SIGKILLed replica's share expires; Redis SIGKILLed: requests keep
// succeeding, the fallback is counted and shown; Redis back: shared again within 5 s;
// what one replica routes reaches the other's prefix index (placements), and foreign
// or torn entries in their stream are skipped and counted;
// AUTH from passwordFile; hostile replies (a huge array, a huge bulk string, a reply to
// no command) are refused and counted, and the gateway stays up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { sleep, timeScale, waitFor } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop('SIGKILL'); });
const shared = async (gw) => (await fetch(`${gw.adminUrl}/debug/shared`)).json();

const complete = (gw, maxTokens = 1) => fetch(`${gw.url}/v1/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: MODEL, prompt: 'hello there', max_tokens: maxTokens, ignore_eos: true }),
}).then(async (r) => ({ status: r.status, body: await r.text() }));

// A real Redis, `count` sims (with `simArgs`) and two gateways A and B sharing state
// through it, both routable and shared; `ep` is the first sim's address.
async function twoReplicas(simArgs, count = 1) {
  const redis = await startRedis();
  live.push(redis);
  const sims = [];
  for (let k = 0; k < count; k++) {
    const sim = await startSim(['--model', MODEL, ...simArgs]);
    live.push(sim);
    sims.push(sim);
  }
  const eps = sims.map((sim) => `127.0.0.1:${sim.port}`);
  const args = ['--workers', '1', '--redis', `127.0.0.1:${redis.port}`, ...eps.flatMap((ep) => ['--endpoint', ep])];
  const a = await startGateway(args);
  live.push(a);
  const b = await startGateway(args);
  live.push(b);
  await waitRoutable(a);
  await waitRoutable(b);
  await waitFor('both shared', async () => (await shared(a)).state === 'shared' && (await shared(b)).state === 'shared');
  return { ep: eps[0], eps, a, b, redis };
}

test('two replicas see each other\'s in-flight requests; a dead replica\'s share expires', async () => {
  const { ep, a, b } = await twoReplicas(['--inter-token-latency-ms', '20']);
  assert.equal((await shared(b)).replicas, 2);
  // Each knows it is one of two: the scheduler's snapshot carries the count (unseen
  // prompts then go to their rendezvous home unless it is overloaded).
  const pick = async (gw) => (await (await fetch(`${gw.adminUrl}/debug/pick?path=/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 }),
  })).json()).gateway_replicas;
  await waitFor('both schedulers see two replicas', async () => (await pick(a)) === 2 && (await pick(b)) === 2);
  // Six requests of ~100 tokens x 20 ms each in flight through A only.
  const pending = Array.from({ length: 6 }, () => complete(a, 100).catch(() => null));  // cut when A dies
  await waitFor('B sees A\'s 6 in flight', async () => (await shared(b)).othersInflight[ep] === 6);
  assert.deepEqual((await shared(a)).othersInflight, {}, 'A does not count its own requests twice');
  // A dies with its requests: its share leaves B's view once its TTL passes.
  await a.stop('SIGKILL');
  await waitFor('A\'s share expired', async () => (await shared(b)).othersInflight[ep] === undefined, 3000);
  await waitFor('B sees one replica', async () => (await shared(b)).replicas === 1, 3000);
  await waitFor('B\'s scheduler sees one replica', async () => (await pick(b)) === 1, 3000);
  await Promise.allSettled(pending);
  const m = await scrape(`${b.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_shared_state_up'), 1);
  assert.ok(m.get('ringgate_shared_state_syncs_total') > 0);
});

test('the others\' in-flight prefill tokens are shared too, and reach the latency model\'s feature', async () => {
  // ~1000-token prompts (4 bytes a token) at 1 ms a token, prefilled one after another.
  const { ep, a, b } = await twoReplicas(['--prefill-time-per-token-us', '1000', '--max-model-len', '4096']);
  const long = (i) => fetch(`${a.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: `${i} ${'lorem ipsum '.repeat(330)}`, max_tokens: 1, stream: true }),
  }).then((r) => r.text());
  const pending = Array.from({ length: 3 }, (_, i) => long(i));
  let seen = 0;
  await waitFor('B sees A\'s prefill tokens', async () => (seen = (await shared(b)).othersPrefillTokens[ep] ?? 0) > 1000);
  assert.deepEqual((await shared(a)).othersPrefillTokens, {}, 'A does not count its own tokens twice');
  // B's decision reads them as the endpoint's in-flight prefill (its own are 0).
  const res = await fetch(`${b.adminUrl}/debug/pick?path=/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 }),
  });
  const picked = await res.json();
  assert.ok(picked.candidates[0].inflight_prefill_tokens > 0, JSON.stringify(picked.candidates[0]));
  await Promise.all(pending);
  await waitFor('A\'s prefills done: nothing left to share', async () => (await shared(b)).othersPrefillTokens[ep] === undefined);
  console.log(`B saw up to ${seen} of A's prefill tokens in flight`);
});

// A placement payload record: address length, "host:port", entry count (LE), entries (LE).
function placementRecord(address, hashes) {
  const b = Buffer.alloc(1 + address.length + 2 + 8 * hashes.length);
  b[0] = address.length;
  b.write(address, 1, 'latin1');
  b.writeUInt16LE(hashes.length, 1 + address.length);
  hashes.forEach((h, i) => b.writeBigUInt64LE(h, 3 + address.length + 8 * i));
  return b;
}

test('what one replica routed is in the other\'s prefix index: a conversation\'s next turn through B goes where A sent it', async () => {
  const { eps, a, b, redis } = await twoReplicas([], 4);
  const pickB = async (messages) => (await fetch(`${b.adminUrl}/debug/pick?path=/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages, max_tokens: 1 }),
  })).json();
  const turn1 = [
    { role: 'system', content: `You answer questions about ${'the history of shipping lanes '.repeat(60)}` },
    { role: 'user', content: 'Which lane was busiest in 1890, and why did it decline afterwards?' },
  ];
  await waitFor('B\'s scheduler knows its index is shared', async () => (await pickB(turn1)).prefix_index_shared === true);
  const r = await fetch(`${a.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: turn1, max_tokens: 8 }),
  });
  const answer = await r.json();
  const where = r.headers.get('x-gateway-destination-endpoint');
  assert.equal(r.status, 200);
  await waitFor('B received A\'s placement', async () => (await shared(b)).placements.received >= 1);
  assert.ok((await shared(a)).placements.sent >= 1);
  const turn2 = [...turn1, answer.choices[0].message, { role: 'user', content: 'And the one after it?' }];
  const picked = await pickB(turn2);
  assert.equal(picked.endpoint, where, JSON.stringify(picked));
  assert.ok(picked.matched_blocks > 0.5 * picked.total_blocks, `B matched ${picked.matched_blocks} of ${picked.total_blocks} blocks`);
  assert.equal((await shared(a)).placements.received, 0, 'A does not read its own placements back');

  // Hostile or foreign entries in the stream: skipped and counted, the rest applied, still shared.
  const [keys] = await redisCommand(redis.port, [['KEYS', '*:placements']]);
  assert.equal(keys.length, 1, JSON.stringify(keys));
  const before = (await shared(b)).placements;
  const entry = (payload) => ['XADD', keys[0], '*', 'r', 'someone-else', 'p', payload];
  await redisCommand(redis.port, [
    entry(Buffer.from([200, 49, 50])),                                   // an address running past the end
    entry(Buffer.concat([placementRecord('10.9.9.9:1', [1n, 2n])])),     // a server B does not know
    entry(placementRecord(eps[0], [])),             // no entries
    entry(Buffer.concat([placementRecord(eps[0], [7n]), Buffer.from([3, 0])])),  // a good record, then a torn one
    entry(Buffer.alloc(40 * 1024, 1)),                                   // more than one sync may carry
  ]);
  await waitFor('B counted them', async () => {
    const p = (await shared(b)).placements;
    return p.malformed - before.malformed >= 4 && p.unknownEndpoints - before.unknownEndpoints >= 1;
  });
  const after_ = await shared(b);
  assert.equal(after_.state, 'shared');
  assert.equal(after_.placements.current, true);
  assert.equal(after_.placements.received - before.received, 1, 'the good record before the torn one was applied');
  assert.equal((await complete(b)).status, 200);

  // The stream made anew with ids below the last one B read (Redis lost it, or came back
  // with an earlier clock): B reads it from its start, and A's placements reach it again.
  const future = '99999999999999-0';
  await redisCommand(redis.port, [['XADD', keys[0], future, 'r', 'someone-else', 'p', placementRecord(eps[1], [9n])]]);
  // (A's entries after it get ids of that millisecond too: XADD never goes back)
  await waitFor('B read the far-future entry', async () => (await shared(b)).placements.lastId.startsWith('99999999999999-'));
  await redisCommand(redis.port, [['DEL', keys[0]]]);
  const received = (await shared(b)).placements.received;
  await fetch(`${a.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: turn2, max_tokens: 1 }),
  }).then((res) => res.text());
  await waitFor('B reads the new stream', async () => (await shared(b)).placements.received > received);
  assert.ok(!(await shared(b)).placements.lastId.startsWith('99999999999999-'));
  const m = await scrape(`${b.adminUrl}/metrics`);
  assert.ok(m.get('ringgate_shared_state_placement_syncs_total') > 0);
  assert.ok(m.get('ringgate_shared_state_placements_total{direction="received"}') >= 2);
});

test('Redis SIGKILLed: no request fails, the fallback is counted; Redis back: shared again within 5 s', async () => {
  const redis = await startRedis();
  live.push(redis);
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--workers', '1', '--endpoint', `127.0.0.1:${sim.port}`, '--redis', `127.0.0.1:${redis.port}`]);
  live.push(gw);
  await waitRoutable(gw);
  await waitFor('shared', async () => (await shared(gw)).state === 'shared');
  let stop = false, failed = 0, ok = 0;
  const traffic = (async () => {
    while (!stop) { const r = await complete(gw); if (r.status === 200) ++ok; else ++failed; }
  })();
  await sleep(100);
  await redis.stop('SIGKILL');
  await waitFor('local-only', async () => (await shared(gw)).state === 'local-only');
  const down = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(down.get('ringgate_shared_state_up'), 0);
  assert.ok(down.get('ringgate_shared_state_fallbacks_total') >= 1);
  // Requests keep flowing while Redis is gone (counted, not timed: under the sanitizers
  // a request can take 300 ms).
  const atDown = ok;
  await waitFor('5 requests served while Redis is gone', async () => ok - atDown >= 5);
  const again = await startRedis({ port: redis.port });
  live.push(again);
  const t0 = performance.now();
  await waitFor('shared again', async () => (await shared(gw)).state === 'shared', 5000);
  const ms = performance.now() - t0;
  stop = true;
  await traffic;
  assert.equal(failed, 0);
  assert.ok(ms < 5000 * timeScale, `shared again after ${Math.round(ms)} ms`);
});

test('AUTH with sharedState.redis.passwordFile (config), and a wrong password is refused and reported', async () => {
  const redis = await startRedis({ password: 's3cret' });
  live.push(redis);
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-redis-'));
  const config = (file) => {
    const p = path.join(dir, `gw-${path.basename(file)}.yaml`);
    fs.writeFileSync(p, `apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: ["127.0.0.1:${sim.port}"]}}\n` +
      `sharedState: {redis: {address: "127.0.0.1:${redis.port}", passwordFile: "${file}"}, syncInterval: 30ms}\n`);
    return p;
  };
  fs.writeFileSync(path.join(dir, 'good'), 's3cret\n');
  fs.writeFileSync(path.join(dir, 'bad'), 'nope\n');
  const good = await startGateway(['--workers', '1', '--config', config(path.join(dir, 'good'))]);
  live.push(good);
  const bad = await startGateway(['--workers', '1', '--config', config(path.join(dir, 'bad'))]);
  live.push(bad);
  await waitFor('good shared', async () => (await shared(good)).state === 'shared');
  assert.equal((await shared(good)).syncIntervalMs, 30);
  await waitFor('bad reports AUTH', async () => /AUTH|WRONGPASS|invalid/i.test((await shared(bad)).lastError));
  const d = await shared(bad);
  assert.equal(d.state, 'local-only');
  assert.ok(d.errors.connect >= 1);
  const r = await complete(bad);
  assert.equal(r.status, 200);
  fs.rmSync(dir, { recursive: true, force: true });
});

// A fake Redis: answers PING, then whatever `hostile` sends for the next command.
function fakeRedis(hostile) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    let seen = 0;
    s.on('error', () => {});
    s.on('data', (d) => {
      for (const cmd of d.toString('latin1').split('*').slice(1)) {
        ++seen;
        if (/PING/i.test(cmd)) s.write('+PONG\r\n');
        else hostile(s, seen);
      }
    });
  });
  server.shut = () => { for (const s of sockets) s.destroy(); server.close(); };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

for (const [name, hostile] of [
  ['an array of 2^31-1 elements', (s) => s.write('*2147483647\r\n:1\r\n')],
  ['a 512 MB bulk string (2 MB sent)', (s) => { s.write('$536870912\r\n'); s.write(Buffer.alloc(2 << 20, 120)); }],
  ['a reply to no command', (s) => s.write('*1\r\n:1\r\n+OK\r\n+OK\r\n')],
  ['nesting five deep', (s) => s.write('*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n')],
]) {
  test(`a hostile Redis reply is refused and counted: ${name}`, async (t) => {
    const server = await fakeRedis(hostile);
    // Shut even when an assertion fails: a listening fake keeps node (and the suite) alive.
    t.after(() => server.shut());
    const sim = await startSim(['--model', MODEL]);
    live.push(sim);
    const gw = await startGateway(['--workers', '1', '--endpoint', `127.0.0.1:${sim.port}`,
      '--redis', `127.0.0.1:${server.address().port}`]);
    live.push(gw);
    await waitRoutable(gw);
    await waitFor('refused', async () => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_shared_state_errors_total{kind="refused_reply"}') >= 1);
    const d = await shared(gw);
    assert.equal(d.state, 'local-only');
    // The last error: the refusal, or a later sync's on the next connection (the fake answers
    // every command the same way, or leaves a bulk string unfinished, or, with this node
    // process busy, does not answer the reconnect's PING within a second; a slow machine
    // reaches it before this reads). The refused_reply count above pins the refusal itself.
    assert.match(d.lastError, /refused reply|larger than|malformed reply|no reply|no answer/);
    assert.equal((await complete(gw)).status, 200);
  });
}

test('no Redis command per request: syncs follow the clock, not the traffic', async () => {
  const redis = await startRedis();
  live.push(redis);
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--workers', '1', '--endpoint', `127.0.0.1:${sim.port}`, '--redis', `127.0.0.1:${redis.port}`]);
  live.push(gw);
  await waitRoutable(gw);
  await waitFor('shared', async () => (await shared(gw)).state === 'shared');
  const stats = async () => {
    const [info] = await redisCommand(redis.port, [['INFO', 'commandstats']]);
    const calls = [...info.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    return { calls, evals: Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0) };
  };
  const before = await stats();
  let n = 0;
  while (n < 400) { await Promise.all(Array.from({ length: 8 }, () => complete(gw))); n += 8; }
  const after_ = await stats();
  const evals = after_.evals - before.evals, calls = after_.calls - before.calls;
  // A sync is two EVALs: the load's, whose script runs 9 commands for one replica and
  // endpoint, and the placements', whose script runs at most 4 (+1 for our INFO): every
  // command Redis saw belongs to a sync, none to a request.
  assert.ok(evals >= 1);
  assert.ok(calls <= 10 * evals + 1, `${calls} commands for ${evals} syncs and ${n} requests`);
});
