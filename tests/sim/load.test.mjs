// ringgate-sim under load: the waiting queue's limit (429), clients that hang
// up freeing their sequence at once, KV blocks making requests wait, and the
// LoRA adapter limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, scrape } from '../lib/procs.mjs';
import { connect, postJson } from './raw_http.mjs';
import { MODEL, sample, waitForMetrics, openStream, postCompletion, stopClean } from './sim_helpers.mjs';

test('a full waiting queue answers 429 with a vLLM-style error', async () => {
  const sim = await startSim(['--max-num-seqs', '1', '--max-waiting', '1', '--inter-token-latency-ms', '50']);
  try {
    const running = await openStream(sim.url, { model: MODEL, prompt: 'one', max_tokens: 200 });
    const waiting = postCompletion(sim.url, { model: MODEL, prompt: 'two', max_tokens: 1 });
    await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_waiting') === 1);
    const res = await postCompletion(sim.url, { model: MODEL, prompt: 'three', max_tokens: 1 });
    assert.equal(res.status, 429);
    const body = await res.json();
    assert.equal(body.error.code, 429);
    assert.match(body.error.message, /waiting queue is full/);
    running.abort();  // frees the slot: the waiting one runs
    assert.equal((await waiting).status, 200);
  } finally {
    await stopClean(sim);
  }
});

test('a client that disconnects mid-stream frees its sequence and KV blocks at once', async () => {
  const sim = await startSim(['--inter-token-latency-ms', '50']);
  try {
    const c = await connect(sim.port);
    c.socket.write(postJson('/v1/completions', { model: MODEL, prompt: 'x'.repeat(400), max_tokens: 1000, stream: true }));
    await c.waitFor((d) => d.includes('data: {'));
    const busy = await scrape(`${sim.url}/metrics`);
    assert.equal(sample(busy, 'vllm:num_requests_running'), 1);
    assert.ok(sample(busy, 'vllm:kv_cache_usage_perc') > 0);
    c.close();
    const after = await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_running') === 0, 5000);
    assert.equal(sample(after, 'vllm:kv_cache_usage_perc'), 0);
    assert.equal(sample(after, 'vllm:request_success_total', `engine="0",finished_reason="abort",model_name="${MODEL}"`), 1);
  } finally {
    await stopClean(sim);
  }
});

test('a client that disconnects before a non-streaming answer frees its sequence too, also while waiting', async () => {
  const sim = await startSim(['--inter-token-latency-ms', '50', '--max-num-seqs', '1']);
  try {
    const first = await connect(sim.port);
    first.socket.write(postJson('/v1/completions', { model: MODEL, prompt: 'a', max_tokens: 1000 }));
    const second = await connect(sim.port);
    second.socket.write(postJson('/v1/completions', { model: MODEL, prompt: 'b', max_tokens: 1000 }));
    await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_running') === 1 && sample(m, 'vllm:num_requests_waiting') === 1);
    second.close();
    await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_waiting') === 0, 5000);
    first.close();
    await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_running') === 0, 5000);
  } finally {
    await stopClean(sim);
  }
});

test('KV usage rises with running sequences; a request that cannot get blocks waits', async () => {
  // 4 blocks of 16 tokens. Each request: 25 prompt tokens + 20 output = 3 blocks.
  const sim = await startSim(['--kv-blocks', '4', '--block-size', '16', '--inter-token-latency-ms', '20']);
  try {
    const a = await openStream(sim.url, { model: MODEL, prompt: 'a'.repeat(100), max_tokens: 20 });
    const b = postCompletion(sim.url, { model: MODEL, prompt: 'b'.repeat(100), max_tokens: 20 });
    const m = await waitForMetrics(sim.url, (x) => sample(x, 'vllm:num_requests_waiting') === 1);
    assert.equal(sample(m, 'vllm:num_requests_running'), 1);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 0.75);
    await a.rest();
    assert.equal((await b).status, 200);
    const idle = await waitForMetrics(sim.url, (x) => sample(x, 'vllm:num_requests_running') === 0);
    assert.equal(sample(idle, 'vllm:kv_cache_usage_perc'), 0);
  } finally {
    await stopClean(sim);
  }
});

test('--max-loras: a second adapter waits while the first runs; the base model does not', async () => {
  const sim = await startSim(['--lora', 'a', '--lora', 'b', '--max-loras', '1', '--inter-token-latency-ms', '30']);
  try {
    const onA = await openStream(sim.url, { model: 'a', prompt: 'x', max_tokens: 500 });
    const onB = postCompletion(sim.url, { model: 'b', prompt: 'y', max_tokens: 1 });
    const base = await postCompletion(sim.url, { model: MODEL, prompt: 'z', max_tokens: 1 });
    assert.equal(base.status, 200);
    const m = await waitForMetrics(sim.url, (x) => sample(x, 'vllm:num_requests_waiting') === 1);
    assert.ok(m.get('vllm:lora_requests_info{max_lora="1",running_lora_adapters="a",waiting_lora_adapters="b"}') > 0);
    onA.abort();
    assert.equal((await onB).status, 200);
  } finally {
    await stopClean(sim);
  }
});

test('tokens stream in real time, one SSE event per inter-token latency', async () => {
  const sim = await startSim(['--inter-token-latency-ms', '100']);
  try {
    const t0 = performance.now();
    const res = await postCompletion(sim.url, { model: MODEL, prompt: 'hi', max_tokens: 5, stream: true });
    const reader = res.body.getReader();
    const arrivals = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const events = new TextDecoder().decode(value).split('\n\n').filter(Boolean).length;
      for (let i = 0; i < events; ++i) arrivals.push(performance.now() - t0);
    }
    assert.equal(arrivals.length, 6);  // 5 tokens + [DONE]
    // Spread over ~500 ms, not delivered in one burst at the end.
    assert.ok(arrivals[0] < 350, `first token at ${arrivals[0]} ms`);
    assert.ok(arrivals[4] - arrivals[0] >= 300, `tokens arrived over ${arrivals[4] - arrivals[0]} ms`);
  } finally {
    await stopClean(sim);
  }
});

test('--timeout-keep-alive closes idle connections, never one that is streaming', async () => {
  const sim = await startSim(['--timeout-keep-alive', '0.3', '--inter-token-latency-ms', '100']);
  try {
    const idle = await connect(sim.port);
    idle.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.waitFor((d) => d.startsWith('HTTP/1.1 200'));
    await idle.waitFor((_, closed) => closed, 5000);

    const busy = await connect(sim.port);
    busy.socket.write(postJson('/v1/completions', { model: MODEL, prompt: 'slow', max_tokens: 8, stream: true }));
    const text = await busy.waitFor((d) => d.includes('data: [DONE]'), 10000);  // 0.8 s > the 0.3 s timeout
    assert.equal(text.split('\n').filter((l) => l.startsWith('data: {')).length, 8);
    await busy.waitFor((_, closed) => closed, 5000);  // and closed once idle again
  } finally {
    await stopClean(sim);
  }
});
