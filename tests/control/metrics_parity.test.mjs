// Issue 18's acceptance: metrics parity with GAIE v1.5.0 (inference_*) and llm-d-router
// v0.10 (llm_d_epp_*). The expectations come from tests/control/fixtures/
// epp_metric_families.json — written from the upstream Go definitions, not from
// ringgate's output — and from the scripted traffic below:
//   completions and chat, streamed (with and without usage) and not, an InferenceObjective
//   priority, an llm-d fairness id, an aliased model (rewrite), an unknown model, and an
//   upstream 500 that the gateway retries on the other server before relaying it.
// Every EPP family, its type, help, label names, bucket ladder, and every series' value
// (counters, histogram counts and byte sums) are checked; left-out families are absent;
// `promtool check metrics` is clean; a real Prometheus scrapes both sets and every PromQL
// query of deploy/grafana's dashboard returns data.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { startSim, startGateway } from '../lib/procs.mjs';
import { startPrometheus, promtoolCheck } from '../lib/prometheus.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const spec = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/epp_metric_families.json'), 'utf8'));
const MODEL = 'facebook/opt-125m';
const ALIAS = 'my-chat';
const RULE = 'my-chat-alias';
const PREFILL_MS = 150;  // every first token comes at least this long after the request
const ITL_MS = 40;       // and every later one at least this long after the previous
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function writeConfig(endpoints, extraGateway = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-parity-'));
  dirs.push(dir);
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, [
    'apiVersion: ringgate.io/v1',
    'kind: Gateway',
    'pool:',
    '  name: vllm',
    '  discovery:',
    `    static: [${endpoints.map((e) => `"${e}"`).join(', ')}]`,
    ...extraGateway,
    '---',
    'apiVersion: inference.networking.x-k8s.io/v1alpha2',
    'kind: InferenceModelRewrite',
    'metadata:',
    `  name: ${RULE}`,
    'spec:',
    '  rules:',
    `  - matches: [{model: {type: Exact, value: ${ALIAS}}}]`,
    `    targets: [{modelRewrite: ${MODEL}}]`,
    '---',
    'apiVersion: inference.networking.x-k8s.io/v1alpha2',
    'kind: InferenceObjective',
    'metadata: {name: premium}',
    'spec: {priority: 5}',
    '',
  ].join('\n'));
  return file;
}

// ---- exposition parsing ------------------------------------------------------------------

function parseExposition(text) {
  const types = new Map();
  const helps = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) { const [, , name, type] = line.split(' '); types.set(name, type); continue; }
    if (line.startsWith('# HELP ')) { const rest = line.slice(7); const i = rest.indexOf(' '); helps.set(rest.slice(0, i), rest.slice(i + 1)); continue; }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, helps, samples };
}

const familyOf = (name, types) => {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === 'histogram') return name.slice(0, -suffix.length);
  }
  return undefined;
};
const seriesKey = (labels, names) => names.map((n) => `${n}=${labels[n] ?? ''}`).join(',');

// ---- the traffic ---------------------------------------------------------------------------

// Each request: what it sends and what the definitions say it must leave in /metrics.
const traffic = [
  { name: 'completion', path: '/v1/completions', body: { model: MODEL, prompt: 'Once upon a time there was', max_tokens: 6 } },
  { name: 'chat, objective premium', path: '/v1/chat/completions', headers: { 'x-gateway-inference-objective': 'premium' }, priority: '5',
    body: { model: MODEL, max_tokens: 5, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }] } },
  { name: 'completion stream with usage', path: '/v1/completions',
    body: { model: MODEL, prompt: 'The quick brown fox', max_tokens: 7, stream: true, stream_options: { include_usage: true } } },
  { name: 'chat stream without usage, fairness tenant-a', path: '/v1/chat/completions', headers: { 'x-llm-d-inference-fairness-id': 'tenant-a' },
    fairness: 'tenant-a', body: { model: MODEL, max_tokens: 4, stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] } },
  { name: 'aliased chat (rewrite)', path: '/v1/chat/completions',
    body: { model: ALIAS, max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }] } },
  // A prompt of several KV blocks sent twice: the second reads cached tokens (a histogram
  // has series only once observed, as a client library's, so the cached-tokens families need one).
  ...[1, 2].map((n) => ({ name: `long prompt, time ${n}`, path: '/v1/completions',
    body: { model: MODEL, prompt: 'word '.repeat(64).trim(), max_tokens: 2 } })),
  { name: 'unknown model', path: '/v1/completions', body: { model: 'no-such-model', prompt: 'x', max_tokens: 2 }, status: 404, error: 'NotFound', scheduled: false },
  { name: 'upstream 500, retried on the other server, then relayed', path: '/v1/completions', headers: { 'X-Return-Error': '500' },
    body: { model: MODEL, prompt: 'y', max_tokens: 2 }, status: 500, error: 'ModelServerError' },
];

