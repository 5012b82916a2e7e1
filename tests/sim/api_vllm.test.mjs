// ringgate-sim against real vLLM (issue 19): golden shapes from captured vLLM
// responses (tests/fixtures/vllm/api), the API details a gateway meets (n, batches,
// stop, echo, logprobs, the model field, X-Request-Id, tokenizer routes, errors,
// usage options), and the engine behaviour a router is judged by (an unbounded
// queue that never answers 429, KV blocks taken while decoding, preemption).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSim, scrape } from '../lib/procs.mjs';
import { MODEL, sample, waitForMetrics, stopClean } from './sim_helpers.mjs';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/vllm/api');
const fixture = (name) => readFileSync(path.join(FIXTURES, name), 'utf8');
const sseEvents = (text) => text.split('\n\n').filter(Boolean).map((e) => e.slice('data: '.length));

// The shape of a JSON value, key order included: nulls, booleans and the
// `object` constants stay; other strings and numbers become their type.
function shape(v, key = '') {
  if (v === null || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x, k)]);
  if (key === 'object') return v;
  return typeof v;
}
function assertSameShape(actual, expected, what) {
  assert.equal(JSON.stringify(shape(actual)), JSON.stringify(shape(expected)), `${what}: not vLLM's shape`);
}

async function post(url, route, body, headers = {}) {
  const res = await fetch(`${url}${route}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

let sim;
before(async () => {
  sim = await startSim(['--mode', 'echo', '--served-model-name', MODEL, 'alias-b', '--lora', 'adapter-a',
    '--max-model-len', '256', '--kv-blocks', '256', '--enable-prompt-tokens-details', '--seed', '3']);
});
after(async () => { await stopClean(sim); });

test('golden: non-streaming completion and chat bodies have v0.12\'s fields, in order, nulls included', async () => {
  const completion = await post(sim.url, '/v1/completions', { model: MODEL, prompt: 'San Francisco is a', max_tokens: 3 });
  assert.equal(completion.status, 200);
  assertSameShape(completion.json(), JSON.parse(fixture('completion_v0.12.json')), 'completion');
  const chat = await post(sim.url, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
  assert.equal(chat.status, 200);
  assertSameShape(chat.json(), JSON.parse(fixture('chat_v0.12.json')), 'chat');
});

test('golden: streamed completion and chat chunks are vLLM\'s, and a stream ends with [DONE]', async () => {
  const [completionChunk, chatChunk] = sseEvents(fixture('stream_chunks_v0.12.sse')).map((e) => JSON.parse(e));
  const c = await post(sim.url, '/v1/completions', { model: MODEL, prompt: 'abcdefgh', max_tokens: 2, stream: true, n: 2 });
  const events = sseEvents(c.text);
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(chunks.length, 4);  // 2 tokens x n=2, no usage without stream_options
  for (const chunk of chunks.filter((x) => x.choices[0].finish_reason === null)) assertSameShape(chunk, completionChunk, 'completion chunk');
  assert.deepEqual(chunks.map((x) => x.choices[0].index).sort(), [0, 0, 1, 1]);
  const v010 = sseEvents(fixture('completion_stream_v0.10.sse'));
  assertSameShape(chunks.find((x) => x.choices[0].finish_reason !== null), JSON.parse(v010[1]), 'last completion chunk');

  const chat = await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'one two three' }], max_tokens: 2, stream: true });
  const chatChunks = sseEvents(chat.text).slice(0, -1).map((e) => JSON.parse(e));
  // vLLM's first chat chunk carries only the role and empty content; the tokens follow.
  assert.deepEqual(chatChunks[0].choices[0], { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
  assertSameShape(chatChunks[1], { ...chatChunk, choices: [{ ...chatChunk.choices[0], index: 0 }] }, 'chat chunk');
  assert.deepEqual(Object.keys(chatChunks.at(-1).choices[0]), ['index', 'delta', 'logprobs', 'finish_reason', 'stop_reason']);
});

test('golden: /metrics sample lines name the same labels in the same (sorted) order as real vLLM', async () => {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const labelNames = (line) => [...line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')).matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1]);
  for (const real of fixture('metrics_samples.txt').split('\n').filter((l) => l && !l.startsWith('#'))) {
    const name = real.slice(0, real.indexOf('{'));
    const ours = text.split('\n').find((l) => l.startsWith(`${name}{`));
    assert.ok(ours, `no ${name}`);
    assert.deepEqual(labelNames(ours), labelNames(real), `${name}: ${ours}`);
    assert.match(ours.slice(ours.lastIndexOf(' ') + 1), /^\d+\.\d+$/, 'values print as floats, 0.0 not 0');
  }
});

test('golden: --vllm-version 0.10 answers completions in v0.10\'s shape', async () => {
  const old = await startSim(['--vllm-version', '0.10']);
  try {
    const r = await post(old.url, '/v1/completions', { model: MODEL, prompt: 'San Francisco is a', max_tokens: 7 });
    assertSameShape(r.json(), JSON.parse(fixture('completion_v0.10.json')), 'v0.10 completion');
    assert.equal((await post(old.url, '/version', '{}')).status, 405);  // GET only
    assert.deepEqual(await (await fetch(`${old.url}/version`)).json(), { version: '0.10.2' });
    // /metrics: exactly the families (and types) a real v0.10.2 engine exposes.
    const metrics = await (await fetch(`${old.url}/metrics`)).text();
    const families = [...metrics.matchAll(/^# TYPE (vllm:\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const real = fixture('metrics_families_v0.10.2.txt').split('\n').filter((l) => l && !l.startsWith('#')).sort();
    assert.deepEqual(families, real);
  } finally {
    await stopClean(old);
  }
});

test('n choices, batched prompts, usage counting each prompt once', async () => {
  const r = (await post(sim.url, '/v1/completions', { prompt: ['abcd', 'efghijkl'], max_tokens: 1, n: 3 })).json();
  assert.equal(r.choices.length, 6);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(r.choices.map((c) => c.text), ['abcd', 'abcd', 'abcd', 'efgh', 'efgh', 'efgh']);
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens], [1 + 2, 6]);
  const ids = (await post(sim.url, '/v1/completions', { prompt: [1684234849, 1751606885], max_tokens: 8 })).json();
  assert.equal(ids.choices[0].text, 'abcdefgh');  // token ids: 4 bytes each in the sim's tokenizer
});

test('stop strings end the text before them, with stop_reason; echo prepends the prompt; logprobs', async () => {
  const stop = (await post(sim.url, '/v1/completions', { prompt: 'alpha beta gamma delta', max_tokens: 20, stop: ['gam', 'zzz'] })).json();
  assert.equal(stop.choices[0].text, 'alpha beta ');
  assert.equal(stop.choices[0].finish_reason, 'stop');
  assert.equal(stop.choices[0].stop_reason, 'gam');
  const kept = (await post(sim.url, '/v1/completions', { prompt: 'alpha beta gamma', max_tokens: 20, stop: 'beta', include_stop_str_in_output: true })).json();
  assert.equal(kept.choices[0].text, 'alpha beta');
  const echo = (await post(sim.url, '/v1/completions', { prompt: 'Hi there', max_tokens: 1, echo: true })).json();
  assert.equal(echo.choices[0].text, 'Hi thereHi t');
  const lp = (await post(sim.url, '/v1/completions', { prompt: 'abcdefgh', max_tokens: 2, logprobs: 2 })).json().choices[0].logprobs;
  assert.deepEqual(Object.keys(lp), ['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
  assert.deepEqual(lp.tokens, ['abcd', 'efgh']);
  assert.deepEqual(lp.text_offset, [0, 4]);
  assert.equal(Object.keys(lp.top_logprobs[0]).length, 2);
  const chatLp = (await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'abcd' }], max_tokens: 1, logprobs: true, top_logprobs: 3 })).json();
  const content = chatLp.choices[0].logprobs.content[0];
  assert.deepEqual(Object.keys(content), ['token', 'logprob', 'bytes', 'top_logprobs']);
  assert.equal(content.top_logprobs.length, 3);
  assert.deepEqual(content.bytes, [97, 98, 99, 100]);
});

test('the model field: absent means the base model; the answer names the first served name; X-Request-Id is the id', async () => {
  const none = (await post(sim.url, '/v1/completions', { prompt: 'x', max_tokens: 1 })).json();
  assert.equal(none.model, MODEL);
  const alias = (await post(sim.url, '/v1/completions', { model: 'alias-b', prompt: 'x', max_tokens: 1 })).json();
  assert.equal(alias.model, MODEL);
  const lora = (await post(sim.url, '/v1/completions', { model: 'adapter-a', prompt: 'x', max_tokens: 1 })).json();
  assert.equal(lora.model, 'adapter-a');
  const tagged = (await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }, { 'x-request-id': 'trace-42' })).json();
  assert.equal(tagged.id, 'chatcmpl-trace-42');
});

test('/version, /ping, /tokenize and /detokenize', async () => {
  assert.deepEqual(await (await fetch(`${sim.url}/version`)).json(), { version: '0.12.0' });
  assert.equal((await fetch(`${sim.url}/ping`)).status, 200);
  assert.equal((await fetch(`${sim.url}/ping`, { method: 'POST' })).status, 200);
  const tok = (await post(sim.url, '/tokenize', { model: MODEL, prompt: 'hello world' })).json();
  assert.deepEqual(Object.keys(tok), ['count', 'max_model_len', 'tokens', 'token_strs']);
  assert.equal(tok.count, 3);
  assert.equal(tok.max_model_len, 256);
  const back = (await post(sim.url, '/detokenize', { model: MODEL, tokens: tok.tokens })).json();
  assert.deepEqual(back, { prompt: 'hello world' });
  const chatTok = (await post(sim.url, '/tokenize', { messages: [{ role: 'user', content: 'hi' }] })).json();
  assert.equal(chatTok.count, 5);  // "user: hi\nassistant: " (the generation prompt, as vLLM's default)
  const noPrompt = (await post(sim.url, '/tokenize', { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: false })).json();
  assert.equal(noPrompt.count, 3);  // "user: hi\n"
  const continued = (await post(sim.url, '/tokenize', { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hel' }],
    add_generation_prompt: false, continue_final_message: true })).json();
  assert.equal(continued.count, 6);  // "user: hi\nassistant: Hel"
  const both = await post(sim.url, '/tokenize', { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true, continue_final_message: true });
  assert.equal(both.status, 400);
  assert.match(both.json().error.message, /Cannot set both `continue_final_message` and `add_generation_prompt` to True\./);
  assert.equal((await post(sim.url, '/tokenize', { model: 'nope', prompt: 'x' })).status, 404);
});

test('errors typed as vLLM types them: Bad Request (validation, non-JSON), BadRequestError (engine), Not Found, Method Not Allowed', async () => {
  const err = (r) => ({ status: r.status, ...r.json().error });
  const notJson = await post(sim.url, '/v1/completions', 'prompt=hi', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.deepEqual(err(notJson), { status: 400, message: "Unsupported Media Type: Only 'application/json' is allowed", type: 'Bad Request', param: null, code: 400 });
  assert.equal(err(await post(sim.url, '/v1/completions', '{"prompt":')).type, 'Bad Request');
  assert.equal(err(await post(sim.url, '/v1/completions', { prompt: 'x', n: 0 })).type, 'Bad Request');
  const long = err(await post(sim.url, '/v1/completions', { prompt: 'x'.repeat(1000), max_tokens: 10 }));
  assert.equal(long.type, 'BadRequestError');
  assert.match(long.message, /maximum context length is 256 tokens\. However, you requested 260 tokens \(250 in the messages, 10 in the completion\)/);
  const missing = await fetch(`${sim.url}/v2/nothing`);
  assert.deepEqual(await missing.json(), { error: { message: 'Not Found', type: 'Not Found', param: null, code: 404 } });
  const wrong = await fetch(`${sim.url}/v1/completions`);
  assert.equal(wrong.status, 405);
  assert.equal((await wrong.json()).error.type, 'Method Not Allowed');
});

test('chat max_tokens: max_completion_tokens wins; neither means max_model_len minus the prompt', async () => {
  const both = (await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'a'.repeat(40) }], max_tokens: 9, max_completion_tokens: 2 })).json();
  assert.equal(both.usage.completion_tokens, 2);
  // 'user: ' + 200 bytes + '\n' + 'assistant: ' = 218 bytes = 55 tokens; 256 - 55 = 201 tokens left.
  const open = (await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'a'.repeat(200) }], ignore_eos: true })).json();
  assert.equal(open.usage.prompt_tokens, 55);
  assert.equal(open.usage.completion_tokens, 201);
  assert.equal(open.choices[0].finish_reason, 'length');
  const tooLong = await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'a'.repeat(1100) }] });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.json().error.message, /you requested 280 tokens in the messages/);
});

test('stream_options: {} includes usage (vLLM\'s default), continuous_usage_stats on every chunk', async () => {
  const body = { prompt: 'abcdefgh', max_tokens: 2, stream: true };
  const plain = sseEvents((await post(sim.url, '/v1/completions', body)).text);
  assert.equal(plain.length, 3);  // 2 tokens + [DONE]
  const dflt = sseEvents((await post(sim.url, '/v1/completions', { ...body, stream_options: {} })).text);
  assert.deepEqual(JSON.parse(dflt.at(-2)).usage, { prompt_tokens: 2, total_tokens: 4, completion_tokens: 2 });
  const off = sseEvents((await post(sim.url, '/v1/completions', { ...body, stream_options: { include_usage: false } })).text);
  assert.equal(off.length, 3);
  const cont = sseEvents((await post(sim.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'abcdefgh' }], max_tokens: 2, stream: true,
    stream_options: { continuous_usage_stats: true } })).text).slice(0, -1).map((e) => JSON.parse(e));
  assert.deepEqual(cont.map((c) => c.usage?.completion_tokens), [0, 1, 2, 2]);
});

test('cached_tokens: only with --enable-prompt-tokens-details, only above 0, never the last prompt token', async () => {
  const prompt = 'q'.repeat(4 * 32);  // 32 tokens: two full blocks of 16
  const first = (await post(sim.url, '/v1/completions', { prompt, max_tokens: 1 })).json();
  assert.equal(first.usage.prompt_tokens_details, null);  // nothing cached: left out
  const again = (await post(sim.url, '/v1/completions', { prompt, max_tokens: 1 })).json();
  assert.deepEqual(again.usage.prompt_tokens_details, { cached_tokens: 16 });  // floor(31 / 16) * 16
  const plainSim = await startSim([]);
  try {
    await post(plainSim.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 1 });
    const r = (await post(plainSim.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 1 })).json();
    assert.equal(r.usage.prompt_tokens_details, null);  // the flag is off: never reported
  } finally {
    await stopClean(plainSim);
  }
});

test('the waiting queue is unbounded: 60 requests on one slot all answer 200, none 429', async () => {
  const s = await startSim(['--max-num-seqs', '1', '--inter-token-latency-ms', '5']);
  try {
    const all = Array.from({ length: 60 }, (_, i) => post(s.url, '/v1/completions', { prompt: `q${i}`, max_tokens: 2 }));
    const statuses = (await Promise.all(all)).map((r) => r.status);
    assert.deepEqual([...new Set(statuses)], [200]);
    // The queue lasts ~0.6 s: its peaks, not a poll that a busy machine can miss it by
    // (one saw 0 waiting throughout where the sim had held 35).
    const m = await scrape(`${s.url}/metrics`);
    assert.ok(sample(m, 'ringgate_sim_num_requests_waiting_peak') >= 20, 'the requests waited');
    assert.equal(sample(m, 'ringgate_sim_num_requests_running_peak'), 1);
    assert.ok(sample(m, 'vllm:request_queue_time_seconds_sum') > 0);
  } finally {
    await stopClean(s);
  }
});

test('KV blocks are taken while decoding: a full cache preempts, counts it, and every request still completes', async () => {
  // 8 blocks of 4 tokens; four requests with 4-token prompts and 12-token outputs need 4 x 4 = 16 blocks at the end.
  const s = await startSim(['--kv-blocks', '8', '--block-size', '4', '--max-model-len', '32', '--inter-token-latency-ms', '200']);  // long enough that the four overlap on any machine
  try {
    let finished = false;
    const all = Promise.all(Array.from({ length: 4 }, (_, i) => post(s.url, '/v1/completions', { prompt: `abc${i}`, max_tokens: 12 })))
      .finally(() => { finished = true; });
    // Usage climbs as tokens are decoded (4 blocks at admission, 8 when full).
    let peak = 0;
    while (!finished) {
      peak = Math.max(peak, sample(await scrape(`${s.url}/metrics`), 'vllm:kv_cache_usage_perc'));
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(peak >= 0.75, `KV usage peaked at ${peak}`);
    const done = await all;
    for (const r of done) assert.equal(r.json().usage.completion_tokens, 12);
    const m = await waitForMetrics(s.url, (x) => sample(x, 'vllm:num_requests_running') === 0);
    assert.ok(sample(m, 'vllm:num_preemptions_total') >= 1, 'no preemption counted');
    assert.equal(sample(m, 'vllm:generation_tokens_total'), 48);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 0);
  } finally {
    await stopClean(s);
  }
});
