// ringgate-sim as vLLM with NixlConnector (prefill/decode disaggregation): a prefill sim
// answers do_remote_decode with kv_transfer_params and holds the blocks; a decode sim
// given those params pulls them from it (POST /nixl/pull) and prefills only the tail;
// failed pulls recompute; held blocks expire; prefill work delays running decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { startSim, binaries, scrape } from '../lib/procs.mjs';
import { MODEL, sample, waitForMetrics, openStream, postCompletion, stopClean } from './sim_helpers.mjs';

const NIXL = JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_both' });
const PROMPT = 'abcd'.repeat(100);  // 100 tokens: 7 blocks of 16
const PREFILL_LEG = { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null,
  remote_block_ids: null, remote_host: null, remote_port: null };

const startNixl = (args = []) => startSim(['--kv-transfer-config', NIXL, '--kv-blocks', '64',
  '--enable-prompt-tokens-details', ...args]);
const metric = async (sim, name) => sample(await scrape(`${sim.url}/metrics`), name) ?? 0;

async function prefill(sim, extra = {}) {
  const res = await postCompletion(sim.url, { model: MODEL, prompt: PROMPT, max_tokens: 1, stream: false,
    kv_transfer_params: PREFILL_LEG, ...extra });
  assert.equal(res.status, 200);
  return res.json();
}

async function decode(sim, params, extra = {}) {
  const res = await postCompletion(sim.url, { model: MODEL, prompt: PROMPT, max_tokens: 4,
    kv_transfer_params: params, ...extra });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return extra.stream ? body : JSON.parse(body);
}

