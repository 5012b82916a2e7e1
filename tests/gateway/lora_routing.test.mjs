// LoRA adapters through the gateway: each sim serves the base model and its own
// adapters (vLLM's --lora-modules); a request naming an adapter goes only to
// servers that list it in /v1/models, a base-model request to any of them, and
// an adapter nobody serves is a 404 from the gateway.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop('SIGKILL'); });

async function complete(gw, model, prompt) {
  const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: 1 }) });
  const body = await res.text();
  return { status: res.status, body, endpoint: res.headers.get('x-gateway-destination-endpoint') };
}

test('a request for an adapter reaches only the servers that serve it', async () => {
  const sql = await startSim(['--model', MODEL, '--lora-modules', 'sql-lora=/adapters/sql']);
  const tweet = await startSim(['--model', MODEL, '--lora-modules', 'tweet-lora=/adapters/tweet', 'both-lora=/adapters/both']);
  const both = await startSim(['--model', MODEL, '--lora', 'both-lora']);
  const plain = await startSim(['--model', MODEL]);
  live.push(sql, tweet, both, plain);
  const sims = [sql, tweet, both, plain];
  const gw = await startGateway(['--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api])]);
  live.push(gw);
  // Until every server's /v1/models has been read the gateway cannot know who serves what.
  const deadline = Date.now() + 10000;
  while ((await scrape(`${gw.adminUrl}/metrics`)).get('inference_pool_ready_pods{name="vllm"}') !== 4) {
    assert.ok(Date.now() < deadline, 'four ready pods');
    await new Promise((r) => setTimeout(r, 20));
  }

  const where = async (model, n) => {
    const seen = new Map();
    for (let i = 0; i < n; i++) {
      const r = await complete(gw, model, `prompt ${i} for ${model}: ${'x'.repeat(i * 13)}`);
      assert.equal(r.status, 200, `${model}: ${r.body}`);
      assert.equal(JSON.parse(r.body).model, model, 'the server answered for the adapter asked for');
      seen.set(r.endpoint, (seen.get(r.endpoint) ?? 0) + 1);
    }
    return seen;
  };
  assert.deepEqual([...(await where('sql-lora', 24)).keys()], [sql.api]);
  assert.deepEqual([...(await where('tweet-lora', 24)).keys()], [tweet.api]);
  const bothSeen = await where('both-lora', 32);
  assert.deepEqual([...bothSeen.keys()].sort(), [tweet.api, both.api].sort(), 'spread over the two servers that have it');
  const base = await where(MODEL, 32);
  assert.ok(base.size >= 3, `base-model requests spread: ${JSON.stringify([...base])}`);

  const missing = await complete(gw, 'no-such-lora', 'x');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).error.code, 'model_not_found');
});
