// Issue 31: prefill/decode disaggregation in the gateway. Two prefill and two decode
// ringgate-sims playing vLLM with NixlConnector; the gateway picks a decode pod, and when
// the prompt's uncached part there reaches disaggregation.nonCachedTokens it prefills on
// a prefill pod first (one token, kv_transfer_params {do_remote_decode: true}) and sends
// the decode leg with the params that came back. What each sim did is read from its own
// counters, not from the gateway's.
//   1. Long prompts are split, short and cached ones are not; the client's answer has the
//      shape of an unsplit one (same text from the same seed, same usage, no extra field).
//   2. A prefill sim killed under load: no client error.
//   3. A decode sim whose pulls fail: no client error, the recompute counted by the sim.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const SIM_ARGS = ['--mode', 'random', '--seed', '5', '--max-num-seqs', '256', '--kv-blocks', '16384',
  '--max-model-len', '16384', '--inter-token-latency-ms', '2'];
const nixl = (role) => ['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: role })];
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function sims(role, count, extra = []) {
  const out = await Promise.all(Array.from({ length: count }, () => startSim([...SIM_ARGS, ...nixl(role), ...extra])));
  live.push(...out);
  return out;
}

async function gatewayFor(prefill, decode, extraConfig = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-pd-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  const entry = (s, role) => `      - {address: "127.0.0.1:${s.port}", role: ${role}}`;
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', '    static:',
    ...prefill.map((s) => entry(s, 'prefill')), ...decode.map((s) => entry(s, 'decode')),
    'retries: {budget: 3, deadline: 30s}',
    'disaggregation: {nonCachedTokens: 512}',
    ...extraConfig, '',
  ].join('\n'));
  const gw = await startGateway(['--config', config]);
  live.push(gw);
  await waitRoutable(gw, prefill.length + decode.length);
  return gw;
}

const counter = async (sim, name) => {
  const m = await scrape(`${sim.url}/metrics`);
  return m.get(`${name}{engine="0",model_name="${MODEL}"}`) ?? 0;
};
const total = async (list, name) => (await Promise.all(list.map((s) => counter(s, name)))).reduce((a, b) => a + b, 0);
// Every series of `name`, whatever its labels, over the sims.
const allSeries = async (list, name) => {
  let sum = 0;
  for (const s of list) for (const [k, v] of await scrape(`${s.url}/metrics`)) if (k.startsWith(`${name}{`)) sum += v;
  return sum;
};

// A prompt of ~tokens tokens (the sim counts 4 bytes a token), its own text per i.
const longPrompt = (i, tokens = 1500) => `Document ${i}: ` + 'lorem ipsum dolor sit amet '.repeat(Math.ceil(tokens * 4 / 27));

async function complete(url, body) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, ...body }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

// The shape of a JSON value: keys and value types, recursively (ids and numbers may differ).
function shape(v) {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
  return v === null ? 'null' : typeof v;
}

