// Issue 53: in-flight accounting in the gateway. After any mix of requests (plain and
// chat, streamed or not, split into prefill and decode legs, hedged, migrated off a sim
// killed mid-stream, retried off a sim answering 500, refused by the gateway with 400 /
// 404 / 413 / 429, and clients leaving mid-stream), every endpoint's in-flight count is
// back to zero: /debug/endpoints `inflight` (the raw counter, not clamped: a count
// released twice shows as negative), and what every routed leg's ticket (RouteTicket)
// holds besides its slot, raw: `inflight_tokens` (the token load), `inflight_prefill_tokens`
// and `awaiting` (its pending prefill); /debug/flow `inflight` and `sheddable_inflight`, and
// /debug/pick's candidates' `inflight` and `inflight_prefill_tokens`.
//
// Five ringgate-sims with one --seed (any continues another's text, so a stream moves):
//   P  role prefill (kv_producer): prefill legs of long prompts
//   B  role both (kv_both)
//   C  role both (kv_both), answers 30% of requests 500 (retried) and drops 10% mid-way
//   D  role both (kv_both), SIGKILLed while streams run on it (they migrate)
//   E  role both, two data-parallel ranks behind its one port (legs to a rank)
// The counts are read mid-run too: they must rise above zero (the final zero is not
// vacuous) before they come back.
//
// Then three ends of a leg on their own (issue 71), each with its own sims and gateway: the
// request timeout cancelling plain, streamed and split requests (mid-prefill), a client
// leaving while its split request's prefill leg runs, and failures on a data-parallel
// server's ranks (answered 500 and dropped mid-way, retried elsewhere).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { Agent, setGlobalDispatcher } from 'undici';
import { timeScale, waitFor as waitUntil } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
// The clients' connections stay open past the check (fetch's default agent closes an idle
// one after 4 s): a leg must give back what it held when it ends, not when its client's
// connection goes (which would end its exchange, and every ticket with it).
setGlobalDispatcher(new Agent({ keepAliveTimeout: 600000, keepAliveMaxTimeout: 600000 }));
const SIM_ARGS = ['--mode', 'random', '--seed', '11', '--max-num-seqs', '256', '--kv-blocks', '16384',
  '--max-model-len', '16384', '--inter-token-latency-ms', '10', '--prefill-overhead-ms', '5'];
const nixl = (role) => ['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: role })];
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Polls fn until it returns a truthy value; throws after timeoutMs with the last value.
async function waitFor(what, fn, timeoutMs = 30000) {
  let last;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    last = await fn();
    if (last && last.ok !== false) return last;
    await sleep(25);
  }
  throw new Error(`${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

const getJson = async (url) => (await fetch(url)).json();
const longPrompt = (i, tokens = 1500) => `Document ${i}: ` + 'lorem ipsum dolor sit amet '.repeat(Math.ceil(tokens * 4 / 27));

// Every request gets its own tenant (rate limits are per tenant) unless it names one.
let tenantSeq = 0;
async function send(gw, p, body, { headers = {}, raw } = {}) {
  const res = await fetch(`${gw.url}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gateway-inference-fairness-id': `t${++tenantSeq}`, ...headers },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, done: text.endsWith('data: [DONE]\n\n') };
}
const completion = (i, extra = {}) => ({ model: MODEL, prompt: `Request ${i}: tell me about `, max_tokens: 8, ...extra });
const chat = (i, extra = {}) => ({ model: MODEL, messages: [{ role: 'user', content: `Question ${i}?` }], max_tokens: 8, ...extra });

// A stream the client abandons after its first chunk: resolves with the status it saw.
async function leaveMidStream(gw, i) {
  const ac = new AbortController();
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', signal: ac.signal,
    headers: { 'content-type': 'application/json', 'x-gateway-inference-fairness-id': `t${++tenantSeq}` },
    body: JSON.stringify(completion(i, { max_tokens: 200, stream: true })),
  });
  const reader = res.body.getReader();
  const first = await reader.read();
  ac.abort();
  await reader.read().catch(() => {});
  return { status: res.status, gotChunk: !first.done };
}

