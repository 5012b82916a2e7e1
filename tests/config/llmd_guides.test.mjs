// Issue 69's behaviour acceptance: llm-d's guide configs, read from the corpus as they are
// (../shared/llmd-guides/, tests/lib/llmd_corpus.mjs), run in ringgate's gateway mode
// (--config-file, beside a Gateway document that names the sims) and do what the guide says:
//   1. prefix guides: a long prompt repeated with its own question each time stays on its sim,
//      while that sim is busier than the others (by load alone it would move); other prompts
//      spread;
//   2. P/D with context-length pools (the P/D guide's config, llm-d's context-length-aware
//      plugin added to its prefill profile as llm-d's README shows: no shipped config has
//      it): a prompt of exactly the short pool's upper bound is prefilled there, one token
//      more in the long-context pool;
//   3. session affinity (llm-d's integration-test config, its harness-only metrics source
//      left out, strategy session_id): a session stays on its server until the server is
//      overloaded, then moves;
//   4. the flow-control guide: with the pool saturated, a request that waited past its TTL
//      gets 429 with x-llm-d-request-dropped-reason: rejected-ttl-expired, sheddable or
//      not (llm-d's split: 429 while servers exist, 503 rejected-no-endpoints when none
//      does, which tests/proxy/scale_from_zero.test.mjs pins).
// Substitutions are what must differ here (the test harness's plugin, a TTL and a
// concurrency small enough for a fast test); each is asserted to find its text, so a
// corpus that changes fails loudly. Skipped (exit 77) where the corpus is absent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';
import { corpusDir, corpusPresent } from '../lib/llmd_corpus.mjs';

if (!corpusPresent()) {
  console.log(`skip: no llm-d corpus at ${corpusDir}`);
  process.exit(77);
}

const MODEL = 'facebook/opt-125m';
const FAST = ['--model', MODEL, '--inter-token-latency-ms', '0', '--max-model-len', '16384', '--kv-blocks', '16384'];
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-llmd-guides-'));
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

// A corpus config with `pairs` replaced ([from, to]: each must be found).
function guide(file, pairs = []) {
  let text = fs.readFileSync(path.join(corpusDir, file), 'utf8');
  for (const [from, to] of pairs) {
    assert.ok(text.includes(from), `${file} no longer has ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const out = path.join(dir, `picker-${live.length}-${path.basename(file)}`);
  fs.writeFileSync(out, text);
  return out;
}

async function sims(count, extra = []) {
  const out = await Promise.all(Array.from({ length: count }, () => startSim([...FAST, ...extra])));
  live.push(...out);
  return out;
}

// A gateway on these static entries (strings: YAML flow maps) with the picker config.
async function gateway(entries, picker, extra = '') {
  const config = path.join(dir, `gateway-${live.length}.yaml`);
  fs.writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
workers: 2
pool:
  name: vllm
  discovery:
    static:
${entries.map((e) => `    - ${e}`).join('\n')}
${extra}`);
  const gw = await startGateway(['--config', config, '--config-file', picker]);
  live.push(gw);
  await waitRoutable(gw, entries.length);
  return gw;
}
const at = (s) => `"127.0.0.1:${s.port}"`;

async function complete(gw, prompt, { headers = {}, maxTokens = 2, signal } = {}) {
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, signal,
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: maxTokens }),
  });
  const text = await res.text();
  return { status: res.status, text, endpoint: res.headers.get('x-gateway-destination-endpoint'),
    prefill: res.headers.get('x-gateway-prefill-endpoint'),
    dropped: res.headers.get('x-llm-d-request-dropped-reason') };
}

let serial = 0;
// A prompt of `bytes` bytes (ringgate and the sims count 4 a token), its own from the start.
const prompt = (bytes) => {
  const head = `request ${++serial} ${Math.random().toString(36).slice(2)}: `;
  return (head + 'lorem ipsum dolor sit amet '.repeat(Math.ceil(bytes / 27))).slice(0, bytes);
};