test('a do_remote_decode prefill answers kv_transfer_params as NixlConnector and holds its blocks', async () => {
  const p = await startNixl(['--kv-transfer-config',
    JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_producer', engine_id: 'prefill-0' })]);
  const plain = await startNixl();
  try {
    const answer = await prefill(p);
    const kv = answer.kv_transfer_params;
    assert.deepEqual(Object.keys(kv), ['do_remote_prefill', 'do_remote_decode', 'remote_block_ids',
      'remote_engine_id', 'remote_request_id', 'remote_host', 'remote_port', 'tp_size']);
    assert.equal(kv.do_remote_prefill, true);
    assert.equal(kv.do_remote_decode, false);
    assert.equal(kv.remote_block_ids.length, 7);
    assert.ok(kv.remote_block_ids.every(Number.isInteger));
    assert.equal(kv.remote_engine_id, 'prefill-0');
    assert.equal(kv.remote_request_id, answer.id);
    assert.equal(kv.remote_host, '127.0.0.1');
    assert.equal(kv.remote_port, p.port);
    assert.equal(kv.tp_size, 1);
    const m = await scrape(`${p.url}/metrics`);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_prefills_total'), 1);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_held'), 1);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 7 / 64);  // held blocks are used blocks

    // A chat prefill too; the default engine id is a uuid4, as vLLM's.
    const res = await fetch(`${plain.url}/v1/chat/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: 1,
        max_completion_tokens: 1, stream: false, kv_transfer_params: PREFILL_LEG }) });
    const chat = await res.json();
    assert.match(chat.kv_transfer_params.remote_engine_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(chat.kv_transfer_params.remote_request_id, chat.id);
    // Without do_remote_decode: null, nothing held.
    const normal = await (await postCompletion(plain.url, { model: MODEL, prompt: PROMPT, max_tokens: 1 })).json();
    assert.equal(normal.kv_transfer_params, null);
    assert.equal(await metric(plain, 'ringgate_sim_kv_transfer_held'), 1);
  } finally {
    await stopClean(p);
    await stopClean(plain);
  }
});

test('a decode pulls the blocks from the prefill sim and prefills only the last token; a second pull recomputes', async () => {
  const p = await startNixl();
  const d = await startNixl();
  try {
    const { kv_transfer_params: kv } = await prefill(p);
    const answer = await decode(d, kv);
    assert.equal(answer.usage.prompt_tokens, 100);
    assert.equal(answer.usage.prompt_tokens_details.cached_tokens, 99);  // pulled: only the last token prefilled
    assert.equal(answer.choices[0].text.length, 16);
    let m = await scrape(`${d.url}/metrics`);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_pulls_total'), 1);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_blocks_total'), 7);
    assert.equal(sample(m, 'vllm:external_prefix_cache_hits_total'), 99);
    assert.equal(sample(m, 'vllm:nixl_xfer_time_seconds_count'), 1);
    assert.equal(sample(m, 'vllm:nixl_num_failed_transfers_total'), 0);
    m = await scrape(`${p.url}/metrics`);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_pulls_served_total'), 1);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_held'), 0);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 0);  // freed by the pull

    // The same params again: already pulled, the prefill sim says 404; the decode recomputes.
    const d2 = await startNixl();
    try {
      const again = await decode(d2, kv);
      assert.equal(again.usage.prompt_tokens_details, null);  // nothing cached: a full local prefill
      m = await scrape(`${d2.url}/metrics`);
      assert.equal(sample(m, 'vllm:nixl_num_failed_transfers_total'), 1);
      assert.equal(sample(m, 'ringgate_sim_kv_transfer_pulls_total'), 0);
      assert.equal(sample(m, 'ringgate_sim_kv_transfer_blocks_total'), 0);
    } finally {
      await stopClean(d2);
    }
    // Streaming decodes pull too.
    const { kv_transfer_params: kv2 } = await prefill(p);
    const stream = await decode(d, kv2, { stream: true });
    assert.match(stream, /data: \[DONE\]/);
    assert.equal(await metric(d, 'ringgate_sim_kv_transfer_pulls_total'), 2);
  } finally {
    await stopClean(p);
    await stopClean(d);
  }
});

test('failed pulls recompute and count: --fail-kv-pulls, wrong engine, refused, unknown host, timeout', async () => {
  const p = await startNixl();
  const failing = await startNixl(['--fail-kv-pulls']);
  const d = await startNixl(['--kv-pull-timeout', '0.2']);
  // A server that accepts and never answers, and a port nobody listens on.
  const silent = net.createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const closed = net.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  try {
    const { kv_transfer_params: kv } = await prefill(p);
    const forced = await decode(failing, kv);
    assert.equal(forced.usage.prompt_tokens_details, null);
    assert.equal(await metric(failing, 'vllm:nixl_num_failed_transfers_total'), 1);
    assert.equal(await metric(p, 'ringgate_sim_kv_transfer_held'), 1);  // never pulled: still held

    const cases = [
      { ...kv, remote_engine_id: 'someone-else' },
      { ...kv, remote_port: closedPort },
      { ...kv, remote_host: 'prefill.invalid' },
      { ...kv, remote_port: silent.address().port },
    ];
    for (const [i, params] of cases.entries()) {
      const answer = await decode(d, params);
      // Recomputed: nothing pulled (what is cached is this sim's own from the first case).
      assert.equal(answer.usage.prompt_tokens_details?.cached_tokens ?? 0, i === 0 ? 0 : 96, `case ${i}`);
      assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), i + 1, `case ${i}`);
    }
    assert.equal(await metric(d, 'ringgate_sim_kv_transfer_pulls_total'), 0);
    assert.equal(await metric(p, 'ringgate_sim_kv_transfer_held'), 1);  // the wrong engine id freed nothing
    // After all that the right params still pull.
    assert.equal((await decode(d, kv)).usage.prompt_tokens_details.cached_tokens, 99);
  } finally {
    silent.close();
    await stopClean(p);
    await stopClean(failing);
    await stopClean(d);
  }
});

test('kv_load_failure_policy "fail": a failed pull answers 500 instead of recomputing', async () => {
  const d = await startSim(['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector',
    kv_role: 'kv_consumer', kv_load_failure_policy: 'fail' }), '--fail-kv-pulls']);
  try {
    const res = await postCompletion(d.url, { model: MODEL, prompt: PROMPT, max_tokens: 1, kv_transfer_params: {
      do_remote_prefill: true, remote_block_ids: [0], remote_engine_id: 'e', remote_request_id: 'r',
      remote_host: '127.0.0.1', remote_port: 1 } });
    assert.equal(res.status, 500);
    assert.match((await res.json()).error.message, /KV transfer from the prefill engine failed/);
    assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), 1);
  } finally {
    await stopClean(d);
  }
});

test('held blocks expire after --nixl-abort-request-timeout; beyond --max-held-kv-transfers the oldest goes', async () => {
  const p = await startNixl(['--nixl-abort-request-timeout', '0.3', '--max-held-kv-transfers', '2']);
  const d = await startNixl();
  try {
    const first = (await prefill(p)).kv_transfer_params;
    await prefill(p);
    await prefill(p);  // the cap: the first is released
    let m = await scrape(`${p.url}/metrics`);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_held'), 2);
    assert.equal(sample(m, 'ringgate_sim_kv_transfer_held_evicted_total'), 1);
    await decode(d, first);
    assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), 1);

    const late = (await prefill(p)).kv_transfer_params;
    m = await waitForMetrics(p.url, (x) => sample(x, 'ringgate_sim_kv_transfer_held') === 0);
    // Four held, none pulled: each expired or was released beyond the cap, at least the last expired.
    assert.equal(sample(m, 'vllm:nixl_num_kv_expired_reqs_total') +
      sample(m, 'ringgate_sim_kv_transfer_held_evicted_total'), 4);
    assert.ok(sample(m, 'vllm:nixl_num_kv_expired_reqs_total') >= 1);
    assert.equal(sample(m, 'vllm:kv_cache_usage_perc'), 0);
    await decode(d, late);  // expired: recomputed
    assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), 2);
  } finally {
    await stopClean(p);
    await stopClean(d);
  }
});

test('hostile kv_transfer_params get a 400; incomplete remote fields prefill locally', async () => {
  const d = await startNixl();
  try {
    const good = { do_remote_prefill: true, remote_block_ids: [1, 2], remote_engine_id: 'e',
      remote_request_id: 'r', remote_host: '127.0.0.1', remote_port: 1, tp_size: 1 };
    const bad = [
      'x', [1], { do_remote_prefill: 'yes' }, { ...good, remote_block_ids: ['a'] },
      { ...good, remote_block_ids: [-1] }, { ...good, remote_block_ids: 7 },
      { ...good, remote_block_ids: Array.from({ length: 131073 }, (_, i) => i) },
      { ...good, remote_port: 70000 }, { ...good, remote_port: 'http' }, { ...good, remote_host: 5 },
      { ...good, remote_engine_id: 'e'.repeat(257) }, { ...good, do_remote_decode: true },
    ];
    for (const params of bad) {
      const res = await postCompletion(d.url, { model: MODEL, prompt: 'abcd', max_tokens: 1, kv_transfer_params: params });
      const body = await res.json();
      assert.equal(res.status, 400, JSON.stringify(params).slice(0, 80));
      assert.equal(body.error.code, 400);
    }
    // 131072 ids are within the bound (the pull then fails: nobody on port 1).
    const many = await postCompletion(d.url, { model: MODEL, prompt: 'abcd', max_tokens: 1,
      kv_transfer_params: { ...good, remote_block_ids: Array.from({ length: 131072 }, (_, i) => i) } });
    assert.equal(many.status, 200);
    assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), 1);
    // Missing remote fields: vLLM warns and does no transfer (not a failed one).
    const partial = await postCompletion(d.url, { model: MODEL, prompt: 'abcd', max_tokens: 1,
      kv_transfer_params: { do_remote_prefill: true, remote_block_ids: [1], remote_host: null } });
    assert.equal(partial.status, 200);
    assert.equal(await metric(d, 'vllm:nixl_num_failed_transfers_total'), 1);
    // /nixl/pull's own input.
    for (const body of ['{', '[]', '{"remote_request_id":"r"}', '{"remote_engine_id":"e","remote_request_id":3}']) {
      const res = await fetch(`${d.url}/nixl/pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 400, body);
    }
  } finally {
    await stopClean(d);
  }
  // Without --kv-transfer-config the params are ignored (as vLLM without a connector) and /nixl/pull is not routed.
  const plain = await startSim();
  try {
    const res = await postCompletion(plain.url, { model: MODEL, prompt: PROMPT, max_tokens: 1, kv_transfer_params: PREFILL_LEG });
    assert.equal((await res.json()).kv_transfer_params, null);
    assert.equal((await fetch(`${plain.url}/nixl/pull`, { method: 'POST' })).status, 404);
  } finally {
    await stopClean(plain);
  }
});

