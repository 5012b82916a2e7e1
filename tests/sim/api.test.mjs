// ringgate-sim's OpenAI API through the official openai client and raw sockets:
// completions and chat, streaming and not, /v1/models, /health, vLLM-style
// errors for malformed requests, and HTTP/1.1 details (keep-alive, chunked
// request bodies, pipelining).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSim } from '../lib/procs.mjs';
import { connect, exchange, parseResponses, postJson } from './raw_http.mjs';

const MODEL = 'facebook/opt-125m';
let sim, client;

before(async () => {
  sim = await startSim(['--mode', 'echo', '--lora-modules', 'sql-lora=/adapters/sql', '--lora', 'tiny',
    '--served-model-name', MODEL, 'opt-alias']);
  client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => { const r = await sim.stop(); assert.equal(r.code, 0, sim.stderr()); });

test('completion, not streaming: vLLM shape, echo text, usage, finish_reason length', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'The quick brown fox jumps', max_tokens: 3 });
  assert.match(r.id, /^cmpl-[0-9a-f]{32}$/);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, MODEL);
  assert.equal(typeof r.created, 'number');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(r.choices[0].text, 'The quick br');   // 3 tokens of 4 bytes
  assert.equal(r.choices[0].finish_reason, 'length');
  // vLLM reports cached tokens only with --enable-prompt-tokens-details (see api_vllm.test.mjs).
  assert.deepEqual(r.usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: null });
});

test('completion: echo ends with finish_reason stop when the prompt runs out; default max_tokens is 16', async () => {
  const short = await client.completions.create({ model: MODEL, prompt: 'hello world', max_tokens: 50 });
  assert.equal(short.choices[0].text, 'hello world');
  assert.equal(short.choices[0].finish_reason, 'stop');
  const long = await client.completions.create({ model: MODEL, prompt: 'x'.repeat(400) });
  assert.equal(long.usage.completion_tokens, 16);
  assert.equal(long.choices[0].finish_reason, 'length');
});

test('completion, streaming: one chunk per token, finish_reason on the last, usage chunk, [DONE]', async () => {
  const stream = await client.completions.create({
    model: MODEL, prompt: 'abcdefghijkl', max_tokens: 10, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.length, 4);  // 3 tokens + usage
  assert.deepEqual(chunks.slice(0, 3).map((c) => c.choices[0].text), ['abcd', 'efgh', 'ijkl']);
  assert.deepEqual(chunks.slice(0, 3).map((c) => c.choices[0].finish_reason), [null, null, 'stop']);
  for (const c of chunks) { assert.equal(c.object, 'text_completion'); assert.equal(c.id, chunks[0].id); }
  assert.deepEqual(chunks[3].choices, []);
  assert.equal(chunks[3].usage.completion_tokens, 3);
  assert.equal(chunks[3].usage.prompt_tokens, 3);
});

test('chat, not streaming: message with role assistant; prompt counts every message and role', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say it back' }],
    max_completion_tokens: 20,
  });
  assert.match(r.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Say it back');
  assert.equal(r.choices[0].finish_reason, 'stop');
  // "system: You are terse.\nuser: Say it back\nassistant: " is 52 bytes: 13 tokens
  assert.equal(r.usage.prompt_tokens, 13);
  assert.equal(r.usage.completion_tokens, 3);
});

test('chat, streaming with for await: role first, content deltas, usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'opt-alias', messages: [{ role: 'user', content: 'one two three' }], max_tokens: 2, stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.length, 4);  // role, 2 tokens, usage
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].model, MODEL);  // vLLM answers with the first served name, whatever alias was asked
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(chunks[1].choices[0].delta.content + chunks[2].choices[0].delta.content, 'one two ');
  assert.equal(chunks[2].choices[0].finish_reason, 'length');
  assert.equal(chunks[3].usage.completion_tokens, 2);
  assert.deepEqual(chunks[3].choices, []);
});

