// ringgate-sim's /metrics: vLLM's names, every metric present and moving under
// load, valid Prometheus text (promtool), and the prefix cache cutting TTFT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { startSim, scrape } from '../lib/procs.mjs';
import { MODEL, sample, waitForMetrics, openStream, stopClean } from './sim_helpers.mjs';

const ALL = [
  'vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc',
  'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:prompt_tokens_total',
  'vllm:generation_tokens_total', 'vllm:request_success_total', 'vllm:time_to_first_token_seconds',
  'vllm:e2e_request_latency_seconds', 'vllm:cache_config_info', 'vllm:num_preemptions_total',
  'vllm:request_queue_time_seconds', 'vllm:request_prefill_time_seconds', 'vllm:request_decode_time_seconds',
  'vllm:request_inference_time_seconds', 'vllm:inter_token_latency_seconds', 'vllm:iteration_tokens_total',
  'vllm:request_prompt_tokens', 'vllm:request_generation_tokens',
];

test('every metric is present with its vLLM type, and moves under load', async () => {
  // 100 ms per token: the two waiting requests reach the sim well before the two running ones end.
  const sim = await startSim(['--max-num-seqs', '2', '--inter-token-latency-ms', '100', '--lora', 'adapter-a',
    '--legacy-gpu-cache-metric', '--kv-blocks', '64', '--block-size', '16']);
  try {
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    const types = Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    for (const name of ALL) assert.ok(types[name], `missing ${name}`);
    // vLLM sets lora_requests_info after a scheduler step: none at launch.
    assert.equal(types['vllm:lora_requests_info'], undefined);
    assert.equal(types['vllm:num_requests_running'], 'gauge');
    assert.equal(types['vllm:kv_cache_usage_perc'], 'gauge');
    assert.equal(types['vllm:prompt_tokens_total'], 'counter');
    assert.equal(types['vllm:time_to_first_token_seconds'], 'histogram');
    assert.match(text, /^vllm:cache_config_info\{block_size="16",.*num_gpu_blocks="64".*\} 1\.0$/m);
    assert.match(text, /^vllm:time_to_first_token_seconds_bucket\{engine="0",le="0\.001",model_name="facebook\/opt-125m"\} 0\.0$/m);
    assert.match(text, /^vllm:e2e_request_latency_seconds_bucket\{engine="0",le="7680\.0",model_name="facebook\/opt-125m"\} 0\.0$/m);
    const before = await scrape(`${sim.url}/metrics`);

    // Four 10-token streams (1 s each) on two slots: two run, two wait.
    const prompt = 'p'.repeat(200);  // 50 tokens
    const streams = await Promise.all([0, 1].map(() => openStream(sim.url, { model: MODEL, prompt, max_tokens: 10 })));
    const queued = [2, 3].map(() => fetch(`${sim.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'adapter-a', prompt, max_tokens: 10 }),
    }));
    const busy = await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_waiting') === 2);
    assert.equal(sample(busy, 'vllm:num_requests_running'), 2);
    // 2 sequences of 50 prompt + up to 10 output tokens: ceil(60 / 16) = 4 blocks each, sharing
    // the 3 full prompt blocks: 3 + 2 x 1 = 5 of 64
    assert.equal(sample(busy, 'vllm:kv_cache_usage_perc'), 5 / 64);
    assert.equal(sample(busy, 'vllm:gpu_cache_usage_perc'), 5 / 64);
    assert.equal(busy.get('vllm:lora_requests_info{max_lora="1",running_lora_adapters="",waiting_lora_adapters="adapter-a"}') > 1e9, true);

    await Promise.all(streams.map((s) => s.rest()));
    const lora = await waitForMetrics(sim.url, (m) => [...m.keys()].some((k) => k.includes('running_lora_adapters="adapter-a"')));
    assert.ok(lora);
    await Promise.all((await Promise.all(queued)).map((r) => r.json()));
    const after = await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_running') === 0);
    // Every (running, waiting) pair seen stays as a series, valued at its last update time.
    const series = [...after.keys()].filter((k) => k.startsWith('vllm:lora_requests_info{'));
    assert.ok(series.length >= 3, series.join('\n'));
    assert.ok(series.includes('vllm:lora_requests_info{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""}'));

    assert.equal(sample(after, 'vllm:num_requests_waiting'), 0);
    assert.equal(sample(after, 'vllm:kv_cache_usage_perc'), 0);
    const delta = (name, labels) => sample(after, name, labels) - (sample(before, name, labels) ?? 0);
    assert.equal(delta('vllm:prompt_tokens_total'), 200);
    assert.equal(delta('vllm:generation_tokens_total'), 40);
    assert.equal(delta('vllm:prefix_cache_queries_total'), 200);
    // The second base request hits the first's 48 cached tokens; the adapter requests have their own cache.
    assert.equal(delta('vllm:prefix_cache_hits_total'), 48 + 48);
    assert.equal(delta('vllm:request_success_total', `engine="0",finished_reason="length",model_name="${MODEL}"`), 4);
    assert.equal(delta('vllm:time_to_first_token_seconds_count'), 4);
    assert.equal(delta('vllm:e2e_request_latency_seconds_count'), 4);
    assert.ok(delta('vllm:e2e_request_latency_seconds_sum') >= 4 * 0.99, 'four requests of ten 100 ms tokens');
    // Two waited for a slot: their TTFT includes the queueing (vLLM's queue histogram), and past
    // the queue each first token took exactly one 100 ms inter-token latency (no prefill cost here).
    const queued_s = delta('vllm:request_queue_time_seconds_sum');
    assert.ok(queued_s > 0, 'the waiting requests show queue time');
    assert.ok(Math.abs(delta('vllm:time_to_first_token_seconds_sum') - queued_s - 4 * 0.1) < 1e-6);
    assert.ok(Math.abs(delta('vllm:request_prefill_time_seconds_sum') - 4 * 0.1) < 1e-6);
    assert.ok(Math.abs(delta('vllm:request_decode_time_seconds_sum') - 4 * 9 * 0.1) < 1e-6);
    assert.equal(delta('vllm:inter_token_latency_seconds_count'), 4 * 9);
    assert.equal(delta('vllm:request_prompt_tokens_sum'), 200);
    assert.equal(delta('vllm:request_generation_tokens_sum'), 40);
    assert.equal(delta('vllm:num_preemptions_total'), 0);
  } finally {
    await stopClean(sim);
  }
});

test('a live scrape passes promtool check metrics (only its lint on vLLM\'s colon names)', async () => {
  const sim = await startSim(['--lora', 'x', '--legacy-gpu-cache-metric']);
  try {
    await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 2 }) }).then((r) => r.json());
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status}: ${r.stderr}`);
    // vLLM's own names trip two lints: the colons, and its histogram vllm:iteration_tokens_total.
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !/metric names should not contain ':'/.test(l) &&
      !/^vllm:iteration_tokens_total non-counter metrics should not have "_total" suffix$/.test(l));
    assert.deepEqual(problems, []);
    // And promtool does parse: a broken copy must fail.
    const broken = spawnSync('promtool', ['check', 'metrics'], { input: `${text}vllm_bad{ 1\n`, encoding: 'utf8' });
    assert.ok(`${broken.stdout}${broken.stderr}`.includes('error'), 'promtool ignored a broken line');
  } finally {
    await stopClean(sim);
  }
});

