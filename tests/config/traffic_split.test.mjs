// Issue 7 acceptance: a 90/10 InferenceModelRewrite split over 10,000 requests lands
// within ±1.5 points of 90/10, counted by the "model" field of the answers (what the
// simulator actually served), through the real ringgate and ringgate-sim binaries.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { closedLoop } from './model_traffic.mjs';

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-split-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

test('a 90/10 split over 10,000 requests lands within ±1.5 points', { timeout: 50000 }, async () => {
  // Two simulators, each serving both names (a base model and a LoRA variant, as every pod
  // of a pool would; vLLM names the adapter in its answer); zero latency, tiny answers.
  const simArgs = ['--model', 'facebook/opt-125m', '--lora', 'opt-125m-v2', '--max-num-seqs', '512', '--seed', '7'];
  const sims = await Promise.all([startSim(simArgs), startSim(simArgs)]);
  procs.push(...sims);
  const config = path.join(dir, 'ringgate.yaml');
  writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["${sims[0].api}", "${sims[1].api}"]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: my-chat-canary}
spec:
  rules:
  - matches: [{model: {type: Exact, value: my-chat}}]
    targets:
    - {modelRewrite: facebook/opt-125m, weight: 90}
    - {modelRewrite: opt-125m-v2, weight: 10}
`);
  const gw = await startGateway(['--config', config]);
  procs.push(gw);

  const total = 10000;
  const tally = await closedLoop({
    url: gw.url, total, concurrency: 32,
    body: { model: 'my-chat', prompt: 'hi', max_tokens: 1 },
  });
  const s = tally.summary();
  const base = tally.share('facebook/opt-125m'), canary = tally.share('opt-125m-v2');
  console.log(`split: ${JSON.stringify(s.byModel)} -> ${(100 * base).toFixed(2)}% / ${(100 * canary).toFixed(2)}%; ` +
              `${total} requests in ${(tally.elapsedMs / 1000).toFixed(2)} s (${Math.round(total / (tally.elapsedMs / 1000))} req/s)`);
  assert.equal(tally.ok, total, `every request answered 2xx: ${JSON.stringify(s)}`);
  assert.equal(tally.byModel.size, 2, `only the two targets were served: ${JSON.stringify(s.byModel)}`);
  assert.ok(Math.abs(base - 0.9) <= 0.015, `base share ${base} within 0.9 ± 0.015`);
  assert.ok(Math.abs(canary - 0.1) <= 0.015, `canary share ${canary} within 0.1 ± 0.015`);

  // The gateway's own counters agree with what the clients saw.
  const m = await scrape(`${gw.adminUrl}/metrics`);
  const decision = (target) =>
    m.get(`inference_extension_model_rewrite_decisions_total{model_name="my-chat",model_rewrite_name="my-chat-canary",target_model="${target}"}`);
  assert.equal(decision('facebook/opt-125m'), tally.byModel.get('facebook/opt-125m'));
  assert.equal(decision('opt-125m-v2'), tally.byModel.get('opt-125m-v2'));
  const requests = (target) => m.get(`inference_objective_request_total{model_name="my-chat",priority="0",target_model_name="${target}"}`);
  assert.equal(requests('facebook/opt-125m') + requests('opt-125m-v2'), total);
});
