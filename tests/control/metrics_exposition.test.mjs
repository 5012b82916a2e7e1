// Issue 5's acceptance, part 1: the admin port's /metrics after real traffic
// (completions and chat, streamed and not, an aliased model, errors) passes
// `promtool check metrics`, carries every llm-d EPP family with its labels and
// type, counts what was sent, and takes token counts from the responses' usage
// (streamed with stream_options.include_usage too). A real Prometheus server
// scraping the admin port reads inference_pool_ready_pods back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { startPrometheus, promtoolCheck } from '../lib/prometheus.mjs';

const MODEL = 'facebook/opt-125m';
const ALIAS = 'my-chat';
const RULE = 'my-chat-alias';
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function writeConfig(endpoints) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-obs-'));
  dirs.push(dir);
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, [
    'apiVersion: ringgate.io/v1',
    'kind: Gateway',
    'pool:',
    '  name: vllm',
    '  discovery:',
    `    static: [${endpoints.map((e) => `"${e}"`).join(', ')}]`,
    '---',
    'apiVersion: inference.networking.x-k8s.io/v1alpha2',
    'kind: InferenceModelRewrite',
    'metadata:',
    `  name: ${RULE}`,
    'spec:',
    '  rules:',
    `  - matches: [{model: {type: Exact, value: ${ALIAS}}}]`,
    `    targets: [{modelRewrite: ${MODEL}}]`,
    '',
  ].join('\n'));
  return file;
}

// Families the issue lists: name → [type, label names of its samples (sorted), excluding le].
const EPP_FAMILIES = {
  inference_pool_ready_pods: ['gauge', ['name']],
  inference_pool_average_kv_cache_utilization: ['gauge', ['name']],
  inference_pool_average_queue_size: ['gauge', ['name']],
  inference_pool_average_running_requests: ['gauge', ['name']],
  inference_pool_per_pod_queue_size: ['gauge', ['model_server_pod', 'name']],
  inference_extension_info: ['gauge', ['build_ref', 'commit']],
  inference_extension_prefix_indexer_size: ['gauge', []],
  inference_extension_prefix_indexer_hit_ratio: ['histogram', []],
  inference_extension_scheduler_e2e_duration_seconds: ['histogram', []],
  inference_extension_scheduler_attempts_total: ['counter', ['namespace', 'pod_name', 'port', 'status', 'target_model_name']],
  inference_objective_request_total: ['counter', ['model_name', 'priority', 'target_model_name']],
  inference_objective_request_error_total: ['counter', ['error_code', 'model_name', 'target_model_name']],
  inference_objective_request_duration_seconds: ['histogram', ['model_name', 'target_model_name']],
  inference_objective_request_ttft_seconds: ['histogram', ['model_name', 'target_model_name']],
  inference_objective_normalized_time_per_output_token_seconds: ['histogram', ['model_name', 'target_model_name']],
  inference_objective_input_tokens: ['histogram', ['model_name', 'target_model_name']],
  inference_objective_output_tokens: ['histogram', ['model_name', 'target_model_name']],
  inference_objective_running_requests: ['gauge', ['model_name']],
  inference_extension_model_rewrite_decisions_total: ['counter', ['model_name', 'model_rewrite_name', 'target_model']],
};
// ringgate_* gateway metrics the issue asks for (connections, connects vs reuses,
// retries, ejections, bytes, io_uring CQ overflows and ENOBUFS re-arms).
const GATEWAY_FAMILIES = {
  ringgate_connections_accepted_total: 'counter',
  ringgate_connections_open: 'gauge',
  ringgate_upstream_connects_total: 'counter',
  ringgate_upstream_reuses_total: 'counter',
  ringgate_retries_total: 'counter',
  ringgate_endpoint_ejections_total: 'counter',
  ringgate_client_received_bytes_total: 'counter',
  ringgate_client_sent_bytes_total: 'counter',
  ringgate_upstream_sent_bytes_total: 'counter',
  ringgate_upstream_received_bytes_total: 'counter',
  ringgate_io_uring_cq_overflows_total: 'counter',
  ringgate_io_uring_enobufs_rearms_total: 'counter',
};

// Parses exposition text into { types: Map(family → type), samples: [{name, labels:{}, value}] }.
function parseExposition(text) {
  const types = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name, type);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

const familyOf = (name, types) => {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === 'histogram') return name.slice(0, -suffix.length);
  }
  return undefined;
};

const find = (samples, name, labels) => samples.filter((s) => s.name === name &&
  Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples, name, labels) => {
  const found = find(samples, name, labels);
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
};