async function send(gw, r) {
  const body = JSON.stringify(r.body);
  const res = await fetch(`${gw.url}${r.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(r.headers ?? {}) }, body });
  // The body as it arrives, each read timed: the gaps the client saw between a stream's
  // first and last token bound what the gateway can have measured.
  const reads = [];
  for (const reader = res.body.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    reads.push({ at: performance.now(), bytes: Buffer.from(value) });
  }
  const bytes = Buffer.concat(reads.map((x) => x.bytes));
  assert.equal(res.status, r.status ?? 200, `${r.name}: status`);
  const text = bytes.toString('utf8');
  let usage;
  if (res.status === 200) {
    if (r.body.stream) {
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const ev = JSON.parse(line.slice(6));
        if (ev.usage) usage = ev.usage;
      }
    } else {
      usage = JSON.parse(text).usage;
    }
  }
  // A name the pool does not serve is labelled "other" (issue 12: clients cannot mint label sets).
  const model = r.body.model === 'no-such-model' ? 'other' : r.body.model;
  return {
    ...r,
    model,
    target: model === ALIAS ? MODEL : model,
    priority: r.priority ?? '0',
    fairness: r.fairness ?? 'default-flow',
    stream: Boolean(r.body.stream),
    scheduled: r.scheduled ?? true,
    answered: res.status < 400,
    requestBytes: Buffer.byteLength(body),
    responseBytes: bytes.length,
    usage,
    clientTpotMs: r.body.stream && usage ? clientTpot(reads, usage.completion_tokens) : undefined,
  };
}

// (last token read - first token read) / (tokens - 1), as the client saw the stream.
function clientTpot(reads, tokens) {
  const withToken = reads.filter((x) => /"text":"[^"]|"content":"[^"]/.test(x.bytes.toString('utf8')));
  if (withToken.length === 0 || tokens < 2) return undefined;
  return (withToken[withToken.length - 1].at - withToken[0].at) / (tokens - 1);
}

// What each family must read after `done`, per series (labels in spec order → value);
// histograms as {count, sum?} (sum only where the traffic fixes it: byte sizes, tokens).
function expectations(set, done) {
  const want = new Map();  // family → Map(seriesKey → value)
  const put = (family, labels, add) => {
    const names = spec.sets[set][family].labels;
    if (!want.has(family)) want.set(family, new Map());
    const m = want.get(family);
    const k = seriesKey(labels, names);
    m.set(k, add(m.get(k)));
  };
  const inc = (family, labels, n = 1) => put(family, labels, (v) => (v ?? 0) + n);
  const obs = (family, labels, sum) => put(family, labels, (v) => ({ count: (v?.count ?? 0) + 1, sum: sum === undefined ? undefined : (v?.sum ?? 0) + sum }));
  const P = set === 'gaie' ? 'inference_objective_' : 'llm_d_epp_';
  const name = (gaie, llmd) => (set === 'gaie' ? `${P}${gaie}` : `${P}${llmd}`);
  for (const r of done) {
    const base = set === 'gaie'
      ? { model_name: r.model, target_model_name: r.target }
      : { model_name: r.model, target_model_name: r.target, fairness_id: r.fairness, priority: r.priority };
    if (r.scheduled) {
      inc(name('request_total', 'request_total'), { ...base, priority: r.priority });
      obs(name('request_sizes', 'request_size_bytes'), base, r.requestBytes);
    }
    if (r.error) inc(name('request_error_total', 'request_error_total'), { ...base, error_code: r.error });
    if (!r.answered) continue;
    obs(name('request_duration_seconds', 'request_duration_seconds'), base);
    obs(name('response_sizes', 'response_size_bytes'), base, r.responseBytes);
    obs(name('request_ttft_seconds', 'request_ttft_seconds'), set === 'gaie' ? base : { ...base, streaming: String(r.stream) });
    if (r.usage) {
      obs(name('input_tokens', 'request_input_tokens'), base, r.usage.prompt_tokens);
      // vLLM reports cached tokens only with --enable-prompt-tokens-details and only when > 0
      // (else prompt_tokens_details is null): the gateway observes what the answer says.
      const cached = r.usage.prompt_tokens_details?.cached_tokens;
      if (typeof cached === 'number') obs(name('prompt_cached_tokens', 'request_cached_tokens'), base, cached);
      obs(name('output_tokens', 'request_output_tokens'), base, r.usage.completion_tokens);
      obs(name('normalized_time_per_output_token_seconds', 'request_ntpot_seconds'), base);
      if (r.stream && r.usage.completion_tokens > 1) obs(name('request_tpot_seconds', 'request_streaming_tpot_seconds'), base);
    }
  }
  return want;
}

// ---- the checks ----------------------------------------------------------------------------

function checkShapes(set, types, helps, samples) {
  for (const [family, def] of Object.entries(spec.sets[set])) {
    if (def.when && !types.has(family)) continue;  // a feature's family, absent until it is used (tests/proxy/disaggregation)
    assert.equal(types.get(family), def.type, `${family}: type`);
    assert.equal(helps.get(family), def.help, `${family}: help`);
    const own = samples.filter((s) => familyOf(s.name, types) === family);
    assert.ok(own.length > 0, `${family}: no samples`);
    for (const s of own) {
      assert.deepEqual(Object.keys(s.labels).filter((k) => k !== 'le').sort(), [...def.labels].sort(), `${family}: labels of ${s.name}${JSON.stringify(s.labels)}`);
    }
    if (def.type !== 'histogram') continue;
    const bounds = spec.bucket_sets[def.buckets];
    const series = new Map();
    for (const s of own.filter((x) => x.name === `${family}_bucket`)) {
      const k = seriesKey(s.labels, def.labels);
      if (!series.has(k)) series.set(k, []);
      series.get(k).push(s.labels.le === '+Inf' ? Infinity : Number(s.labels.le));
    }
    for (const [k, les] of series) assert.deepEqual(les, [...bounds, Infinity], `${family}{${k}}: buckets`);
  }
}

function checkValues(set, samples, done) {
  for (const [family, want] of expectations(set, done)) {
    const def = spec.sets[set][family];
    const got = new Map();
    if (def.type === 'histogram') {
      for (const s of samples.filter((x) => x.name === `${family}_count`)) got.set(seriesKey(s.labels, def.labels), { count: s.value });
      for (const s of samples.filter((x) => x.name === `${family}_sum`)) { const k = seriesKey(s.labels, def.labels); if (got.has(k)) got.get(k).sum = s.value; }
      for (const [k, w] of want) {
        assert.ok(got.has(k), `${family}{${k}}: missing`);
        assert.equal(got.get(k).count, w.count, `${family}{${k}}: count`);
        if (w.sum !== undefined) assert.equal(got.get(k).sum, w.sum, `${family}{${k}}: sum`);
      }
      for (const [k, g] of got) if (!want.has(k)) assert.equal(g.count, 0, `${family}{${k}}: unexpected observations`);
    } else {
      for (const s of samples.filter((x) => x.name === family)) got.set(seriesKey(s.labels, def.labels), s.value);
      for (const [k, w] of want) assert.equal(got.get(k), w, `${family}{${k}}`);
      for (const [k, g] of got) if (!want.has(k)) assert.equal(g, 0, `${family}{${k}}: unexpected`);
    }
  }
}

// TTFT runs to the first generated token (after the sim's prefill), not to the response
// head (which a streaming sim sends at once); TPOT is at least the inter-token latency,
// unless the client itself saw the tokens come faster (a sim that stalled, then caught up:
// seen once under ASan on a loaded machine).
function checkTiming(set, samples, done) {
  const ttft = set === 'gaie' ? 'inference_objective_request_ttft_seconds' : 'llm_d_epp_request_ttft_seconds';
  const early = samples.filter((s) => s.name === `${ttft}_bucket` && Number(s.labels.le) <= 0.1);
  assert.ok(early.length > 0);
  for (const s of early) assert.equal(s.value, 0, `${ttft}: an observation under ${PREFILL_MS} ms prefill: ${JSON.stringify(s.labels)}`);
  const tpot = set === 'gaie' ? 'inference_objective_request_tpot_seconds' : 'llm_d_epp_request_streaming_tpot_seconds';
  const burst = done.some((d) => d.clientTpotMs !== undefined && d.clientTpotMs <= 30);
  for (const s of samples.filter((x) => x.name === `${tpot}_bucket` && Number(x.labels.le) <= 0.02)) {
    if (burst) break;
    assert.equal(s.value, 0, `${tpot}: an observation under the ${ITL_MS} ms inter-token latency`);
  }
  if (set === 'llm-d') {
    const itl = samples.filter((s) => s.name === 'llm_d_epp_request_streaming_itl_seconds_count');
    const stream = itl.find((s) => s.labels.fairness_id === 'tenant-a');
    // (How many chunks a stream arrives in depends on the machine; that it is more than one does not.)
    assert.ok(stream && stream.value >= 1, `inter-token latencies of the tenant-a stream: ${JSON.stringify(stream)}`);
  }
}

const leftOutPatterns = [...spec.left_out, ...(spec.not_yet ?? [])].flatMap((l) => l.families).map((f) => new RegExp(`^${f.replaceAll('*', '.*')}$`));

test('after scripted traffic every EPP family, label set and value matches the GAIE and llm-d definitions', async () => {
  const sims = [];
  for (let i = 0; i < 2; i++) {
    const s = await startSim(['--model', MODEL, '--prefill-overhead-ms', String(PREFILL_MS), '--inter-token-latency-ms', String(ITL_MS),
      '--enable-prompt-tokens-details']);
    live.push(s);
    sims.push(s);
  }
  const gw = await startGateway(['--config', writeConfig(sims.map((s) => s.api)), '--workers', '2']);
  live.push(gw);
  const prom = await startPrometheus([gw.admin]);
  try {
    // Both servers reported metrics (ready pods count servers with fresh metrics).
    for (const deadline = Date.now() + 10000; ;) {
      const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      if (/^inference_pool_ready_pods\{name="vllm"\} 2$/m.test(text)) break;
      assert.ok(Date.now() < deadline, 'the pool never had 2 ready pods');
      await sleep(50);
    }
    const done = [];
    for (const r of traffic) done.push(await send(gw, r));

    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    // promtool's lint reads the "d" of llm-d's own prefix as an abbreviated unit (days):
    // llm-d-router's exposition gets the same remark for every llm_d_* family. That remark,
    // on those names, is the only one allowed; the GAIE-only exposition is fully clean below.
    const check = await promtoolCheck(text);
    const remarks = check.output.split('\n').filter((l) => l.trim() && !/^llm_d_\w+ metric names should not contain abbreviated units$/.test(l));
    assert.deepEqual(remarks, [], `promtool check metrics:\n${check.output}`);
    const { types, helps, samples } = parseExposition(text);

    // Only families of the spec (and ringgate's own); nothing left out is emitted, not even empty.
    for (const family of types.keys()) {
      if (family.startsWith('ringgate_')) continue;
      assert.ok(spec.sets.gaie[family] || spec.sets['llm-d'][family], `${family} is emitted but not in the spec`);
      for (const re of leftOutPatterns) assert.ok(!re.test(family), `${family} is listed as left out`);
    }
    for (const set of ['gaie', 'llm-d']) {
      checkShapes(set, types, helps, samples);
      checkValues(set, samples, done);
      checkTiming(set, samples, done);
    }

    // error_code values are names, never HTTP numbers.
    for (const s of samples.filter((x) => x.labels.error_code !== undefined)) assert.ok(spec.error_codes.includes(s.labels.error_code), s.labels.error_code);

    // Scheduling attempts: one per scheduled request on the pod that got it (the 500's retry
    // is not an attempt), one failure for the unknown model; GAIE's and llm-d's agree.
    const scheduled = done.filter((r) => r.scheduled).length;
    for (const [family, podLabel] of [['inference_extension_scheduler_attempts_total', 'pod_name'], ['llm_d_epp_scheduler_attempts_total', 'endpoint_name']]) {
      const own = samples.filter((s) => s.name === family);
      const ok = own.filter((s) => s.labels.status === 'success');
      assert.equal(ok.reduce((a, s) => a + s.value, 0), scheduled, `${family}: successes`);
      for (const s of ok) {
        const sim = sims.find((x) => x.api === s.labels[podLabel]);
        assert.ok(sim, `${family}: ${podLabel}="${s.labels[podLabel]}" is no server`);
        assert.equal(s.labels.port, String(sim.port));
        assert.equal(s.labels.target_model_name, MODEL);
      }
      const failed = own.filter((s) => s.labels.status === 'failure');
      assert.deepEqual(failed.map((s) => [s.labels.target_model_name, s.labels[podLabel], s.labels.port, s.value]), [['other', '', '', 1]]);
    }
    const retries = samples.find((s) => s.name === 'ringgate_retries_total');
    assert.ok(retries.value >= 1, 'the upstream 500 was retried');
    // Plugin timings: every scorer and the picker once per scored decision (first attempts
    // and the retry's pick on the other server), under GAIE's plugin types.
    for (const family of ['inference_extension_plugin_duration_seconds', 'llm_d_epp_plugin_duration_seconds']) {
      const counts = samples.filter((s) => s.name === `${family}_count`);
      assert.deepEqual(counts.map((s) => s.labels.plugin_type).sort(), [...spec.label_values.plugin_type].sort(), `${family}: plugin types`);
      for (const s of counts) {
        assert.ok(spec.label_values.extension_point.includes(s.labels.extension_point), `${family}: ${s.labels.extension_point}`);
        assert.equal(s.labels.plugin_name, s.labels.plugin_type);
        // (+1: the 500's retry picks the other server; a retry on a fresh connection to the
        // same server, which ringgate_retries_total also counts, picks nothing.)
        assert.equal(s.value, scheduled + 1, `${family}{${s.labels.plugin_type}}: one per scored decision`);
      }
    }

    // The rest of the families, by their definitions.
    const value = (name, labels = {}) => {
      const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
      return found[0].value;
    };
    for (const [ready, perPod, podLabel] of [['inference_pool_ready_pods', 'inference_pool_per_pod_queue_size', 'model_server_pod'],
      ['llm_d_epp_ready_endpoints', 'llm_d_epp_per_endpoint_queue_size', 'model_server_endpoint']]) {
      assert.equal(value(ready, { name: 'vllm' }), 2);
      for (const s of sims) assert.equal(value(perPod, { name: 'vllm', [podLabel]: s.api }), 0);
    }
    for (const f of ['inference_extension_model_rewrite_decisions_total', 'llm_d_epp_model_rewrite_decisions_total']) {
      assert.equal(value(f, { model_rewrite_name: RULE, model_name: ALIAS, target_model: MODEL }), 1);
    }
    for (const [f, labels] of [['inference_extension_prefix_indexer_hit_ratio_count', {}], ['inference_extension_prefix_indexer_hit_bytes_count', {}],
      ['llm_d_epp_prefix_indexer_hit_ratio_count', { plugin_type: 'approx-prefix-cache-producer' }],
      ['llm_d_epp_prefix_indexer_hit_bytes_count', { plugin_type: 'approx-prefix-cache-producer' }]]) {
      assert.equal(value(f, labels), scheduled, `${f}: one lookup per scheduled request`);
    }
    for (const f of ['inference_extension_scheduler_e2e_duration_seconds_count', 'llm_d_epp_scheduler_e2e_duration_seconds_count']) {
      assert.ok(value(f) >= done.length, `${f}: every decision timed`);
    }
    for (const f of ['inference_objective_running_requests']) assert.equal(value(f, { model_name: MODEL }), 0);
    for (const s of samples.filter((x) => x.name === 'llm_d_epp_request_running')) assert.equal(s.value, 0);
    for (const f of ['llm_d_epp_datalayer_poll_errors_total', 'llm_d_inference_scheduler_datalayer_poll_errors_total']) {
      assert.equal(value(f, { source_type: 'metrics-data-source' }), value('ringgate_metrics_scrape_failures_total'));
    }
    for (const f of ['llm_d_epp_datalayer_extract_errors_total', 'llm_d_inference_scheduler_datalayer_extract_errors_total']) {
      assert.equal(value(f, { source_type: 'metrics-data-source', extractor_type: 'core-metrics-extractor' }), 0, `${f}: the sims serve vLLM's metrics`);
    }
    for (const f of ['inference_extension_info', 'llm_d_epp_info']) assert.equal(samples.filter((s) => s.name === f).length, 1);

    // A real Prometheus scrapes both sets and reads the same counts.
    const total = done.filter((r) => r.scheduled).length;
    for (const deadline = Date.now() + 15000; ;) {
      const a = await prom.query('sum(inference_objective_request_total)');
      const b = await prom.query('sum(llm_d_epp_request_total)');
      if (a.length === 1 && b.length === 1 && Number(a[0].value[1]) === total && Number(b[0].value[1]) === total) break;
      assert.ok(Date.now() < deadline, `Prometheus read ${JSON.stringify(a)} / ${JSON.stringify(b)}, want ${total}; ${prom.log().slice(-1000)}`);
      await sleep(100);
    }
    const up = await prom.query(`up{instance="${gw.admin}"}`);
    assert.equal(up[0]?.value[1], '1', 'the whole scrape was accepted');

    // Every query of the Grafana dashboard returns data after this traffic.
    const dash = JSON.parse(fs.readFileSync(path.join(root, 'deploy/grafana/ringgate-dashboard.json'), 'utf8'));
    const exprs = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    const promql = (e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '1h')
      .replace(/\$\{?(\w+)\}?/g, '.*');
    // (A rate needs two scrapes of a series born with this traffic: ask again until then.)
    let empty = exprs;
    for (const deadline = Date.now() + 15000; empty.length > 0 && Date.now() < deadline; await sleep(250)) {
      const still = [];
      for (const e of empty) if ((await prom.query(promql(e.expr))).length === 0) still.push(e);
      empty = still;
    }
    assert.deepEqual(empty.map((e) => `[${e.panel}] ${e.expr}`), [], 'dashboard queries without data');
    console.log(`parity: ${Object.keys(spec.sets.gaie).length} GAIE + ${Object.keys(spec.sets['llm-d']).length} llm-d families checked; ` +
      `${samples.length} samples; ${exprs.length} dashboard queries answered by Prometheus`);
  } finally {
    await prom.stop();
  }
});

