// Issue 7 acceptance through the real binaries: the llm-d kind guide's step 4 (model
// aliasing with an InferenceModelRewrite: clients send "opt-stable", the pool serves
// facebook/opt-125m and the answer says so), /v1/models listing aliases with the real
// models, the forced-target header, GAIE precedence (exact before catch-all), and the
// labels of the rewrite and request-total metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { keepAliveAgent, post } from './model_traffic.mjs';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-alias-'));
const procs = [];
let sim, gw, agent;

const REAL = 'facebook/opt-125m';
const CANARY = 'facebook/opt-125m-canary';

before(async () => {
  // The canary is a LoRA adapter: vLLM answers with the adapter's name. (Two --served-model-name
  // aliases would not do: vLLM answers every alias with the first name.)
  sim = await startSim(['--model', REAL, '--lora', CANARY, '--seed', '3']);
  procs.push(sim);
  const config = path.join(dir, 'ringgate.yaml');
  // The guide's resources, with the pool given as the static list of this test's sim.
  writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["${sim.api}"]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata:
  name: opt-stable-alias
spec:
  poolRef:
    group: inference.networking.k8s.io
    name: vllm
  rules:
  - matches:
    - model:
        type: Exact
        value: opt-stable
    targets:
    - modelRewrite: "${REAL}"
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: food-review-alias}
spec:
  rules:
  - matches: [{model: {type: Exact, value: food-review}}]
    targets: [{modelRewrite: ${REAL}}]
  - matches: [{model: {type: Exact, value: a-much-longer-alias-name-than-the-model-it-stands-for}}]
    targets: [{modelRewrite: ${CANARY}}]
`);
  gw = await startGateway(['--config', config]);
  procs.push(gw);
  agent = keepAliveAgent(4);
});
after(async () => {
  agent?.destroy();
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

const completion = (model, extra = {}) => JSON.stringify({ model, prompt: 'Explain model aliasing', max_tokens: 5, ...extra });

test('the guide: curl with the alias is served by the real model, and the answer says so', async () => {
  // As the guide does it (the alias in, plain curl, JSON out).
  const { stdout } = await run('curl', ['-s', '-D', '-', `${gw.url}/v1/completions`,
    '-H', 'Content-Type: application/json',
    '-d', '{"model": "opt-stable", "prompt": "What is Kubernetes?", "max_tokens": 20}'], { timeout: 20000 });
  const [head, body] = stdout.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, new RegExp(`x-gateway-destination-endpoint: ${sim.api.replace(/\./g, '\\.')}`, 'i'));
  const answer = JSON.parse(body);
  assert.equal(answer.model, REAL);
  assert.equal(answer.usage.completion_tokens, 20);

  // The simulator itself does not know the alias: without the gateway it is a 404.
  const direct = await post(agent, sim.url, '/v1/completions', completion('opt-stable'));
  assert.equal(direct.status, 404, direct.body);
});

test('the official OpenAI client: chat and completions, streamed and not, through the alias', async () => {
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
  const chat = await client.chat.completions.create({
    model: 'food-review', messages: [{ role: 'user', content: 'Rate this pizza' }], max_tokens: 4,
  });
  assert.equal(chat.model, REAL);
  assert.equal(chat.choices.length, 1);
  const done = await client.completions.create({ model: 'opt-stable', prompt: 'Hi', max_tokens: 3 });
  assert.equal(done.model, REAL);
  const stream = await client.chat.completions.create({
    model: 'opt-stable', messages: [{ role: 'user', content: 'Stream please' }], max_tokens: 6, stream: true,
  });
  const models = new Set();
  let chunks = 0;
  for await (const chunk of stream) { models.add(chunk.model); chunks++; }
  assert.ok(chunks >= 6, `${chunks} chunks`);
  assert.deepEqual([...models], [REAL]);
});

test('the model field is spliced wherever it sits, whatever the length difference', async () => {
  const bodies = [
    // model after a long messages array; spaces around the colon
    `{"messages": [{"role": "user", "content": "${'x'.repeat(3000)}"}], "max_tokens": 2, "model" : "opt-stable"}`,
    // an alias longer than its target
    completion('a-much-longer-alias-name-than-the-model-it-stands-for'),
    // an escaped character in the alias name ("food-review" spelled with \\u002d)
    '{"model":"food\\u002dreview","prompt":"p","max_tokens":2}',
    // a duplicate key: the last one counts, as for vLLM's JSON parser; it is the one rewritten
    `{"model":"${CANARY}","prompt":"p","max_tokens":2,"model":"opt-stable"}`,
    `{"model":"opt-stable","prompt":"p","max_tokens":2,"model":"${CANARY}"}`,
  ];
  const expected = [REAL, CANARY, REAL, REAL, CANARY];
  const paths = ['/v1/chat/completions', '/v1/completions', '/v1/completions', '/v1/completions', '/v1/completions'];
  for (let i = 0; i < bodies.length; i++) {
    const r = await post(agent, gw.url, paths[i], bodies[i]);
    assert.equal(r.status, 200, `body ${i}: ${r.body}`);
    assert.equal(r.model, expected[i], `body ${i}`);
  }
});

test('/v1/models lists the aliases with the real models', async () => {
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ['opt-stable', 'food-review', 'a-much-longer-alias-name-than-the-model-it-stands-for', REAL, CANARY]) {
    assert.ok(ids.includes(id), `${id} in ${JSON.stringify(ids)}`);
  }
  assert.equal(new Set(ids).size, ids.length, `no duplicates: ${JSON.stringify(ids)}`);
});

test('x-gateway-model-name-rewrite forces the target; metrics carry the right labels', async () => {
  const before = await scrape(`${gw.adminUrl}/metrics`);
  const send = (model, headers = {}) => post(agent, gw.url, '/v1/completions', completion(model), headers);
  // 5 by the rule, 3 forced (over an alias), 2 forced by llm-d's spelling (over a real model name),
  // 4 for a model no rule matches.
  for (let i = 0; i < 5; i++) assert.equal((await send('opt-stable')).model, REAL);
  for (let i = 0; i < 3; i++) {
    assert.equal((await send('opt-stable', { 'x-gateway-model-name-rewrite': CANARY })).model, CANARY);
  }
  for (let i = 0; i < 2; i++) assert.equal((await send(REAL, { 'x-llm-d-model-name-rewrite': CANARY })).model, CANARY);
  for (let i = 0; i < 4; i++) assert.equal((await send(CANARY)).model, CANARY);
  // A forced target the pool does not serve is not served by something else.
  const missing = await send('opt-stable', { 'x-gateway-model-name-rewrite': 'no-such-model' });
  assert.equal(missing.status, 404, missing.body);
  assert.equal(JSON.parse(missing.body).error.code !== undefined, true);

  const m = await scrape(`${gw.adminUrl}/metrics`);
  const delta = (key) => (m.get(key) ?? 0) - (before.get(key) ?? 0);
  const decision = (name, model, target) =>
    `inference_extension_model_rewrite_decisions_total{model_name="${model}",model_rewrite_name="${name}",target_model="${target}"}`;
  const total = (model, target) => `inference_objective_request_total{model_name="${model}",priority="0",target_model_name="${target}"}`;
  assert.equal(delta(decision('opt-stable-alias', 'opt-stable', REAL)), 5);
  // The header bypasses the rules: no rule made a decision for those requests.
  assert.equal(delta(decision('opt-stable-alias', 'opt-stable', CANARY)), 0);
  assert.equal(delta(total('opt-stable', REAL)), 5);
  assert.equal(delta(total('opt-stable', CANARY)), 3);
  assert.equal(delta(total(REAL, CANARY)), 2);
  assert.equal(delta(total(CANARY, CANARY)), 4);
  // Refused before scheduling: not a request GAIE counts, but an error it names; a name
  // the pool does not serve is counted as "other" (issue 12: clients cannot mint label sets).
  assert.equal(delta(total('opt-stable', 'other')), 0);
  assert.equal(delta(`inference_objective_request_error_total{error_code="NotFound",model_name="opt-stable",target_model_name="other"}`), 1);
  // Every rewrite decision series names a rule that exists and a model asked for.
  for (const key of m.keys()) {
    if (!key.startsWith('inference_extension_model_rewrite_decisions_total{')) continue;
    assert.match(key, /model_rewrite_name="(opt-stable-alias|food-review-alias)"/, key);
  }
});

test('precedence: an exact match beats the catch-all, which takes every other model', async () => {
  const config = path.join(dir, 'catch-all.yaml');
  writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["${sim.api}"]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: fallback}
spec:
  rules:
  - matches: []
    targets: [{modelRewrite: ${CANARY}}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: stable}
spec:
  rules:
  - matches: [{model: {type: Exact, value: opt-stable}}]
    targets: [{modelRewrite: ${REAL}}]
`);
  const g = await startGateway(['--config', config]);
  procs.push(g);
  const send = (model) => post(agent, g.url, '/v1/completions', completion(model));
  assert.equal((await send('opt-stable')).model, REAL, 'exact rule, although the catch-all comes first');
  assert.equal((await send('anything-else')).model, CANARY, 'catch-all');
  assert.equal((await send(REAL)).model, CANARY, 'the catch-all also takes a real model name no rule matches');
  const m = await scrape(`${g.adminUrl}/metrics`);
  // The catch-all takes any name a client sends: the ones the pool does not know are labelled "other".
  assert.equal(m.get(`inference_extension_model_rewrite_decisions_total{model_name="other",model_rewrite_name="fallback",target_model="${CANARY}"}`), 1);
  assert.equal(m.get(`inference_extension_model_rewrite_decisions_total{model_name="opt-stable",model_rewrite_name="stable",target_model="${REAL}"}`), 1);
  await g.stop();
});