test('a gateway that served traffic: promtool-clean, every EPP family with its labels, tokens from usage', async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '2']);
  live.push(sim);
  const gw = await startGateway(['--config', writeConfig([sim.api]), '--workers', '2']);
  live.push(gw);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });

  // Usage seen by the client, per (model_name, target_model_name): what the histograms must hold.
  const usage = new Map();
  const record = (model, u) => {
    assert.ok(u && u.prompt_tokens > 0 && u.completion_tokens > 0, `usage missing: ${JSON.stringify(u)}`);
    const e = usage.get(model) ?? { n: 0, prompt: 0, completion: 0 };
    e.n += 1; e.prompt += u.prompt_tokens; e.completion += u.completion_tokens;
    usage.set(model, e);
  };
  const streamUsage = async (stream) => {
    let u;
    let chunks = 0;
    for await (const chunk of stream) { chunks += 1; if (chunk.usage) u = chunk.usage; }
    assert.ok(chunks > 1, 'a stream with a single chunk');
    return u;
  };

  for (const model of [MODEL, ALIAS]) {
    record(model, (await client.completions.create({ model, prompt: 'Once upon a time there was', max_tokens: 6 })).usage);
    record(model, (await client.chat.completions.create({
      model, max_tokens: 5, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }] })).usage);
    record(model, await streamUsage(await client.completions.create({
      model, prompt: 'The quick brown fox', max_tokens: 7, stream: true, stream_options: { include_usage: true } })));
    record(model, await streamUsage(await client.chat.completions.create({
      model, max_tokens: 4, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Tell me a story about a gateway' }] })));
  }
  // Errors: one the model server returns (relayed), one the gateway writes (unknown model).
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 2 },
    { headers: { 'X-Return-Error': '500' } }), (e) => e.status === 500);
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 2 }),
    (e) => e.status === 404);

  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const check = await promtoolCheck(text);
  console.log(`promtool check metrics: ${check.ok ? 'ok' : 'FAILED'} (${text.split('\n').length} lines)${check.output ? `\n${check.output}` : ''}`);
  // The only remark allowed: promtool's lint reads the "d" of llm-d's llm_d_ prefix as a unit
  // (days), as it does on llm-d-router's own exposition (metrics_parity.test.mjs checks the rest).
  const remarks = check.output.split('\n').filter((l) => l.trim() && !/^llm_d_\w+ metric names should not contain abbreviated units$/.test(l));
  assert.deepEqual(remarks, [], `promtool has remarks:\n${check.output}`);

  const { types, samples } = parseExposition(text);
  for (const s of samples) assert.ok(familyOf(s.name, types), `sample ${s.name} has no # TYPE line`);
  for (const [family, [type, labelNames]] of Object.entries(EPP_FAMILIES)) {
    assert.equal(types.get(family), type, `${family}: type`);
    const own = samples.filter((s) => familyOf(s.name, types) === family);
    assert.ok(own.length > 0, `${family}: no samples`);
    for (const s of own) {
      const names = Object.keys(s.labels).filter((k) => k !== 'le').sort();
      assert.deepEqual(names, labelNames, `${family}: labels of ${s.name}${JSON.stringify(s.labels)}`);
    }
  }
  for (const [family, type] of Object.entries(GATEWAY_FAMILIES)) {
    assert.equal(types.get(family), type, `${family}: type`);
    assert.equal(find(samples, family, {}).length, 1, `${family}: one sample`);
  }
  // Migrations: both resumed reasons from the start (at 0 here: no server broke), gave_up ones as they happen.
  assert.equal(types.get('ringgate_stream_migrations_total'), 'counter');
  for (const reason of ['reset', 'stall']) {
    assert.equal(one(samples, 'ringgate_stream_migrations_total', { outcome: 'resumed', reason }), 0, reason);
  }
  assert.equal(find(samples, 'ringgate_stream_migrations_total', { outcome: 'gave_up' }).length, 0);
  assert.equal(types.get('ringgate_stream_migration_pause_seconds'), 'histogram');
  assert.equal(one(samples, 'ringgate_stream_migration_pause_seconds_count', {}), 0);
  assert.equal(one(samples, 'ringgate_stream_migration_pause_seconds_bucket', { le: '+Inf' }), 0);

  // The counts match what was sent.
  const pair = (model) => ({ model_name: model, target_model_name: MODEL });
  assert.equal(one(samples, 'inference_pool_ready_pods', { name: 'vllm' }), 1);
  assert.equal(one(samples, 'inference_objective_request_total', pair(MODEL)), 5);
  assert.equal(one(samples, 'inference_objective_request_total', pair(ALIAS)), 4);
  assert.equal(one(samples, 'inference_objective_request_error_total', { ...pair(MODEL), error_code: 'ModelServerError' }), 1);
  // A model the pool does not serve is counted as "other" (issue 12: clients cannot mint label sets).
  assert.equal(one(samples, 'inference_objective_request_error_total',
    { model_name: 'other', target_model_name: 'other', error_code: 'NotFound' }), 1);
  assert.equal(one(samples, 'inference_extension_model_rewrite_decisions_total',
    { model_rewrite_name: RULE, model_name: ALIAS, target_model: MODEL }), 4);
  assert.equal(one(samples, 'inference_objective_running_requests', { model_name: MODEL }), 0);
  assert.equal(one(samples, 'inference_extension_scheduler_attempts_total', { status: 'success' }), 9);
  assert.ok(one(samples, 'inference_extension_scheduler_e2e_duration_seconds_count', {}) >= 9);

  // Token histograms hold exactly the usage the client saw (streams included), per label pair;
  // latency histograms one observation per answered request.
  for (const [model, u] of usage) {
    const labels = pair(model);
    assert.equal(one(samples, 'inference_objective_input_tokens_count', labels), u.n, `${model}: input count`);
    assert.equal(one(samples, 'inference_objective_input_tokens_sum', labels), u.prompt, `${model}: input sum`);
    assert.equal(one(samples, 'inference_objective_output_tokens_count', labels), u.n, `${model}: output count`);
    assert.equal(one(samples, 'inference_objective_output_tokens_sum', labels), u.completion, `${model}: output sum`);
    assert.equal(one(samples, 'inference_objective_input_tokens_bucket', { ...labels, le: '+Inf' }), u.n);
    for (const h of ['request_duration_seconds', 'request_ttft_seconds', 'normalized_time_per_output_token_seconds']) {
      assert.equal(one(samples, `inference_objective_${h}_count`, labels), u.n, `${model}: ${h} count`);
      assert.ok(one(samples, `inference_objective_${h}_sum`, labels) > 0, `${model}: ${h} sum`);
    }
    console.log(`${model}: ${u.n} answers, input tokens ${u.prompt}, output tokens ${u.completion} (client usage = /metrics)`);
  }

  // Gateway counters moved with the traffic.
  const g = (name) => one(samples, name, {});
  assert.ok(g('ringgate_connections_accepted_total') >= 1);
  assert.ok(g('ringgate_upstream_connects_total') >= 1);
  assert.ok(g('ringgate_upstream_connects_total') + g('ringgate_upstream_reuses_total') >= 9, 'nine requests went upstream');
  assert.ok(g('ringgate_upstream_reuses_total') >= 1, 'keep-alive upstream connections were reused');
  assert.ok(g('ringgate_client_received_bytes_total') > 0 && g('ringgate_client_sent_bytes_total') > 0);
  assert.ok(g('ringgate_upstream_sent_bytes_total') > 0 && g('ringgate_upstream_received_bytes_total') > 0);
});