test('--metrics-names and metrics.names expose one set only', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const byFlag = await startGateway(['--endpoint', sim.api, '--metrics-names', 'llm-d']);
  live.push(byFlag);
  const byConfig = await startGateway(['--config', writeConfig([sim.api], ['metrics: {names: gaie}'])]);
  live.push(byConfig);
  const llmd = await (await fetch(`${byFlag.adminUrl}/metrics`)).text();
  assert.match(llmd, /^llm_d_epp_ready_endpoints\{/m);
  assert.doesNotMatch(llmd, /^inference_/m);
  const gaie = await (await fetch(`${byConfig.adminUrl}/metrics`)).text();
  assert.match(gaie, /^inference_pool_ready_pods\{/m);
  assert.doesNotMatch(gaie, /^llm_d_/m);
  const check = await promtoolCheck(gaie);
  assert.ok(check.ok && check.output.trim() === '', `promtool check metrics (GAIE names only):\n${check.output}`);
  for (const text of [llmd, gaie]) assert.match(text, /^ringgate_connections_open /m);
});

test('a model server whose /metrics page holds no vLLM metrics counts as a datalayer extract error', async () => {
  // Answers /v1/models and /health like a server, and /metrics with text that is not vLLM's.
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model' }] }));
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url === '/metrics' ? 'this is not a Prometheus page\n' : 'ok\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const gw = await startGateway(['--endpoint', `127.0.0.1:${server.address().port}`, '--metrics-names', 'llm-d']);
    live.push(gw);
    const read = async () => {
      const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      const m = /^llm_d_epp_datalayer_extract_errors_total\{extractor_type="core-metrics-extractor",source_type="metrics-data-source"\} (\S+)$/m.exec(text);
      assert.ok(m, 'no llm_d_epp_datalayer_extract_errors_total sample');
      return { extract: Number(m[1]), poll: Number(/^llm_d_epp_datalayer_poll_errors_total\{[^}]*\} (\S+)$/m.exec(text)[1]) };
    };
    for (const deadline = Date.now() + 10000; ;) {
      const { extract, poll } = await read();
      if (extract >= 2) { assert.equal(poll, 0, 'an answered page is not a poll error'); break; }
      assert.ok(Date.now() < deadline, `extract errors stayed at ${extract}`);
      await sleep(50);
    }
  } finally {
    server.close();
  }
});

test('fairness_id is bounded: a value over 128 bytes is counted as "other"', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api, '--metrics-names', 'llm-d']);
  live.push(gw);
  const ask = async (fairness) => {
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-d-inference-fairness-id': fairness },
      body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 2 }) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  };
  await ask('a'.repeat(128));
  await ask('b'.repeat(129));
  await ask('c'.repeat(4000));
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const total = (fairness) => Number(new RegExp(`^llm_d_epp_request_total\\{fairness_id="${fairness}",[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(total('a'.repeat(128)), 1);
  assert.equal(total('other'), 2);
  assert.doesNotMatch(text, /bbbb/);
});
