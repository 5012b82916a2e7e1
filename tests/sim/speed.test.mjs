// ringgate-sim --speed F: two sims with the same latency flags, one at speed 1 and one at
// 0.4, so that a test or benchmark can mix hardware. The slow one's prefill and decode
// take 2.5x as long: exactly so in its own histograms (modelled times), and at least so
// as a client measures its TTFT and whole stream (a busy machine can only add time to
// those, so they are lower bounds, never a race against the clock). Not the client's
// TPOT: a stall that delays the first token and lets the rest arrive in a burst makes it
// shorter than modelled (7.9 ms for a 10 ms ITL once, under ASan on a loaded machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, scrape } from '../lib/procs.mjs';
import { MODEL, sample, stopClean } from './sim_helpers.mjs';

const LATENCY = ['--prefill-overhead-ms', '20', '--prefill-time-per-token-us', '200', '--inter-token-latency-ms', '10'];
const PROMPT_TOKENS = 100;  // 4 bytes a token
const OUTPUT_TOKENS = 10;

// One streamed completion; client-side TTFT and time to the last token, in ms.
async function timedStream(url) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'p'.repeat(4 * PROMPT_TOKENS), max_tokens: OUTPUT_TOKENS,
      ignore_eos: true, stream: true }),
  });
  assert.equal(res.status, 200);
  const decoder = new TextDecoder();
  let text = '', first = 0, last = 0, tokens = 0;
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = text.indexOf('\n\n')) >= 0) {
      const event = text.slice(0, nl);
      text = text.slice(nl + 2);
      if (!event.startsWith('data: {')) continue;
      const choice = JSON.parse(event.slice(6)).choices?.[0];
      if (!choice || choice.text === undefined) continue;
      last = performance.now();
      if (tokens++ === 0) first = last;
    }
  }
  assert.equal(tokens, OUTPUT_TOKENS);
  return { ttft: first - start, e2e: last - start };
}

// Modelled prefill (overhead + per token + the first token's inter-token latency) and decode, in seconds.
function modelled(speed) {
  return {
    prefill: (0.020 + PROMPT_TOKENS * 0.0002 + 0.010) / speed,
    decode: ((OUTPUT_TOKENS - 1) * 0.010) / speed,
  };
}

test('--speed 0.4 makes TTFT and TPOT 2.5x those at --speed 1', async () => {
  const fast = await startSim([...LATENCY, '--speed', '1']);
  const slow = await startSim([...LATENCY, '--speed', '0.4']);
  try {
    const measured = {};
    for (const [name, sim, speed] of [['fast', fast, 1], ['slow', slow, 0.4]]) {
      const client = await timedStream(sim.url);
      const m = await scrape(`${sim.url}/metrics`);
      const want = modelled(speed);
      // The sim's histograms record modelled times: exact.
      assert.ok(Math.abs(sample(m, 'vllm:request_prefill_time_seconds_sum') - want.prefill) < 1e-6,
        `${name}: prefill ${sample(m, 'vllm:request_prefill_time_seconds_sum')} s, want ${want.prefill}`);
      assert.ok(Math.abs(sample(m, 'vllm:request_decode_time_seconds_sum') - want.decode) < 1e-6,
        `${name}: decode ${sample(m, 'vllm:request_decode_time_seconds_sum')} s, want ${want.decode}`);
      // The client sees at least the modelled time (1 ms for timer granularity).
      assert.ok(client.ttft >= want.prefill * 1000 - 1, `${name}: TTFT ${client.ttft} ms < ${want.prefill * 1000}`);
      assert.ok(client.e2e >= (want.prefill + want.decode) * 1000 - 1,
        `${name}: last token at ${client.e2e} ms < ${(want.prefill + want.decode) * 1000}`);
      measured[name] = client;
    }
    // Without the scaling the slow sim would answer as fast as the other (50 ms TTFT, its
    // last token at 140 ms).
    assert.ok(measured.slow.ttft >= 2 * 50, `slow TTFT ${measured.slow.ttft} ms`);
    assert.ok(measured.slow.e2e >= 2 * 140, `slow last token at ${measured.slow.e2e} ms`);
  } finally {
    await stopClean(fast);
    await stopClean(slow);
  }
});

test('--speed outside 0.01..100 stops the sim at start with a message naming the range', async () => {
  for (const bad of ['0', '-1', '200', 'nan']) {
    await assert.rejects(startSim(['--speed', bad]), (err) => {
      assert.match(String(err.message ?? err), /--speed: expected a factor 0\.01-100/);
      return true;
    }, bad);
  }
});