test('a cached prefix measurably cuts time to first token, and shows in cached_tokens and the counters', async () => {
  // 1 ms per uncached prompt token: a 400-token prompt takes 0.4 s to prefill, once.
  const sim = await startSim(['--prefill-time-per-token-us', '1000', '--enable-prompt-tokens-details']);
  const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  try {
    const prompt = 'The same long system prompt. '.repeat(60).slice(0, 1600);  // 400 tokens, 25 full blocks
    const ttft = async () => {
      const t0 = performance.now();
      const stream = await client.completions.create({ model: MODEL, prompt, max_tokens: 2, stream: true, stream_options: { include_usage: true } });
      let first, usage;
      for await (const c of stream) { first ??= performance.now() - t0; if (c.usage) usage = c.usage; }
      return { ms: first, cached: usage.prompt_tokens_details?.cached_tokens };
    };
    const ttftSum = async () => sample(await scrape(`${sim.url}/metrics`), 'vllm:time_to_first_token_seconds_sum');
    const before = await scrape(`${sim.url}/metrics`);
    const cold = await ttft();
    const afterCold = await ttftSum();
    const warm = await ttft();
    assert.equal(cold.cached, undefined);  // vLLM leaves out a zero
    assert.equal(warm.cached, 384);  // never the last prompt token: 24 of the 25 blocks
    assert.ok(cold.ms >= 380, `cold TTFT ${cold.ms} ms should include 400 ms of prefill`);
    // The sim's own TTFT (from its schedule, not this machine's speed): 400 ms cold, 16 ms warm.
    const coldS = afterCold - sample(before, 'vllm:time_to_first_token_seconds_sum');
    const warmS = (await ttftSum()) - afterCold;
    assert.ok(Math.abs(coldS - 0.4) < 1e-6, `cold TTFT ${coldS} s`);
    assert.ok(Math.abs(warmS - 0.016) < 1e-6, `warm TTFT ${warmS} s`);
    const after = await scrape(`${sim.url}/metrics`);
    assert.equal(sample(after, 'vllm:prefix_cache_hits_total') - sample(before, 'vllm:prefix_cache_hits_total'), 384);
    assert.equal(sample(after, 'vllm:prefix_cache_queries_total') - sample(before, 'vllm:prefix_cache_queries_total'), 800);
  } finally {
    await stopClean(sim);
  }
});

test('an evicted prefix is a miss again (LRU over blocks no sequence holds)', async () => {
  const sim = await startSim(['--kv-blocks', '8', '--block-size', '16', '--enable-prompt-tokens-details']);  // 128 tokens of KV cache
  const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const cached = async (prompt) => (await client.completions.create({ model: MODEL, prompt, max_tokens: 1 }))
    .usage.prompt_tokens_details?.cached_tokens ?? 0;
  try {
    const a = 'a'.repeat(256);  // 64 tokens: 4 blocks
    assert.equal(await cached(a), 0);
    assert.equal(await cached(a), 48);  // 3 blocks: the last prompt token is always recomputed
    assert.equal(await cached('b'.repeat(256)), 0);  // takes the 4 never-hashed blocks first
    assert.equal(await cached('c'.repeat(256)), 0);  // then evicts a's, released before b's
    assert.equal(await cached(a), 0);
  } finally {
    await stopClean(sim);
  }
});