test('long prompts are split (prefill on a prefill sim, decode on a decode sim), short and cached ones are not', async () => {
  const prefill = await sims('kv_producer', 2);
  const decode = await sims('kv_consumer', 2);
  const gw = await gatewayFor(prefill, decode);
  const ports = (list) => new Set(list.map((s) => `127.0.0.1:${s.port}`));

  const LONG = 6;
  for (let i = 0; i < LONG; ++i) {
    const r = await complete(gw.url, { prompt: longPrompt(i), max_tokens: 8 });
    assert.equal(r.status, 200, r.text);
    assert.ok(ports(decode).has(r.headers.get('x-gateway-destination-endpoint')), r.headers.get('x-gateway-destination-endpoint'));
    assert.ok(ports(prefill).has(r.headers.get('x-gateway-prefill-endpoint')), r.headers.get('x-gateway-prefill-endpoint'));
    assert.equal(JSON.parse(r.text).kv_transfer_params ?? null, null);
  }
  assert.equal(await total(prefill, 'ringgate_sim_kv_transfer_prefills_total'), LONG);
  assert.equal(await total(decode, 'ringgate_sim_kv_transfer_pulls_total'), LONG);
  assert.equal(await total(decode, 'vllm:nixl_num_failed_transfers_total'), 0);

  // Short prompts, and a long one already held by its decode pod: decode-only.
  for (let i = 0; i < 4; ++i) {
    const r = await complete(gw.url, { prompt: `Short question ${i}?`, max_tokens: 4 });
    assert.equal(r.status, 200, r.text);
    assert.ok(ports(decode).has(r.headers.get('x-gateway-destination-endpoint')));
    assert.equal(r.headers.get('x-gateway-prefill-endpoint'), null);
  }
  const again = await complete(gw.url, { prompt: longPrompt(0), max_tokens: 8 });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('x-gateway-prefill-endpoint'), null);
  assert.equal(await total(prefill, 'ringgate_sim_kv_transfer_prefills_total'), LONG);
  assert.equal(await allSeries(prefill, 'vllm:request_success_total'), LONG);  // prefill sims saw the prefill legs only

  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(text, /^# HELP llm_d_inference_scheduler_disagg_decision_total \[ALPHA\] Total number of disaggregation routing decisions made$/m);
  assert.match(text, /^# HELP llm_d_inference_scheduler_pd_decision_total \[ALPHA\] Total number of P\/D disaggregation decisions made$/m);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get(`llm_d_inference_scheduler_disagg_decision_total{decision_type="prefill-decode",model_name="${MODEL}"}`), LONG);
  assert.equal(m.get(`llm_d_inference_scheduler_disagg_decision_total{decision_type="decode-only",model_name="${MODEL}"}`), 5);
  assert.equal(m.get(`llm_d_inference_scheduler_pd_decision_total{decision_type="prefill-decode",model_name="${MODEL}"}`), LONG);
  assert.equal(m.get('ringgate_pd_leg_duration_seconds_count{leg="prefill"}'), LONG);

  const roles = (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints.map((e) => e.role).sort();
  assert.deepEqual(roles, ['decode', 'decode', 'prefill', 'prefill']);
});

test('a split answer has the shape of an unsplit one: the same text and usage, streamed or not', async () => {
  const prefill = await sims('kv_producer', 1);
  const decode = await sims('kv_consumer', 1);
  const gw = await gatewayFor(prefill, decode);
  const direct = await sims('kv_both', 1);  // the same seed: the same text for the same request

  for (const stream of [false, true]) {
    const body = { prompt: longPrompt(stream ? 101 : 100), max_tokens: 16, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) };
    const split = await complete(gw.url, body);
    const whole = await complete(direct[0].url, body);
    assert.equal(split.status, 200, split.text);
    assert.ok(split.headers.get('x-gateway-prefill-endpoint'));
    if (!stream) {
      const a = JSON.parse(split.text), b = JSON.parse(whole.text);
      assert.deepEqual(shape(a), shape(b));
      assert.equal(a.choices[0].text, b.choices[0].text);
      assert.deepEqual(a.usage, b.usage);  // the prompt counted once
    } else {
      const events = (t) => t.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
      const a = events(split.text), b = events(whole.text);
      assert.deepEqual(a.map(shape), b.map(shape));
      assert.equal(a.map((e) => e.choices[0]?.text ?? '').join(''), b.map((e) => e.choices[0]?.text ?? '').join(''));
      assert.deepEqual(a.at(-1).usage, b.at(-1).usage);
      assert.ok(split.text.endsWith('data: [DONE]\n\n'));
    }
  }
});

// Runs fn(i) for i in [0, n) with at most `width` at once.
async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

test('a prefill sim killed under load: no client error', async () => {
  // Prefill takes a while (0.2 ms a token: ~0.3 s a prompt), so legs are in flight at the kill.
  const prefill = await sims('kv_producer', 2, ['--prefill-time-per-token-us', '200']);
  const decode = await sims('kv_consumer', 2);
  const gw = await gatewayFor(prefill, decode);
  let done = 0;
  const killed = (async () => {
    while (done < 8) await new Promise((r) => setTimeout(r, 10));
    await prefill[0].stop('SIGKILL');
  })();
  const results = await pool(40, 8, async (i) => {
    const r = await complete(gw.url, { prompt: longPrompt(1000 + i), max_tokens: 8 });
    ++done;
    return r;
  });
  await killed;
  const bad = results.filter((r) => r.status !== 200 || !JSON.parse(r.text).choices?.[0]?.text);
  assert.equal(bad.length, 0, JSON.stringify(bad.slice(0, 3).map((r) => [r.status, r.text.slice(0, 200)])));
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const failures = [...m].filter(([k]) => k.startsWith('ringgate_pd_prefill_failures_total{')).reduce((a, [, v]) => a + v, 0);
  assert.ok(failures >= 1, 'the kill broke some prefill legs');
  assert.ok(await counter(prefill[1], 'ringgate_sim_kv_transfer_prefills_total') > 0);
});

test('a decode sim whose pulls fail: no client error, the recompute counted', async () => {
  const prefill = await sims('kv_producer', 1);
  const decode = await sims('kv_consumer', 1, ['--fail-kv-pulls']);
  const gw = await gatewayFor(prefill, decode);
  const results = await pool(8, 4, (i) => complete(gw.url, { prompt: longPrompt(2000 + i), max_tokens: 8 }));
  for (const r of results) assert.equal(r.status, 200, r.text);
  assert.equal(await counter(decode[0], 'vllm:nixl_num_failed_transfers_total'), 8);
  assert.equal(await counter(decode[0], 'ringgate_sim_kv_transfer_pulls_total'), 0);
});

// Issue 48: P/D rank by rank. A prefill server and a decode server of two data-parallel ranks
// each, behind one port (ranks learnt from /metrics): the prefill leg goes to a prefill rank,
// the decode leg to a decode rank, each named in X-data-parallel-rank; the prefill answer's
// kv_transfer_params (engine id "…_dp<R>") lead the decode rank's pull to the rank that holds
// the blocks, so every pull is served by the rank that prefilled.
test('P/D with data-parallel ranks: each leg goes to a rank, the pull finds the prefill rank', async () => {
  const [prefill] = await sims('kv_producer', 1, ['--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0']);
  const [decode] = await sims('kv_consumer', 1, ['--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0']);
  const gw = await gatewayFor([prefill], [decode]);
  await waitRoutable(gw, 4);  // two ranks each, learnt
  const LONG = 8;
  // Four at a time: a pick sees the requests still in flight on a rank. One at a time, every
  // pick met idle ranks, and only a scrape of the first rank's KV usage (which a loaded
  // machine can delay past all eight) turned the next one away from it.
  const results = await pool(LONG, 4, (i) => complete(gw.url, { prompt: longPrompt(100 + i), max_tokens: 4 }));
  for (const r of results) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-gateway-prefill-endpoint'), `127.0.0.1:${prefill.port}`);
  }
  const perEngine = async (sim, name) => {
    const m = await scrape(`${sim.url}/metrics`);
    return [0, 1].map((e) => m.get(`${name}{engine="${e}",model_name="${MODEL}"}`) ?? 0);
  };
  const prefills = await perEngine(prefill, 'ringgate_sim_kv_transfer_prefills_total');
  const served = await perEngine(prefill, 'ringgate_sim_kv_transfer_pulls_served_total');
  assert.equal(prefills[0] + prefills[1], LONG);
  assert.deepEqual(served, prefills, 'each rank served the pulls of what it prefilled');
  assert.ok(prefills[0] > 0 && prefills[1] > 0, `the gateway used one prefill rank only: ${prefills}`);
  assert.equal(await allSeries([decode], 'ringgate_sim_kv_transfer_pulls_total'), LONG);
  assert.equal(await allSeries([decode], 'vllm:nixl_num_failed_transfers_total'), 0);
});