// Every count the gateway keeps per endpoint, from its three views.
async function counts(gw) {
  const eps = (await getJson(`${gw.adminUrl}/debug/endpoints`)).endpoints;
  const flow = (await getJson(`${gw.adminUrl}/debug/flow`)).endpoints;
  const pick = await (await fetch(`${gw.adminUrl}/debug/pick?path=/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 }),
  })).json();
  const out = {};
  // A rank's address is its server's: /debug/endpoints keyed by rank, and the other two
  // pages' entries for a data-parallel server by their order (checked by allIdle alone).
  const dp = new Set(eps.filter((e) => e.data_parallel_rank !== null).map((e) => e.address));
  const key = (e) => (e.data_parallel_rank === null ? e.address : `${e.address}#${e.data_parallel_rank}`);
  for (const e of eps) {
    out[key(e)] = { role: e.role, inflight: e.inflight, inflight_tokens: e.inflight_tokens,
      raw_prefill_tokens: e.inflight_prefill_tokens, awaiting: e.awaiting };
  }
  const seen = new Map();
  const nth = (address) => {
    if (!dp.has(address)) return address;
    const n = seen.get(address) ?? 0;
    seen.set(address, n + 1);
    return `${address}@${n}`;
  };
  for (const f of flow) f.endpoint = nth(f.endpoint);
  seen.clear();
  for (const c of pick.candidates ?? []) c.endpoint = nth(c.endpoint);
  for (const f of flow) Object.assign(out[f.endpoint] ??= {}, { flow_inflight: f.inflight, sheddable_inflight: f.sheddable_inflight });
  for (const c of pick.candidates ?? []) {
    Object.assign(out[c.endpoint] ??= {}, { pick_inflight: c.inflight, inflight_prefill_tokens: c.inflight_prefill_tokens });
  }
  return out;
}
const COUNT_FIELDS = ['inflight', 'inflight_tokens', 'raw_prefill_tokens', 'awaiting', 'flow_inflight', 'sheddable_inflight',
  'pick_inflight', 'inflight_prefill_tokens'];
// The expected value of every count once the gateway is idle (RINGGATE_INFLIGHT_EXPECT lets
// one show that the assertion can fail: set to 1, the final check must fail).
const IDLE = Number(process.env.RINGGATE_INFLIGHT_EXPECT ?? 0);
const allIdle = (c, idle = IDLE) => Object.values(c).every((e) => COUNT_FIELDS.every((f) => e[f] === undefined || e[f] === idle));

test('after a concurrent mix of split, hedged, migrated, retried, refused and abandoned requests, every in-flight count is back to zero', { timeout: 170000 }, async () => {
  let faultSeed = 0;
  const sim = (role, extra = []) => startSim([...SIM_ARGS, ...nixl(role), '--fault-seed', String(++faultSeed), ...extra]);
  const [P, B, C, D, E] = await Promise.all([
    sim('kv_producer'), sim('kv_both'), sim('kv_both', ['--fail-rate', '0.3', '--fail-mid-stream-rate', '0.1']), sim('kv_both'),
    sim('kv_both', ['--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0']),
  ]);
  live.push(P, B, C, D, E);
  const addr = (s) => `127.0.0.1:${s.port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-inflight-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', '    static:',
    `      - {address: "${addr(P)}", role: prefill}`,
    ...[B, C, D, E].map((s) => `      - "${addr(s)}"`),
    'retries: {budget: 3, deadline: 30s}',
    'disaggregation: {nonCachedTokens: 512}',
    'hedging: {enabled: true, maxExtraLoad: 1, headroom: 1}',
    'limits: {maxBodyBytes: 65536}',
    'rateLimits: {requestsPerMinute: 3}',
    '',
  ].join('\n'));
  const gw = await startGateway(['--workers', '2', '--config', config]);
  live.push(gw);
  await waitRoutable(gw, 6);

  // Warm-up: the latency model needs samples before a tight-SLO stream is hedged, on two
  // servers at least (a pick and its hedge); C, failing 30% of what it gets, is often
  // avoided and may stay short of them.
  for (let round = 0; ; round++) {
    await Promise.all(Array.from({ length: 24 }, (_, i) => send(gw, '/v1/completions', completion(`warm ${round} ${i}`, { stream: true }))));
    const eps = (await getJson(`${gw.adminUrl}/debug/endpoints`)).endpoints.filter((e) => e.role !== 'prefill');
    if (eps.filter((e) => e.latency.ttft.samples >= 20).length >= 2) break;
    assert.ok(round < 20, `warm-up: the latency model never got its samples: ${JSON.stringify(eps.map((e) => [e.address, e.routable, e.latency.ttft.samples, e.health]))}`);
  }
  await waitFor('idle after the warm-up', async () => { const c = await counts(gw); return allIdle(c, 0) ? c : { ok: false, c }; });

  // The mix, all at once. Each entry: [kind, promise of a result, expected status].
  const mix = [];
  const add = (kind, promise, status) => mix.push({ kind, promise, status });
  for (let i = 0; i < 6; i++) {
    add('completion', send(gw, '/v1/completions', completion(i)), 200);
    add('completion streamed', send(gw, '/v1/completions', completion(i, { stream: true })), 200);
    add('chat', send(gw, '/v1/chat/completions', chat(i)), 200);
    add('chat streamed', send(gw, '/v1/chat/completions', chat(i, { stream: true, stream_options: { include_usage: true } })), 200);
  }
  for (let i = 0; i < 6; i++) {
    add('split', send(gw, '/v1/completions', { model: MODEL, prompt: longPrompt(i), max_tokens: 8, stream: i % 2 === 1 }), 200);
  }
  add('split chat', send(gw, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: longPrompt(99) }], max_tokens: 8 }), 200);
  const tight = { 'x-llm-d-slo-ttft-ms': '200', 'x-llm-d-slo-tpot-ms': '50' };
  for (let i = 0; i < 8; i++) add('hedged', send(gw, '/v1/completions', completion(`tight ${i}`, { stream: true }), { headers: tight }), 200);
  // Long streams, the ones D is killed under (they migrate), and C drops some mid-way.
  // 0.8 s each, stretched with the binaries' slowness: under the sanitizers a poll of the
  // counts below can take longer than the streams ran (D seen with 2 never, in one run).
  const longTokens = 80 * timeScale;
  const longStream = (i) => add('long stream', send(gw, i % 2 ? '/v1/chat/completions' : '/v1/completions',
    i % 2 ? chat(`long ${i}`, { max_tokens: longTokens, stream: true })
      : completion(`long ${i}`, { max_tokens: longTokens, stream: true })), 200);
  let longStreams = 0;
  while (longStreams < 16) longStream(longStreams++);
  for (let i = 0; i < 6; i++) add('left mid-stream', leaveMidStream(gw, i), 200);
  add('bad JSON', send(gw, '/v1/completions', null, { raw: '{"model": "facebook/opt-125m", "prompt": ' }), 400);
  add('bad JSON chat', send(gw, '/v1/chat/completions', null, { raw: 'not json at all' }), 400);
  add('unknown model', send(gw, '/v1/completions', { ...completion(0), model: 'no-such-model' }), 404);
  add('unknown model chat', send(gw, '/v1/chat/completions', { ...chat(0), model: 'no-such-model' }), 404);
  add('too large', send(gw, '/v1/completions', completion(0, { prompt: 'x'.repeat(100000) })), 413);
  // One tenant over its 3 requests a minute: the 4th and 5th are refused with 429.
  for (let i = 0; i < 5; i++) {
    add('rate limited', send(gw, '/v1/completions', completion(`limited ${i}`), { headers: { 'x-gateway-inference-fairness-id': 'greedy' } }), i < 3 ? 200 : 429);
  }

  // Mid-run: the counts rise above zero, and D holds a stream when it is killed.
  let peak = 0;
  let peakPrefillTokens = 0;
  let peakLoadTokens = 0;
  const dAddr = addr(D);
  // Five servers share the streams: when none of a wave went to D, one more wave is sent
  // (at most 4 more).
  let wave = performance.now();
  await waitFor('streams in flight on D', async () => {
    if (performance.now() - wave > 1000 * timeScale && longStreams < 80) {
      for (let n = 0; n < 16; n++) longStream(longStreams++);
      wave = performance.now();
    }
    const c = await counts(gw);
    peak = Math.max(peak, ...Object.values(c).map((e) => e.inflight ?? 0));
    peakPrefillTokens = Math.max(peakPrefillTokens, ...Object.values(c).map((e) => e.inflight_prefill_tokens ?? 0));
    peakLoadTokens = Math.max(peakLoadTokens, ...Object.values(c).map((e) => e.inflight_tokens ?? 0));
    return c[dAddr].inflight >= 1;
  });
  await D.stop('SIGKILL');
  const settled = await Promise.all(mix.map((m) => m.promise.then((r) => ({ ...m, r }), (e) => ({ ...m, r: { status: `error ${e.message}` } }))));

  // Rate limits refuse in order: the first 3 of the tenant's 5 may not be the first sent.
  const limited = settled.filter((s) => s.kind === 'rate limited').map((s) => s.r.status).sort();
  assert.deepEqual(limited, [200, 200, 200, 429, 429], 'the greedy tenant');
  for (const s of settled.filter((x) => x.kind !== 'rate limited')) {
    assert.equal(s.r.status, s.status, `${s.kind}: ${s.r.status} ${s.r.text?.slice(0, 300)}`);
  }
  for (const s of settled.filter((x) => x.kind.includes('stream') && x.kind !== 'left mid-stream')) {
    assert.ok(s.r.done, `${s.kind} ended with [DONE]: ${s.r.text.slice(-300)}`);
  }
  for (const s of settled.filter((x) => x.kind === 'left mid-stream')) assert.ok(s.r.gotChunk, 'the client saw a chunk before leaving');
  const split = settled.filter((s) => s.kind.startsWith('split') && s.r.headers.get('x-gateway-prefill-endpoint'));
  assert.ok(split.length >= 1, 'at least one request was split into prefill and decode legs');

  // Each kind really happened (counted by the gateway since it started: the final check
  // covers the warm-up too, where most retries off C happen, C being avoided after them).
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const sum = (prefix) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
  const seen = {
    split: split.length,
    hedged: sum('ringgate_hedged_requests_total{'),
    migrated: sum('ringgate_stream_migrations_total{'),
    retried: sum('ringgate_retries_total'),
  };
  // E's ranks served some (its engines' vllm:request_success_total, each labelled by engine).
  const served = await scrape(`http://${addr(E)}/metrics`);
  seen.ranks = [...served].filter(([k, v]) => k.startsWith('vllm:request_success_total{') && v > 0).length;
  console.log(`mid-run peak: ${peak} in flight on one endpoint, ${peakPrefillTokens} prefill tokens, ` +
    `${peakLoadTokens} load tokens; ${JSON.stringify(seen)}`);
  assert.ok(peak > 0, 'the in-flight count rose above zero mid-run');
  assert.ok(peakLoadTokens > 0, 'the token load rose above zero mid-run');
  assert.ok(seen.hedged > 0, 'some requests were hedged');
  assert.ok(seen.migrated > 0, 'some streams migrated');
  assert.ok(seen.retried > 0, 'some requests were retried');
  assert.ok(seen.ranks > 0, 'some requests went to a data-parallel rank');

  // Abandoned streams: the gateway learns of the client leaving at its next write.
  let last;
  try {
    last = await waitFor('every in-flight count back to zero', async () => {
      const c = await counts(gw);
      return allIdle(c) ? c : { ok: false, c };
    }, 30000);
  } catch (e) {
    assert.fail(e.message);
  }
  assert.equal(Object.keys(last).filter((k) => last[k].role !== undefined).length, 6, JSON.stringify(last));
  for (const [address, e] of Object.entries(last)) {
    if (e.role === undefined) continue;  // a data-parallel server's /debug/flow sum: checked by allIdle
    assert.equal(e.inflight, IDLE, `${address} inflight`);
    assert.equal(e.inflight_tokens, IDLE, `${address} inflight_tokens (token load)`);
    assert.equal(e.raw_prefill_tokens, IDLE, `${address} inflight_prefill_tokens (raw)`);
    assert.equal(e.awaiting, IDLE, `${address} awaiting`);
    if (e.flow_inflight === undefined) continue;  // a rank's: its server's entries (@n) were checked by allIdle
    assert.equal(e.flow_inflight, IDLE, `${address} /debug/flow inflight`);
    assert.equal(e.sheddable_inflight, IDLE, `${address} sheddable_inflight`);
  }
});

// A gateway over `sims` (the first `prefill` of them role prefill) with `extra` config lines.
async function gatewayOver(sims, { prefill = 0, extra = [] } = {}) {
  live.push(...sims);
  const addr = (s) => `127.0.0.1:${s.port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-inflight-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', '    static:',
    ...sims.map((s, i) => (i < prefill ? `      - {address: "${addr(s)}", role: prefill}` : `      - "${addr(s)}"`)),
    ...extra, '',
  ].join('\n'));
  const gw = await startGateway(['--workers', '2', '--config', config]);
  live.push(gw);
  return gw;
}
const idleNow = async (gw) => { const c = await counts(gw); return allIdle(c) ? c : null; };
// Every count of every endpoint (ranks apart) at IDLE, within `ms` (x the time scale).
async function backToIdle(gw, what, ms = 10000) {
  try {
    await waitUntil(what, () => idleNow(gw), ms, 25);
  } catch (e) {
    assert.fail(`${e.message}; last seen: ${JSON.stringify(await counts(gw))}`);
  }
}
const ranksOf = (c) => Object.entries(c).filter(([k]) => k.includes('#'));

test('the request timeout cancelling plain, streamed and mid-prefill split requests gives every count back', { timeout: 90000 }, async () => {
  // P's prefill legs take 30 s (longer than any wait here): a split request is timed out
  // while its prefill leg runs, its decode pod's reservation held. B streams 20 tokens/s.
  const P = await startSim([...SIM_ARGS, ...nixl('kv_producer'), '--prefill-overhead-ms', '30000']);
  const B = await startSim([...SIM_ARGS, ...nixl('kv_both'), '--inter-token-latency-ms', '50']);
  const gw = await gatewayOver([P, B], { prefill: 1, extra: [
    `timeouts: {request: ${2 * timeScale}s}`, 'disaggregation: {nonCachedTokens: 512}', 'retries: {budget: 0}'] });
  await waitRoutable(gw, 2);
  const addr = (s) => `127.0.0.1:${s.port}`;
  const slow = (i, extra) => completion(`slow ${i}`, { max_tokens: 2000, ...extra });
  const runs = [
    send(gw, '/v1/completions', slow(0)), send(gw, '/v1/chat/completions', chat('slow 1', { max_tokens: 2000 })),
    send(gw, '/v1/completions', slow(2, { stream: true })),
    send(gw, '/v1/chat/completions', chat('slow 3', { max_tokens: 2000, stream: true })),
    send(gw, '/v1/completions', { model: MODEL, prompt: longPrompt('timed out 0'), max_tokens: 8 }),
    send(gw, '/v1/completions', { model: MODEL, prompt: longPrompt('timed out 1'), max_tokens: 8, stream: true }),
  ];
  // Mid-run: the four on B, and the two split ones' prefill legs on P (their decode
  // reservations on B: six there).
  const mid = await waitUntil('the six requests in flight', async () => {
    const c = await counts(gw);
    return c[addr(P)].inflight === 2 && c[addr(B)].inflight === 6 ? c : null;
  }, 5000, 25);
  assert.ok(mid[addr(P)].raw_prefill_tokens > 0 && mid[addr(P)].awaiting === 2, JSON.stringify(mid[addr(P)]));
  assert.ok(mid[addr(B)].inflight_tokens > 0, JSON.stringify(mid[addr(B)]));
  const [plain, chatPlain, streamed, chatStreamed, split, splitStreamed] = await Promise.all(runs);
  for (const r of [plain, chatPlain, split]) {
    assert.equal(r.status, 504, r.text.slice(0, 300));
    assert.equal(JSON.parse(r.text).error.code, 'request_timeout');
  }
  for (const r of [streamed, chatStreamed]) {
    assert.equal(r.status, 200);
    assert.ok(!r.done && r.text.includes('request_timeout'), r.text.slice(-300));
  }
  // The split stream timed out before its first byte: a 504 or an SSE error event.
  assert.ok(splitStreamed.text.includes('request_timeout'), `${splitStreamed.status} ${splitStreamed.text.slice(-300)}`);
  await backToIdle(gw, 'every count back at idle after the timeouts');
});

test('a client leaving while its split request\'s prefill leg runs gives back the prefill and decode pods\' counts', { timeout: 90000 }, async () => {
  // P's prefill legs take 60 s: the counts must come back long before that, so the leg
  // is cancelled when its client goes, not given back when it ends.
  const P = await startSim([...SIM_ARGS, ...nixl('kv_producer'), '--prefill-overhead-ms', '60000']);
  const B = await startSim([...SIM_ARGS, ...nixl('kv_both')]);
  const gw = await gatewayOver([P, B], { prefill: 1, extra: ['disaggregation: {nonCachedTokens: 512}'] });
  await waitRoutable(gw, 2);
  const addr = (s) => `127.0.0.1:${s.port}`;
  // Each client sends its request on a socket of its own and resets it (RST) mid-prefill:
  // a client that went away. (A FIN before the response began is a half-close after a
  // complete request, which is answered: ClientConnection::on_eof.)
  const leaving = [0, 1, 2].map((i) => {
    const body = JSON.stringify(i === 2
      ? { model: MODEL, messages: [{ role: 'user', content: longPrompt('left 2') }], max_tokens: 8 }
      : { model: MODEL, prompt: longPrompt(`left ${i}`), max_tokens: 8, stream: i === 1 });
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => { answer += d; });
    socket.write(`POST ${i === 2 ? '/v1/chat/completions' : '/v1/completions'} HTTP/1.1\r\nhost: gw\r\n` +
      `content-type: application/json\r\nx-gateway-inference-fairness-id: t${++tenantSeq}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return { socket, answer: () => answer };
  });
  const mid = await waitUntil('three prefill legs on P, three reservations on B', async () => {
    const c = await counts(gw);
    return c[addr(P)].inflight === 3 && c[addr(P)].awaiting === 3 && c[addr(B)].inflight === 3 ? c : null;
  }, 5000, 25);
  assert.ok(mid[addr(P)].inflight_tokens > 0 && mid[addr(P)].raw_prefill_tokens > 0, JSON.stringify(mid[addr(P)]));
  for (const l of leaving) {
    assert.equal(l.answer(), '', 'no answer before the prefill leg ended');
    l.socket.resetAndDestroy();
  }
  await backToIdle(gw, 'every count back at idle after the clients left mid-prefill');
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal([...m].filter(([k]) => k.startsWith('ringgate_pd_decode_only_fallbacks_total')).reduce((a, [, v]) => a + v, 0), 0,
    'no prefill leg ended on its own');
});

