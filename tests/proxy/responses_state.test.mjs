// Responses API state through the gateway (issue 49): vLLM keeps stored responses in the
// memory of the server that made them, so every request that names one must reach that
// server. The official openai client against 4 real sims (VLLM_ENABLE_RESPONSES_API_STORE=1):
// chains of responses.create with previous_response_id, background requests polled with
// responses.retrieve and cancelled; then the holder of some chains is SIGKILLed: those
// chains get the gateway's 404 (previous_response_not_found), every other request works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { responseTurn, pool, describe } from '../lib/responses_chain.mjs';
import OpenAI from 'openai';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const CHAINS = 200;
const BACKGROUND = 50;
const CANCELLED = 10;
let sims = [];
let gw;
let client;
const last = new Map();  // chain -> { id, holder }

const simArgs = ['--model', MODEL, '--inter-token-latency-ms', '1', '--seed', '7'];
before(async () => {
  sims = await Promise.all([0, 1, 2, 3].map(() => startSim(simArgs, { env: { VLLM_ENABLE_RESPONSES_API_STORE: '1' } })));
  gw = await startGateway(['--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api])]);
  await waitRoutable(gw, 4);
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
});
after(async () => {
  await gw?.stop();
  await Promise.all(sims.map((s) => s.stop('SIGKILL')));
});

const turn = (chain, t, previous) => responseTurn(client, MODEL, chain, t, previous);

test('200 chains of 3-6 turns, half streamed: every turn finds its previous response', async () => {
  const outcomes = await pool(CHAINS, 24, async (chain) => {
    let previous = null;
    let holder = null;
    const turns = 3 + (chain % 4);
    for (let t = 0; t < turns; t++) ({ id: previous, holder } = await turn(chain, t, previous));
    last.set(chain, { id: previous, holder });
    return turns;
  });
  const failed = outcomes.filter((o) => !o.ok);
  const notFound = failed.filter((o) => o.error?.status === 404);
  assert.equal(notFound.length, 0, `not found: ${notFound.slice(0, 3).map((o) => describe(o.error)).join('; ')}`);
  assert.equal(failed.length, 0, `errors: ${failed.slice(0, 3).map((o) => describe(o.error)).join('; ')}`);
  const turns = outcomes.reduce((n, o) => n + o.value, 0);
  assert.equal(turns, CHAINS * 4.5);
  // Spread over the servers (no pinning of new chains to one), and learned by the gateway.
  assert.ok(new Set([...last.values()].map((l) => l.holder)).size >= 3);
  const metrics = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok(metrics.get('ringgate_responses_learned_total') >= turns);
});

test('50 background requests polled with responses.retrieve, 10 of them cancelled', async () => {
  const outcomes = await pool(BACKGROUND, 25, async (i) => {
    const cancel = i < CANCELLED;
    const created = await client.responses.create({
      model: MODEL, input: `background ${i}`, background: true, max_output_tokens: cancel ? 5000 : 8,
    });
    assert.equal(created.status, 'queued');
    if (cancel) {
      const cancelled = await client.responses.cancel(created.id);
      assert.equal(cancelled.status, 'cancelled');
      const again = await client.responses.retrieve(created.id);
      assert.equal(again.status, 'cancelled');
      return 'cancelled';
    }
    for (let polls = 0; polls < 2000; polls++) {
      const r = await client.responses.retrieve(created.id);
      if (r.status === 'completed') {
        assert.ok(r.output[0]?.content[0]?.text?.length > 0 || r.usage.output_tokens >= 0);
        return 'completed';
      }
      assert.equal(r.status, 'queued');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`response ${created.id} never completed`);
  });
  const failed = outcomes.filter((o) => !o.ok);
  assert.equal(failed.length, 0, `errors: ${failed.slice(0, 3).map((o) => describe(o.error)).join('; ')}`);
  assert.equal(outcomes.filter((o) => o.value === 'cancelled').length, CANCELLED);
  assert.equal(outcomes.filter((o) => o.value === 'completed').length, BACKGROUND - CANCELLED);
});

test('bad ids: 10 KB or with control bytes is a 400; DELETE reaches the holder (vLLM routes none: 405)', async () => {
  const huge = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, input: 'x', previous_response_id: 'r'.repeat(10 * 1024) }),
  });
  assert.equal(huge.status, 400);
  assert.equal((await huge.json()).error.code, 'invalid_previous_response_id');
  const control = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, input: 'x', previous_response_id: 'resp_\u0001' }),
  });
  assert.equal(control.status, 400);
  assert.equal((await control.json()).error.code, 'invalid_previous_response_id');
  const longPath = await fetch(`${gw.url}/v1/responses/${'r'.repeat(300)}`);
  assert.equal(longPath.status, 400);
  assert.equal((await longPath.json()).error.code, 'invalid_response_id');
  const [chain] = last.keys();
  const del = await fetch(`${gw.url}/v1/responses/${last.get(chain).id}`, { method: 'DELETE' });
  assert.equal(del.status, 405);
  assert.equal(del.headers.get('x-gateway-destination-endpoint'), last.get(chain).holder);
  assert.equal((await client.responses.retrieve(last.get(chain).id)).id, last.get(chain).id);
});

test('the holder SIGKILLed: its chains get previous_response_not_found, no other request fails or hangs', async () => {
  const victim = sims[0];
  await victim.stop('SIGKILL');
  const outcomes = await pool(CHAINS, 24, async (chain) => {
    const { id } = last.get(chain);
    return turn(chain, 99, id);
  });
  let lost = 0;
  for (const [chain, { holder }] of last) {
    const o = outcomes[chain];
    if (holder === victim.api) {
      lost++;
      assert.equal(o.ok, false, `chain ${chain} was held by the killed server`);
      assert.equal(o.error.status, 404, describe(o.error));
      assert.equal(o.error.code, 'previous_response_not_found', describe(o.error));
    } else {
      assert.equal(o.ok, true, `chain ${chain}: ${describe(o.error)}`);
    }
  }
  assert.ok(lost > 0, 'some chains were held by the killed server');
  // GET of a lost response: the gateway's 404 too (its holder is gone), never another server's.
  const [lostChain] = [...last].find(([, l]) => l.holder === victim.api);
  await assert.rejects(client.responses.retrieve(last.get(lostChain).id),
    (e) => e.status === 404 && e.code === 'response_not_found');
});