test('a real Prometheus server scrapes the admin port and reads inference_pool_ready_pods back', async () => {
  const sims = [];
  for (let i = 0; i < 2; i++) { const s = await startSim(['--model', MODEL]); live.push(s); sims.push(s); }
  const gw = await startGateway(sims.flatMap((s) => ['--endpoint', s.api]));
  live.push(gw);
  const prom = await startPrometheus([gw.admin]);
  try {
    // Waits until Prometheus reports `want` for the pool, returns the series it read.
    const readBack = async (want, timeoutMs = 15000) => {
      const deadline = Date.now() + timeoutMs;
      let last;
      for (;;) {
        last = await prom.query('inference_pool_ready_pods{name="vllm"}');
        if (last.length === 1 && Number(last[0].value[1]) === want) return last[0];
        if (Date.now() > deadline) {
          const targets = (await (await fetch(`${prom.url}/api/v1/targets`)).json()).data.activeTargets
            .map((t) => ({ health: t.health, lastError: t.lastError, lastScrape: t.lastScrape }));
          throw new Error(`Prometheus read ${JSON.stringify(last)}, want ${want}; targets ${JSON.stringify(targets)}; ` +
            `log: ${prom.log().slice(-2000)}; gateway exit ${gw.proc.exitCode ?? gw.proc.signalCode}: ${gw.stderr().slice(-2000)}`);
        }
        await sleep(100);
      }
    };
    const own = await scrape(`${gw.adminUrl}/metrics`);
    assert.equal(own.get('inference_pool_ready_pods{name="vllm"}'), 2);
    const series = await readBack(2);
    assert.equal(series.metric.__name__, 'inference_pool_ready_pods');
    assert.equal(series.metric.job, 'ringgate');
    assert.equal(series.metric.instance, gw.admin);
    // The whole scrape was accepted (a malformed exposition fails it: up would be 0).
    const up = await prom.query(`up{instance="${gw.admin}"}`);
    assert.equal(up.length, 1);
    assert.equal(up[0].value[1], '1');
    // A model server dies: Prometheus sees the pool shrink, and agrees with the gateway.
    await sims[1].stop('SIGKILL');
    await readBack(1);
    const after = await scrape(`${gw.adminUrl}/metrics`);
    assert.equal(after.get('inference_pool_ready_pods{name="vllm"}'), 1);
    const samples = await prom.query('scrape_samples_scraped{job="ringgate"}');
    console.log(`Prometheus ${prom.url}: inference_pool_ready_pods 2 → 1 read back; ` +
      `${samples[0]?.value[1]} samples per scrape`);
  } finally {
    await prom.stop();
  }
});
