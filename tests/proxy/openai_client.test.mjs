// The official openai client through the gateway, against real ringgate-sim servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSim, startGateway } from '../lib/procs.mjs';
import { MODEL } from './raw_http.mjs';

let sims = [];
let gw;
let client;

before(async () => {
  sims = await Promise.all([startSim(['--model', MODEL]), startSim(['--model', MODEL])]);
  gw = await startGateway(['--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api])]);
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
});
after(async () => {
  await gw?.stop();
  await Promise.all(sims.map((s) => s.stop()));
});

test('models list is the endpoints\' union, deduplicated', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [MODEL]);
});

test('completion, not streamed', async () => {
  const res = await client.completions.create({ model: MODEL, prompt: 'Hello there', max_tokens: 8 });
  assert.equal(res.object, 'text_completion');
  assert.equal(res.model, MODEL);
  assert.equal(res.usage.completion_tokens, 8);
  assert.ok(res.choices[0].text.length > 0);
});

test('completion, streamed', async () => {
  const stream = await client.completions.create({ model: MODEL, prompt: 'Hello', max_tokens: 6, stream: true });
  let chunks = 0;
  let text = '';
  for await (const chunk of stream) { chunks++; text += chunk.choices[0]?.text ?? ''; }
  assert.ok(chunks >= 6, `got ${chunks} chunks`);
  assert.ok(text.length > 0);
});

test('chat, not streamed', async () => {
  const res = await client.chat.completions.create({
    model: MODEL, max_tokens: 5,
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
  });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.choices[0].message.role, 'assistant');
  assert.equal(res.usage.completion_tokens, 5);
});

test('chat, streamed', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, max_tokens: 7, stream: true, messages: [{ role: 'user', content: 'count' }],
  });
  let content = '';
  let finish = null;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.ok(content.length > 0);
  assert.equal(finish, 'length');
});

test('unknown model is a 404 with an OpenAI error body', async () => {
  await assert.rejects(client.completions.create({ model: 'nope', prompt: 'x', max_tokens: 1 }), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
});

test('x-request-id: the client\'s is kept, else one is added', async () => {
  const mine = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'abc-123' },
    body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1 }),
  });
  assert.equal(mine.status, 200);
  assert.equal(mine.headers.get('x-request-id'), 'abc-123');
  await mine.text();
  const theirs = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1 }),
  });
  assert.match(theirs.headers.get('x-request-id') ?? '', /^rg-/);
  await theirs.text();
});