test('--kv-transfer-config refuses an unknown connector, a bad role and malformed JSON at startup', () => {
  for (const [json, message] of [
    ['{"kv_connector":"P2pNcclConnector","kv_role":"kv_both"}', "unsupported kv_connector 'P2pNcclConnector'"],
    ['{"kv_connector":"NixlConnector","kv_role":"kv_server"}', 'kv_role must be kv_producer, kv_consumer or kv_both'],
    ['{"kv_connector":"NixlConnector"', 'a JSON object'],
  ]) {
    const r = spawnSync(binaries.sim, ['--port', '0', '--kv-transfer-config', json], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(message.replace(/[()]/g, '\\$&')));
  }
});

test('a long prefill on the same sim delays a running decode by its prefill time (chunked prefill)', async () => {
  const sim = await startSim(['--inter-token-latency-ms', '5', '--prefill-time-per-token-us', '100',
    '--kv-blocks', '1024', '--max-model-len', '8192']);
  try {
    const stream = await openStream(sim.url, { model: MODEL, prompt: 'abcd', max_tokens: 300, ignore_eos: true });
    // 6000 tokens of prefill: 0.6 s that the running decode's next token waits for.
    const long = await postCompletion(sim.url, { model: MODEL, prompt: 'abcd'.repeat(6000), max_tokens: 1 });
    assert.equal(long.status, 200);
    await long.json();
    await stream.rest();
    const m = await scrape(`${sim.url}/metrics`);
    const labels = (le) => `engine="0",le="${le}",model_name="${MODEL}"`;
    const slow = sample(m, 'vllm:inter_token_latency_seconds_count') -
      sample(m, 'vllm:inter_token_latency_seconds_bucket', labels('0.5'));
    assert.ok(slow >= 1, `${slow} inter-token gaps above 0.5 s; ttft sum ${sample(m, "vllm:time_to_first_token_seconds_sum")} count ${sample(m, "vllm:inter_token_latency_seconds_count")}`);
  } finally {
    await stopClean(sim);
  }
});