test('streaming without include_usage has no usage chunk; the raw stream ends with data: [DONE]', async () => {
  const res = await fetch(`${sim.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'abcdefgh', max_tokens: 5, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const text = await res.text();
  const events = text.split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  assert.equal(events.length, 3);
  for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e.slice(6)).usage, null);  // dumped whole: usage null
});

test('LoRA adapters are models: /v1/models lists them with root and parent; they answer', async () => {
  const list = await client.models.list();
  const byId = Object.fromEntries(list.data.map((m) => [m.id, m]));
  assert.deepEqual(Object.keys(byId).sort(), [MODEL, 'opt-alias', 'sql-lora', 'tiny'].sort());
  assert.equal(byId[MODEL].object, 'model');
  assert.equal(byId[MODEL].owned_by, 'vllm');
  assert.equal(byId[MODEL].root, MODEL);
  assert.equal(byId[MODEL].parent, null);
  assert.equal(byId['sql-lora'].root, '/adapters/sql');
  assert.equal(byId['sql-lora'].parent, MODEL);
  assert.equal(byId.tiny.parent, MODEL);
  const r = await client.completions.create({ model: 'sql-lora', prompt: 'SELECT 1', max_tokens: 1 });
  assert.equal(r.model, 'sql-lora');
});

test('/health is 200 with an empty body', async () => {
  const res = await fetch(`${sim.url}/health`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
});

async function postRaw(path, body, headers = {}) {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.json() };
}

function assertVllmError(r, status, { type, param = null, message } = {}) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body), ['error']);
  assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(r.body.error.code, status);
  assert.equal(r.body.error.param, param);
  if (type) assert.equal(r.body.error.type, type);
  if (message) assert.match(r.body.error.message, message);
}

test('malformed requests give vLLM-style 400s', async () => {
  // Request validation (FastAPI/pydantic) answers type "Bad Request"; the engine's checks "BadRequestError".
  assertVllmError(await postRaw('/v1/completions', '{"model":'), 400, { type: 'Bad Request', message: /JSON decode error/ });
  assertVllmError(await postRaw('/v1/completions', 'not json at all'), 400, { type: 'Bad Request' });
  assertVllmError(await postRaw('/v1/completions', '[1]'), 400, { type: 'Bad Request' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: MODEL })), 400, { param: 'prompt' });
  assertVllmError(await postRaw('/v1/chat/completions', JSON.stringify({ model: MODEL })), 400, { param: 'messages' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: 7, prompt: 'x' })), 400, { param: 'model' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: MODEL, prompt: 7 })), 400, { param: 'prompt' });
  assertVllmError(await postRaw('/v1/chat/completions', JSON.stringify({ model: MODEL, messages: 'hi' })), 400, { param: 'messages' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 'many' })), 400, { param: 'max_tokens' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x', stream: 'yes' })), 400, { param: 'stream' });
  assertVllmError(await postRaw('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x'.repeat(8200), max_tokens: 10 })), 400,
    { type: 'BadRequestError', message: /maximum context length is 2048 tokens/ });
});

test('unknown model is a 404 NotFoundError naming the model', async () => {
  const r = await postRaw('/v1/completions', JSON.stringify({ model: 'gpt-9', prompt: 'x' }));
  assertVllmError(r, 404, { type: 'NotFoundError', param: 'model' });
  assert.equal(r.body.error.message, 'The model `gpt-9` does not exist.');
  await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 404 && /does not exist/.test(e.message));
});

test('wrong method is 405, unknown path is 404, both as error JSON', async () => {
  const get = await fetch(`${sim.url}/v1/completions`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await get.json()).error.code, 405);
  const post = await fetch(`${sim.url}/health`, { method: 'POST' });
  assert.equal(post.status, 405);
  await post.arrayBuffer();
  const nope = await fetch(`${sim.url}/v2/everything`);
  assert.equal(nope.status, 404);
  assert.equal((await nope.json()).error.message, 'Not Found');
});

test('X-Return-Error answers that status with an error body; a bad value is a 400', async () => {
  const body = JSON.stringify({ model: MODEL, prompt: 'x' });
  for (const status of [429, 500, 503]) {
    assertVllmError(await postRaw('/v1/completions', body, { 'x-return-error': String(status) }), status);
  }
  assertVllmError(await postRaw('/v1/chat/completions', body, { 'X-Return-Error': 'teapot' }), 400, { message: /X-Return-Error/ });
});

test('keep-alive: pipelined requests on one connection are answered in order', async () => {
  const reqs = [
    postJson('/v1/completions', { model: MODEL, prompt: 'first', max_tokens: 1 }),
    'GET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    postJson('/v1/completions', { model: MODEL, prompt: 'third', max_tokens: 1 }),
    'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ];
  const text = await exchange(sim.port, reqs.join(''));
  const rs = parseResponses(text);
  assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 404]);
  assert.equal(JSON.parse(rs[0].body).choices[0].text, 'firs');
  assert.equal(JSON.parse(rs[2].body).choices[0].text, 'thir');
  assert.equal(rs[3].headers.connection, 'close');
});

test('chunked request bodies, split across writes, are reassembled', async () => {
  const json = JSON.stringify({ model: MODEL, prompt: 'chunky body', max_tokens: 2 });
  const a = json.slice(0, 10), b = json.slice(10);
  const c = await connect(sim.port);
  c.socket.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n');
  c.socket.write(`${a.length.toString(16)}\r\n${a}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  c.socket.write(`${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`);
  const text = await c.waitFor((d) => d.includes('"usage"'));
  c.close();
  const [r] = parseResponses(text);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).choices[0].text, 'chunky b');
});

