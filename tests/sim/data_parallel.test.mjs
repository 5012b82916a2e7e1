// ringgate-sim with --data-parallel-size: N engines behind one port (vLLM's internal load
// balancing) each with its own queues and prefix cache, X-data-parallel-rank routing, vLLM's
// waiting*4 + running balancer, /metrics labelled per engine; and one rank per process
// (--data-parallel-rank, external load balancing) labelled engine="R" with KV events on port + R.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSim, scrape } from '../lib/procs.mjs';
import { MODEL, sample, waitForMetrics, postCompletion, stopClean } from './sim_helpers.mjs';

const engine = (r) => `engine="${r}",model_name="${MODEL}"`;
const PROMPT = 'a shared system prompt that spans several KV blocks '.repeat(8);  // ~104 tokens, 6 full blocks

test('two ranks behind one port keep their own prefix caches; the header pins the rank', async () => {
  const sim = await startSim(['--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0']);
  try {
    for (let i = 0; i < 2; ++i) {
      const res = await postCompletion(sim.url, { prompt: PROMPT, max_tokens: 1 }, { 'X-data-parallel-rank': '1' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-sim-engine'), '1');
      await res.json();
    }
    const m = await scrape(`${sim.url}/metrics`);
    // The repeat hit rank 1's cache; rank 0 never saw the prompt.
    assert.ok(sample(m, 'vllm:prefix_cache_hits_total', engine(1)) >= 96, 'rank 1 hit its cache');
    assert.equal(sample(m, 'vllm:prefix_cache_hits_total', engine(0)), 0);
    assert.equal(sample(m, 'vllm:prefix_cache_queries_total', engine(0)), 0);
    assert.equal(sample(m, 'vllm:request_success_total', `engine="1",finished_reason="length",model_name="${MODEL}"`), 2);
    // The same prompt on rank 0 is a miss there: the caches are apart.
    const r0 = await postCompletion(sim.url, { prompt: PROMPT, max_tokens: 1 }, { 'X-data-parallel-rank': '0' });
    assert.equal(r0.headers.get('x-sim-engine'), '0');
    const body = await r0.json();
    assert.equal(body.usage.prompt_tokens > 96, true);
    const after = await scrape(`${sim.url}/metrics`);
    assert.equal(sample(after, 'vllm:prefix_cache_hits_total', engine(0)), 0);
    // One series per engine for every per-engine family, cache_config_info included.
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    for (const r of [0, 1]) {
      assert.match(text, new RegExp(`^vllm:num_requests_running\\{engine="${r}",model_name=`, 'm'));
      assert.match(text, new RegExp(`^vllm:kv_cache_usage_perc\\{engine="${r}",`, 'm'));
      assert.match(text, new RegExp(`^vllm:time_to_first_token_seconds_count\\{engine="${r}",`, 'm'));
      assert.match(text, new RegExp(`^vllm:cache_config_info\\{.*engine="${r}".*\\} 1\\.0$`, 'm'));
    }
    assert.equal(text.match(/^# TYPE vllm:num_requests_running gauge$/gm).length, 1);
    assert.doesNotMatch(text, /engine="2"/);
  } finally {
    await stopClean(sim);
  }
});

test('a bad rank header: out of range is vLLM\'s 400, garbage leaves the pick to the balancer', async () => {
  const sim = await startSim(['--data-parallel-size', '2', '--data-parallel-stats-interval-ms', '0']);
  try {
    for (const [value, message] of [['2', 'data_parallel_rank 2 is out of range [0, 2).'],
      ['-1', 'data_parallel_rank -1 is out of range [0, 2).'],
      ['9'.repeat(300), `data_parallel_rank ${'9'.repeat(300)} is out of range [0, 2).`]]) {
      for (const stream of [false, true]) {
        const res = await postCompletion(sim.url, { prompt: 'hi', max_tokens: 1, stream }, { 'X-data-parallel-rank': value });
        assert.equal(res.status, 400);
        assert.deepEqual(await res.json(), { error: { message, type: 'BadRequestError', param: null, code: 400 } });
      }
    }
    for (const value of ['abc', '1.5', '', ' ']) {
      const res = await postCompletion(sim.url, { prompt: 'hi', max_tokens: 1 }, { 'X-data-parallel-rank': value });
      assert.equal(res.status, 200, `header '${value}'`);
      assert.equal(res.headers.get('x-sim-engine'), '0');  // idle engines: the first wins
      await res.json();
    }
    const res = await postCompletion(sim.url, { prompt: 'hi', max_tokens: 1 }, { 'X-data-parallel-rank': ' +1 ' });
    assert.equal(res.headers.get('x-sim-engine'), '1');
    await res.json();
  } finally {
    await stopClean(sim);
  }
});

test('without the header the balancer picks the lowest waiting*4 + running', async () => {
  // One slot per engine, 100 ms per token: a 50-token answer holds its slot for 5 s.
  const sim = await startSim(['--data-parallel-size', '3', '--max-num-seqs', '1', '--inter-token-latency-ms', '100',
    '--data-parallel-stats-interval-ms', '0']);
  // Never answered: the sim is killed under them (handled now, so their failure is not unhandled).
  const long = (rank) => postCompletion(sim.url, { prompt: `busy ${rank}`, max_tokens: 50 },
    { 'X-data-parallel-rank': String(rank) }).catch(() => null);
  const pending = [];
  const open = [];  // streams kept open: a closed one is aborted and frees its engine
  try {
    // Rank 0: 1 running + 1 waiting (score 5); rank 1: 1 running (score 1); rank 2: idle (0).
    pending.push(long(0), long(0), long(1));
    await waitForMetrics(sim.url, (m) => sample(m, 'vllm:num_requests_running', engine(0)) === 1 &&
      sample(m, 'vllm:num_requests_waiting', engine(0)) === 1 && sample(m, 'vllm:num_requests_running', engine(1)) === 1);
    const picks = [];
    // Idle rank 2 first (0); then rank 2 runs one (1) and ties rank 1 (1): the first of equals, rank 1;
    // then rank 1 has 1 running + 1 waiting (5), rank 2 one running (1): rank 2.
    for (let i = 0; i < 3; ++i) {
      const ctl = new AbortController();
      const res = await fetch(`${sim.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, signal: ctl.signal,
        body: JSON.stringify({ prompt: `q${i}`, max_tokens: 50, stream: true }),
      });
      picks.push(res.headers.get('x-sim-engine'));
      open.push(res);
    }
    assert.deepEqual(picks, ['2', '1', '2']);
  } finally {
    for (const res of open) pending.push(res.body.cancel().catch(() => {}));
    await sim.stop('SIGKILL');
    await Promise.allSettled(pending);
  }
});

// A base port with base + 1 free too (the kernel's choice, probed; released before the sim binds).
async function freePortPair() {
  for (let tries = 0; tries < 20; ++tries) {
    const a = net.createServer();
    await new Promise((r) => a.listen(0, '127.0.0.1', r));
    const base = a.address().port;
    const b = net.createServer();
    const ok = await new Promise((r) => { b.once('error', () => r(false)); b.listen(base + 1, '127.0.0.1', () => r(true)); });
    await new Promise((r) => a.close(r));
    if (ok) await new Promise((r) => b.close(r));
    if (ok && base + 1 < 65535) return base;
  }
  throw new Error('no two consecutive free ports');
}

test('--data-parallel-rank R: one engine labelled engine="R", KV events on port + R', async () => {
  const base = await freePortPair();
  const kv = JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq', endpoint: `tcp://127.0.0.1:${base}`,
    replay_endpoint: 'tcp://127.0.0.1:*' });
  const sim = await startSim(['--data-parallel-size', '4', '--data-parallel-rank', '1', '--kv-events-config', kv],
    { env: { PYTHONHASHSEED: '0' } });
  try {
    // A tcp endpoint without '*' is connected to, as vLLM's; rank 1's is the given port + 1.
    assert.equal(sim.kv_events, `tcp://127.0.0.1:${base + 1}`);
    const res = await postCompletion(sim.url, { prompt: PROMPT, max_tokens: 1 });
    assert.equal(res.headers.get('x-sim-engine'), '1');
    await res.json();
    // Any rank in range is served by this process's one engine (vLLM's external-LB client ignores it).
    const other = await postCompletion(sim.url, { prompt: 'x', max_tokens: 1 }, { 'X-data-parallel-rank': '3' });
    assert.equal(other.headers.get('x-sim-engine'), '1');
    await other.json();
    const bad = await postCompletion(sim.url, { prompt: 'x', max_tokens: 1 }, { 'X-data-parallel-rank': '4' });
    assert.equal(bad.status, 400);
    await bad.json();
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    assert.match(text, /^vllm:num_requests_running\{engine="1",model_name=/m);
    assert.match(text, /^vllm:cache_config_info\{.*engine="1".*\} 1\.0$/m);
    assert.doesNotMatch(text, /engine="0"/);
    const m = await scrape(`${sim.url}/metrics`);
    assert.ok(sample(m, 'vllm:prompt_tokens_total', engine(1)) > 0);
  } finally {
    await stopClean(sim);
  }
});

test('N ranks behind one port: each publishes KV events on the endpoint port + its rank', async () => {
  const base = await freePortPair();
  const kv = JSON.stringify({ enable_kv_cache_events: true, endpoint: `tcp://*:${base}` });
  const sim = await startSim(['--data-parallel-size', '2', '--kv-events-config', kv], { env: { PYTHONHASHSEED: '0' } });
  try {
    // Bound (a '*' host), so the addresses named are the ports each rank's socket holds.
    assert.deepEqual(sim.kv_events_by_rank.map((e) => Number(e.split(':').pop())), [base, base + 1]);
    assert.equal(Number(sim.kv_events.split(':').pop()), base);
    // The ports really are taken (by the sim).
    for (const port of [base, base + 1]) {
      const s = net.createServer();
      const err = await new Promise((r) => { s.once('error', (e) => r(e.code)); s.listen(port, '0.0.0.0', () => r(null)); });
      if (!err) await new Promise((r) => s.close(r));
      assert.equal(err, 'EADDRINUSE', `port ${port}`);
    }
  } finally {
    await stopClean(sim);
  }
});

test('flags out of range stop the sim at start with a message', async () => {
  for (const [args, message] of [[['--data-parallel-size', '0'], /--data-parallel-size: expected an integer 1-64/],
    [['--data-parallel-size', '65'], /expected an integer 1-64/],
    [['--data-parallel-rank', '0'], /--data-parallel-rank needs --data-parallel-size/],
    [['--data-parallel-size', '2', '--data-parallel-rank', '2'], /--data-parallel-rank 2 needs --data-parallel-size > 2/],
    [['--data-parallel-size', '2', '--kv-events-config', '{"enable_kv_cache_events":true,"endpoint":"ipc:///nonexistent-dir/kv"}'],
      /must contain 'inproc' or match tcp/]]) {
    await assert.rejects(startSim(args), message);
  }
});
