// Responses API chains through the official openai client, shared by the tests of
// response-id affinity (one gateway: tests/proxy/responses_state.test.mjs; replicas:
// tests/control/shared_responses.test.mjs).
import assert from 'node:assert/strict';

// One turn of chain `chain` (odd chains stream) on `client`: { id, holder }, holder being
// the x-gateway-destination-endpoint the answer came from.
export async function responseTurn(client, model, chain, t, previous) {
  const stream = chain % 2 === 1;
  const params = { model, input: `chain ${chain} turn ${t}: tell me more`, max_output_tokens: 8 };
  if (previous) params.previous_response_id = previous;
  if (!stream) {
    const { data, response } = await client.responses.create(params).withResponse();
    assert.equal(data.status, 'completed');
    assert.equal(data.previous_response_id ?? undefined, previous ?? undefined);
    return { id: data.id, holder: response.headers.get('x-gateway-destination-endpoint') };
  }
  const { data: events, response } = await client.responses.create({ ...params, stream: true }).withResponse();
  let created = null;
  let completed = null;
  for await (const event of events) {
    if (event.type === 'response.created') created = event.response.id;
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.ok(completed, 'the stream ended with response.completed');
  assert.equal(completed.id, created);
  assert.equal(completed.previous_response_id ?? undefined, previous ?? undefined);
  return { id: completed.id, holder: response.headers.get('x-gateway-destination-endpoint') };
}

// Runs `fn(i)` for i < n, `width` at a time; resolves with every outcome.
export async function pool(n, width, fn) {
  const outcomes = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      try { outcomes[i] = { ok: true, value: await fn(i) }; } catch (error) { outcomes[i] = { ok: false, error }; }
    }
  }));
  return outcomes;
}

export const describe = (e) => `${e?.status ?? ''} ${e?.code ?? ''} ${e?.message ?? e}`;