// Issue 66: a prefill role at zero while decode servers run. Long prompts (split if a
// prefill server were routable) are served whole on the decode sim, not held for the
// prefill role: nothing counted as queued or held, no request waits.
test('prefill at zero, decode up: long prompts served whole on decode, none held', async () => {
  const decode = await sims('kv_consumer', 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-pd0-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', '    static:',
    '      - {address: "127.0.0.1:1", role: prefill}',  // never answers: the prefill role at zero
    `      - {address: "127.0.0.1:${decode[0].port}", role: decode}`,
    'disaggregation: {enabled: true, nonCachedTokens: 512}',
    'flowControl: {noEndpointRequestTTL: 60s}', '',
  ].join('\n'));
  const gw = await startGateway(['--config', config]);
  live.push(gw);
  await waitRoutable(gw, 1);
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => complete(gw.url, { prompt: longPrompt(100 + i), max_tokens: 4 })));
  const took = performance.now() - t0;
  for (const r of answers) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-gateway-destination-endpoint'), `127.0.0.1:${decode[0].port}`);
    assert.equal(r.headers.get('x-gateway-prefill-endpoint'), null);
  }
  assert.ok(took < 10000, `took ${took} ms`);
  assert.equal(await total(decode, 'ringgate_sim_kv_transfer_pulls_total'), 0);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const held = [...m].filter(([k]) => k.startsWith('llm_d_epp_flow_control_request_queue_duration_seconds_count{'))
    .reduce((s, [, v]) => s + v, 0);
  assert.equal(held, 0, 'a request went through a queue');
  assert.equal(m.get(`llm_d_inference_scheduler_disagg_decision_total{decision_type="decode-only",model_name="${MODEL}"}`), 6);
});
