// Issue 30 from the sim's side: a stream broken after k tokens is continued on another
// sim, as the gateway will do it, and the client cannot tell. Two ringgate-sims with the
// same --seed; an unbroken streamed output is taken from A; for several cut points k the
// continuation (completions: prompt + text so far; chat: the messages + the text so far as
// an assistant message with continue_final_message) goes to B, with max_tokens reduced by
// k. The texts concatenate to the unbroken one, and the usage adds up:
// P2 - k == P1, k + C2 == the unbroken completion_tokens. Then --fail-mid-stream-rate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, scrape } from '../lib/procs.mjs';
import { connect, postJson } from './raw_http.mjs';
import { MODEL, sample, stopClean } from './sim_helpers.mjs';

let a, b;
before(async () => {
  [a, b] = await Promise.all([startSim(['--seed', '7']), startSim(['--seed', '7'])]);
});
after(async () => { await Promise.all([a, b].map(stopClean)); });

// Streams `body` to `path` and returns { texts: one per content event, finish, usage }.
async function stream(sim, path, body) {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, ...body, stream: true, stream_options: { include_usage: true } }),
  });
  const raw = await res.text();
  assert.equal(res.status, 200, raw);
  assert.ok(raw.endsWith('data: [DONE]\n\n'), raw.slice(-200));
  const events = raw.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
  const texts = [];
  let finish = null;
  for (const e of events) {
    const c = e.choices[0];
    if (!c) continue;
    if (c.delta?.role) continue;  // chat's role-only chunk carries no token
    texts.push(c.text ?? c.delta.content);
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { texts, finish, usage: events.at(-1).usage };
}

// Cut points: the first token, the last but one, and a few between.
const cuts = (n) => [...new Set([1, 2, Math.floor(n / 2), n - 1])].filter((k) => k >= 1 && k < n);

async function checkContinuations(path, body, continuation) {
  const unbroken = await stream(a, path, body);
  const n = unbroken.texts.length;
  assert.ok(n >= 3, `too short an output to cut: ${JSON.stringify(unbroken)}`);
  assert.equal(unbroken.usage.completion_tokens, n);
  for (const k of cuts(n)) {
    const sofar = unbroken.texts.slice(0, k).join('');
    const rest = await stream(b, path, continuation(sofar, k));
    const where = `cut at ${k} of ${n}`;
    assert.equal(sofar + rest.texts.join(''), unbroken.texts.join(''), where);
    assert.equal(rest.finish, unbroken.finish, where);
    assert.equal(rest.usage.prompt_tokens - k, unbroken.usage.prompt_tokens, where);  // P2 - C1 == P1
    assert.equal(k + rest.usage.completion_tokens, unbroken.usage.completion_tokens, where);  // C1 + C2
  }
  return unbroken;
}

test('completions: prompt + text so far, max_tokens reduced, continue token for token on another sim', async () => {
  // 41 bytes: the prompt's last token is partial, so the output's words straddle token boundaries.
  const prompt = 'The gateway saw the pod die, and then it ';
  const unbroken = await checkContinuations('/v1/completions', { prompt, max_tokens: 24 },
    (sofar, k) => ({ prompt: prompt + sofar, max_tokens: 24 - k }));
  assert.equal(unbroken.finish, 'length');
  // Every word is one token of plain ASCII.
  for (const t of unbroken.texts) assert.match(t, /^[ -~]{4}$/);
});

test('chat: the messages + an assistant message to continue, with and without max_tokens', async () => {
  const messages = (i) => [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: `Question ${i}: why?` }];
  const continued = (msgs, extra) => (sofar) => ({
    messages: [...msgs, { role: 'assistant', content: sofar }], continue_final_message: true, add_generation_prompt: false, ...extra,
  });
  const bounded = await checkContinuations('/v1/chat/completions', { messages: messages(0), max_tokens: 20 },
    (sofar, k) => continued(messages(0), { max_tokens: 20 - k })(sofar));
  assert.equal(bounded.finish, 'length');
  // Without max_tokens the end is decided from the text at every step: the continuation
  // stops where the unbroken run stopped. (The first question whose answer can be cut.)
  for (let i = 1; ; ++i) {
    const probe = await stream(a, '/v1/chat/completions', { messages: messages(i) });
    assert.equal(probe.finish, 'stop');
    if (probe.texts.length < 3) { assert.ok(i < 20, 'no output of 3 tokens or more'); continue; }
    await checkContinuations('/v1/chat/completions', { messages: messages(i) }, continued(messages(i), {}));
    break;
  }
});

test('--fail-mid-stream-rate 1: the connection drops after k tokens, 1 <= k < planned; the sequence is aborted', async () => {
  const faulty = await startSim(['--seed', '7', '--fail-mid-stream-rate', '1']);
  try {
    const body = { model: MODEL, prompt: 'The gateway saw the pod die, and then it ', max_tokens: 24 };
    const reference = await stream(a, '/v1/completions', body);
    // Streaming: k token events, then the connection closes without the terminating chunk.
    const s = await connect(faulty.port);
    s.socket.write(postJson('/v1/completions', { ...body, stream: true }));
    const raw = await s.waitFor((_, closed) => closed);
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.ok(!raw.includes('\r\n0\r\n\r\n') && !raw.includes('[DONE]'), raw.slice(-300));
    const texts = [...raw.matchAll(/data: (\{.*\})/g)].map((m) => JSON.parse(m[1]).choices[0].text);
    assert.ok(texts.length >= 1 && texts.length < 24, `${texts.length} tokens before the drop`);
    // The fault draws apart from the output: the tokens sent are the unbroken run's.
    assert.deepEqual(texts, reference.texts.slice(0, texts.length));
    // Not streaming: closed with no response at all.
    const plain = await connect(faulty.port);
    plain.socket.write(postJson('/v1/completions', body));
    assert.equal(await plain.waitFor((_, closed) => closed), '');
    // One token planned: no k fits, the answer is whole.
    const one = await fetch(`${faulty.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, max_tokens: 1 }),
    });
    assert.equal(one.status, 200);
    assert.equal((await one.json()).usage.completion_tokens, 1);
    // Counted, and left the engine as a client's disconnect does: aborted, KV blocks freed.
    const m = await scrape(`${faulty.url}/metrics`);
    assert.equal(m.get('ringgate_sim_mid_stream_drops_total'), 2);
    assert.equal(sample(m, 'vllm:request_success_total', `engine="0",finished_reason="abort",model_name="${MODEL}"`), 2);
    assert.equal(sample(m, 'vllm:num_requests_running'), 0);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 0);
  } finally {
    await stopClean(faulty);
  }
  // The counter is the sim's own: absent from vLLM's metric set unless the fault is on.
  assert.equal((await scrape(`${a.url}/metrics`)).has('ringgate_sim_mid_stream_drops_total'), false);
});
