// The sim answers vLLM's pooling endpoints (embeddings, pooling, classify, score,
// rerank) and its speech-to-text uploads in vLLM's shapes, with vLLM's errors.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startSim } from '../lib/procs.mjs';
import { MODEL, wav } from './sim_helpers.mjs';

let sim;
before(async () => { sim = await startSim(['--model', MODEL]); });
after(async () => { await sim?.stop(); });

const post = (path, body) => fetch(`${sim.url}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

function audioForm(fields, file = wav(2)) {
  const form = new FormData();
  if (file) form.append('file', new Blob([file], { type: 'audio/wav' }), 'speech.wav');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

test('embeddings and pooling: one vector per input, usage counted, the same text the same vector', async () => {
  const res = await post('/v1/embeddings', { model: MODEL, input: ['hello there', 'x', 'hello there'] });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.match(body.id, /^embd-/);
  assert.equal(body.object, 'list');
  assert.equal(body.model, MODEL);
  assert.equal(body.data.length, 3);
  assert.deepEqual(body.data.map((d) => [d.index, d.object]), [[0, 'embedding'], [1, 'embedding'], [2, 'embedding']]);
  assert.deepEqual(body.data[0].embedding, body.data[2].embedding);
  assert.notDeepEqual(body.data[0].embedding, body.data[1].embedding);
  assert.equal(body.usage.prompt_tokens, 3 + 1 + 3);
  assert.equal(body.usage.completion_tokens, 0);

  const pooled = await (await post('/pooling', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] })).json();
  assert.match(pooled.id, /^pool-/);
  assert.equal(pooled.data[0].object, 'pooling');
  assert.ok(Array.isArray(pooled.data[0].data));
});

test('classify, score and rerank in vLLM shapes', async () => {
  const cls = await (await post('/classify', { model: MODEL, input: ['spam?', 'ham'] })).json();
  assert.match(cls.id, /^classify-/);
  assert.equal(cls.data.length, 2);
  for (const d of cls.data) {
    assert.equal(d.num_classes, 2);
    assert.match(d.label, /^LABEL_[01]$/);
    assert.ok(Math.abs(d.probs[0] + d.probs[1] - 1) < 1e-5);
  }
  for (const path of ['/v1/score', '/score']) {
    const score = await (await post(path, { model: MODEL, text_1: 'query', text_2: ['a', 'b', 'c'] })).json();
    assert.match(score.id, /^score-/);
    assert.deepEqual(score.data.map((d) => [d.index, d.object]), [[0, 'score'], [1, 'score'], [2, 'score']]);
    for (const d of score.data) assert.ok(d.score >= 0 && d.score < 1);
  }
  for (const path of ['/v1/rerank', '/rerank', '/v2/rerank']) {
    const rr = await (await post(path, { model: MODEL, query: 'q', documents: ['d0', 'd1', 'd2', 'd3'], top_n: 2 })).json();
    assert.match(rr.id, /^rerank-/);
    assert.equal(rr.model, MODEL);
    assert.equal(rr.results.length, 2);
    assert.ok(rr.results[0].relevance_score >= rr.results[1].relevance_score);
    assert.equal(rr.results[0].document.text, `d${rr.results[0].index}`);
    assert.ok(rr.usage.total_tokens > 0);
  }
});

test('pooling requests: vLLM validation errors, unknown models, wrong media type', async () => {
  const missing = await post('/v1/embeddings', { model: MODEL });
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error.param, 'input');
  assert.equal((await post('/v1/score', { model: MODEL, text_1: 'a' })).status, 400);
  assert.equal((await post('/v1/score', { model: MODEL, text_1: ['a', 'b'], text_2: ['c'] })).status, 400);
  const unknown = await post('/v1/rerank', { model: 'nope', query: 'q', documents: ['d'] });
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error.message, /The model `nope` does not exist/);
  const text = await fetch(`${sim.url}/classify`, { method: 'POST', body: '{"input":"x"}', headers: { 'content-type': 'text/plain' } });
  assert.equal(text.status, 400);
  assert.equal((await fetch(`${sim.url}/pooling`)).status, 405);
});

test('transcriptions and translations: json, text and a stream', async () => {
  const res = await fetch(`${sim.url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ model: MODEL, language: 'en' }) });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(typeof body.text, 'string');
  assert.deepEqual(body.usage, { type: 'duration', seconds: 2 });

  const translated = await (await fetch(`${sim.url}/v1/audio/translations`, { method: 'POST', body: audioForm({ model: MODEL }) })).json();
  assert.deepEqual(Object.keys(translated), ['text']);

  const plain = await fetch(`${sim.url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ model: MODEL, response_format: 'text' }) });
  assert.match(plain.headers.get('content-type'), /^text\/plain/);
  assert.match(await plain.text(), /seconds of audio/);

  const stream = await fetch(`${sim.url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ model: MODEL, stream: 'true' }) });
  assert.match(stream.headers.get('content-type'), /text\/event-stream/);
  const events = (await stream.text()).split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  const first = JSON.parse(events[0].slice(6));
  assert.equal(first.object, 'transcription.chunk');
  assert.match(first.choices[0].delta.content, /seconds of audio/);
  assert.equal(JSON.parse(events[1].slice(6)).choices[0].finish_reason, 'stop');
});

test('audio uploads: no file, a bad format, an unknown model, not a form', async () => {
  const url = `${sim.url}/v1/audio/transcriptions`;
  const nofile = await fetch(url, { method: 'POST', body: audioForm({ model: MODEL }, null) });
  assert.equal(nofile.status, 400);
  assert.equal((await nofile.json()).error.param, 'file');
  assert.equal((await fetch(url, { method: 'POST', body: audioForm({ model: MODEL, response_format: 'srt' }) })).status, 400);
  assert.equal((await fetch(url, { method: 'POST', body: audioForm({ model: 'nope' }) })).status, 404);
  assert.equal((await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 400);
});