const PREFIX_GUIDES = [
  'llm-d__guides_optimized-baseline_router_optimized-baseline.values__router.epp.pluginsCustomConfig.optimized-baseline-plugins.yaml',
  'llm-d__guides_workload-autoscaling_keda-epp-queue_optimized-baseline_router.values__router.epp.pluginsCustomConfig.optimized-baseline-keda-epp-plugins.yaml',
  'llm-d-router__deploy_config_sim-epp-config.yaml',
];

for (const file of PREFIX_GUIDES) {
  test(`prefix guide ${file.split('__').slice(1).join('/')}: a repeated prompt stays on its sim, busier or not`, async () => {
    // Slow tokens: a long answer keeps its sim busy while the repeats are placed.
    const pool = await sims(3, ['--inter-token-latency-ms', '20']);
    const gw = await gateway(pool.map(at), guide(file));
    const long = prompt(4000);
    const first = await complete(gw, long);
    assert.equal(first.status, 200, first.text);
    // The prompt's sim gets busy with the same prompt (a long answer): by load alone the
    // repeats would go to the idle sims; the prefix keeps them where it is cached.
    const abort = new AbortController();
    const busy = complete(gw, long, { maxTokens: 2000, signal: abort.signal }).catch(() => null);
    await waitFor('the long answer in flight', async () => (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json())
      .endpoints.some((e) => e.inflight === 1));
    for (let i = 0; i < 6; i++) {
      // The same long prefix, its own question: only the prefix can keep it there.
      const again = await complete(gw, `${long} question ${i}?`);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.endpoint, first.endpoint, `repeat ${i} of the prefix left ${first.endpoint}`);
    }
    abort.abort();
    await busy;
    // Different prompts (one at a time: only the prompt tells them apart) spread.
    const seen = new Set();
    for (let i = 0; i < 24; i++) seen.add((await complete(gw, prompt(4000))).endpoint);
    assert.ok(seen.size >= 2, `24 different prompts all went to ${[...seen]}`);
  });
}

test('P/D guide with context-length pools: a prompt of the short pool\'s upper bound prefills there, one token more in the long pool', async () => {
  const nixl = (role) => ['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: role })];
  const [decode] = await sims(1, nixl('kv_consumer'));
  const [short, long] = await sims(2, nixl('kv_producer'));
  // llm-d's README: the plugin in the prefill profile, with enableFiltering.
  const picker = guide('llm-d__guides_pd-disaggregation_router_pd-disaggregation.values__router.epp.pluginsCustomConfig.pd-config.yaml', [
    ['- type: token-load-scorer\n', '- type: token-load-scorer\n- type: context-length-aware\n  parameters:\n'
      + '    label: llm-d.ai/context-length-range\n    enableFiltering: true\n'],
    ['  - pluginRef: prefill-filter\n', '  - pluginRef: prefill-filter\n  - pluginRef: context-length-aware\n'],
  ]);
  const gw = await gateway([`{address: ${at(decode)}, role: decode}`,
    `{address: ${at(short)}, role: prefill, contextLengthRange: "0-1024"}`,
    `{address: ${at(long)}, role: prefill, contextLengthRange: "1025-16384"}`], picker);
  const port = (s) => `127.0.0.1:${s.port}`;
  for (const [bytes, pool] of [[4096, short], [4097, long], [4093, short], [4100, long], [12000, long], [100, short]]) {
    const r = await complete(gw, prompt(bytes));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.endpoint, port(decode));
    assert.equal(r.prefill, port(pool), `${bytes} bytes (${Math.ceil(bytes / 4)} tokens) prefilled on ${r.prefill}`);
  }
  // What each prefill sim did, by its own count.
  const prefills = async (s) => (await scrape(`${s.url}/metrics`))
    .get(`ringgate_sim_kv_transfer_prefills_total{engine="0",model_name="${MODEL}"}`) ?? 0;
  assert.equal(await prefills(short), 3);
  assert.equal(await prefills(long), 3);
});