test('failures on a data-parallel server\'s ranks (500s, drops mid-way) give back every rank\'s counts', { timeout: 120000 }, async () => {
  // E: two ranks behind one port, answering 40% of requests 500 and dropping 30% mid-way;
  // B answers all (the retries and migrations go there). Passive ejection stays out of it: at
  // these rates three failures in a row are common, and an ejected rank could sit out the whole
  // test (1 s, then 2, then 4), leaving the other rank alone to be counted.
  const E = await startSim([...SIM_ARGS, '--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0',
    '--fault-seed', '7', '--fail-rate', '0.4', '--fail-mid-stream-rate', '0.3', '--inter-token-latency-ms', '20']);
  const B = await startSim([...SIM_ARGS]);
  const gw = await gatewayOver([E, B], { extra: ['retries: {budget: 3, deadline: 30s}', 'health: {ejectAfterFailures: 1000}'] });
  await waitRoutable(gw, 3);
  let rankPeak = {};
  const results = [];
  for (let wave = 0; wave < 6; wave++) {
    const runs = Array.from({ length: 12 }, (_, i) => (i % 2
      ? send(gw, '/v1/chat/completions', chat(`dp ${wave} ${i}`, { max_tokens: 30, stream: i % 4 === 1 }))
      : send(gw, '/v1/completions', completion(`dp ${wave} ${i}`, { max_tokens: 30, stream: i % 4 === 0 }))));
    const c = await counts(gw);
    for (const [k, e] of ranksOf(c)) rankPeak[k] = Math.max(rankPeak[k] ?? 0, e.inflight);
    results.push(...await Promise.all(runs));
  }
  for (const r of results) assert.equal(r.status, 200, r.text.slice(0, 300));
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const sum = (prefix) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
  const served = await scrape(`http://127.0.0.1:${E.port}/metrics`);
  const ranksServed = new Set([...served].filter(([k, v]) => k.startsWith('vllm:request_success_total{') && v > 0)
    .map(([k]) => /engine="(\d+)"/.exec(k)?.[1])).size;
  const failed = sum('ringgate_retries_total') + sum('ringgate_stream_migrations_total{');
  console.log(`data-parallel: ranks' peak in flight ${JSON.stringify(rankPeak)}, ranks that answered ${ranksServed}, ` +
    `retries + migrations ${failed}, ejections ${sum('ringgate_endpoint_ejections_total')}`);
  assert.ok(failed > 0, 'some legs failed on a rank (only E fails) and went elsewhere');
  assert.equal(ranksServed, 2, 'both ranks were routed to');
  await backToIdle(gw, 'every rank\'s count back at idle after the failures');
});