test('garbage and oversized requests get an error and a closed connection, and the sim lives on', async () => {
  const garbage = await exchange(sim.port, 'HELLO?? \x01\x02\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  const bigHeader = await exchange(sim.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`);
  assert.match(bigHeader, /^HTTP\/1\.1 431 /);
  const bigBody = await exchange(sim.port, 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n');
  assert.match(bigBody, /^HTTP\/1\.1 413 /);
  const res = await fetch(`${sim.url}/health`);
  assert.equal(res.status, 200);
});

test('Expect: 100-continue gets an interim 100 before the answer', async () => {
  const json = JSON.stringify({ model: MODEL, prompt: 'expecting', max_tokens: 1 });
  const c = await connect(sim.port);
  c.socket.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n` +
    `Content-Length: ${json.length}\r\n\r\n`);
  await c.waitFor((d) => d.startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
  c.socket.write(json);
  const text = await c.waitFor((d) => d.includes('"usage"'));
  c.close();
  assert.match(text, /HTTP\/1\.1 200 OK/);
});

test('random bytes and hostile JSON never crash or hang the sim', async () => {
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < 30; ++i) {
    const bytes = Buffer.alloc(1 + (rand() % 600), 0).map(() => rand() & 0xff);
    // Half start like a real request so the garbage reaches the header and body parsers.
    const raw = i % 2 ? Buffer.concat([Buffer.from('POST /v1/completions HTTP/1.1\r\nContent-Length: 40\r\n'), bytes]) : bytes;
    const c = await connect(sim.port);
    c.socket.end(raw);
    await c.waitFor((_, closed) => closed).catch(() => c.close());
  }
  const deep = '['.repeat(20000) + ']'.repeat(20000);
  assertVllmError(await postRaw('/v1/completions', `{"model":"${MODEL}","prompt":${deep}}`), 400, { param: 'prompt' });
  // Deep nesting in an ignored field is skipped, not recursed into: valid JSON, answered.
  const skipped = await postRaw('/v1/completions', `{"model":"${MODEL}","extra":${deep},"prompt":"x","max_tokens":1}`);
  assert.equal(skipped.status, 200);
  assertVllmError(await postRaw('/v1/completions', `{"model":"${MODEL}","prompt":"\\ud800"}`), 400);
  const invalidUtf8 = Buffer.concat([Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"`),
    Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
  assertVllmError(await postRaw('/v1/chat/completions', invalidUtf8), 400);
  const ok = await client.completions.create({ model: MODEL, prompt: 'still alive', max_tokens: 2 });
  assert.equal(ok.choices[0].text, 'still al');
});

test('HTTP/1.0 clients get a plain (unchunked) stream ended by close', async () => {
  const json = JSON.stringify({ model: MODEL, prompt: 'abcdefgh', max_tokens: 2, stream: true });
  const text = await exchange(sim.port,
    `POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.doesNotMatch(text, /transfer-encoding/i);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.ok(body.startsWith('data: {'));
  assert.ok(body.endsWith('data: [DONE]\n\n'));
});