test('session affinity (llm-d\'s session test config): a session stays on its server until that server is overloaded', async () => {
  const picker = guide('llm-d-router__test_integration_epp_session_affinity_test__line-43-configText.yaml', [
    ['  - type: session-affinity-filter\n', '  - type: session-affinity-filter\n    parameters: {strategy: session_id}\n'],
    ['  - type: mock-metrics-source\n', ''],
    ['dataLayer:\n  sources:\n  - pluginRef: mock-metrics-source\n', ''],
  ]);
  // Slow tokens: a blocker holds its server while the next ones are placed.
  const pool = await sims(2, ['--inter-token-latency-ms', '20']);
  const gw = await gateway(pool.map(at), picker);
  const session = { 'x-session-id': 'conversation-7' };
  const home = (await complete(gw, prompt(200), { headers: session })).endpoint;
  for (let i = 0; i < 6; i++) assert.equal((await complete(gw, prompt(200), { headers: session })).endpoint, home);
  const pick = async () => {
    const res = await fetch(`${gw.adminUrl}/debug/pick?path=/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...session },
      body: JSON.stringify({ model: MODEL, prompt: prompt(200) }),
    });
    return res.json();
  };
  const inflight = async (address) => (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json())
    .endpoints.find((e) => e.address === address).inflight;
  // Long requests of the session pile up at home; the session stays there while home's
  // load is within the load guard's 8 of the other's, and moves at the 9th.
  const abort = new AbortController();
  const blockers = [];
  for (let n = 1; n <= 9; n++) {
    blockers.push(complete(gw, prompt(200), { headers: session, maxTokens: 2000, signal: abort.signal }).catch(() => null));
    await waitFor(`${n} in flight at home`, async () => (await inflight(home)) === n);
    const p = await pick();
    if (n <= 8) assert.deepEqual([p.endpoint, p.reason], [home, 'session'], `with ${n} in flight at home`);
    else assert.notEqual(p.endpoint, home, `with ${n} in flight at home the session stayed: ${JSON.stringify(p)}`);
  }
  assert.equal(await inflight(home === `127.0.0.1:${pool[0].port}` ? `127.0.0.1:${pool[1].port}` : `127.0.0.1:${pool[0].port}`), 0);
  abort.abort();
  await Promise.all(blockers);
});

test('flow-control guide: with the pool saturated, waits past the TTL end in 429 rejected-ttl-expired', async () => {
  const picker = guide('llm-d-router__test_integration_epp_wellknown_configs_test__line-260-flow-control.yaml', [
    ['maxConcurrency: 132', 'maxConcurrency: 1'],
    ['defaultRequestTTL: "60s"', 'defaultRequestTTL: "300ms"'],
  ]);
  const pool = await sims(2, ['--inter-token-latency-ms', '20']);
  // The guide's bands by InferenceObjective priority: -10 is sheddable, 0 is not.
  const gw = await gateway(pool.map(at), picker, `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: -10}
`);
  const abort = new AbortController();
  const blockers = pool.map(() => complete(gw, prompt(200), { maxTokens: 2000, signal: abort.signal }).catch(() => null));
  const inflight = async () => (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json())
    .endpoints.reduce((sum, e) => sum + e.inflight, 0);
  await waitFor('each server at its one allowed request', async () => (await inflight()) === 2);
  const [sheddable, critical] = await Promise.all([
    complete(gw, prompt(200), { headers: { 'x-gateway-inference-objective': 'batch' } }),
    complete(gw, prompt(200)),
  ]);
  for (const r of [sheddable, critical]) {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.dropped, 'rejected-ttl-expired');
    const e = JSON.parse(r.text).error;
    assert.equal(e.code, 'queue_timeout', r.text);
    assert.ok(e.message.length > 0 && e.type.length > 0, r.text);
  }
  abort.abort();
  await Promise.all(blockers);
});
