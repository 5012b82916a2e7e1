// Issue 50: OpenTelemetry traces. A real OTLP/HTTP receiver in the test decodes every body
// with the generated protobuf code npm's @opentelemetry/otlp-transformer ships (built from
// the official opentelemetry-proto definitions, independent of proto/ here), so a wrong
// field number in proto/opentelemetry fails these tests.
//   1. A streamed chat with a client traceparent through the gateway to a sim that exports
//      too: one trace id everywhere, the sim's span under the gateway's attempt span, the
//      request / admission / pick / attempt spans with their GenAI and HTTP attributes, the
//      access log naming the trace; a retried request shows two attempt spans, a migrated
//      stream its migration, a split P/D request its prefill leg.
//   2. The receiver answers 503 for 10 s, then 200: spans arrive late, none twice, and no
//      more than the queue bound is kept (the rest counted as dropped).
//   3. The receiver is down: every request is answered, drops and failures counted.
//   4. A client's not-sampled parent stays unsampled at ratio 1.0; its hostile tracestate
//      is dropped (never forwarded, never exported).
//   5. Through a hub (issue 70): the leaf gateway's server span under the hub's attempt span.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';
import { rawUpstream, jsonReply } from '../proxy/raw_upstream.mjs';

const require = createRequire(import.meta.url);
const otlpRoot = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const ExportRequest = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const MODEL = 'facebook/opt-125m';
const live = [];
const dirs = [];
const servers = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const s of servers) s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const hex = (bytes) => Buffer.from(bytes ?? []).toString('hex');
const value = (v) => {
  if (v == null) return undefined;
  if (v.stringValue != null) return v.stringValue;
  if (v.intValue != null) return Number(v.intValue);
  if (v.doubleValue != null) return v.doubleValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.arrayValue) return v.arrayValue.values.map(value);
  return undefined;
};

// The OTLP/HTTP receiver: POST /v1/traces, protobuf bodies decoded by the official code.
// `status` is what it answers; every accepted span is kept with its service.name.
async function startReceiver() {
  const r = { status: 200, spans: [], accepted: new Map(), posts: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      r.posts += 1;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(404).end();
        return;
      }
      if (r.status !== 200) {
        res.writeHead(r.status).end();
        return;
      }
      const message = ExportRequest.decode(Buffer.concat(chunks));
      for (const rs of message.resourceSpans) {
        const service = value(rs.resource.attributes.find((a) => a.key === 'service.name')?.value);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            const span = {
              service, scope: ss.scope?.name, name: s.name, kind: s.kind,
              traceId: hex(s.traceId), spanId: hex(s.spanId), parentId: hex(s.parentSpanId),
              traceState: s.traceState, flags: s.flags,
              start: BigInt(s.startTimeUnixNano.toString()), end: BigInt(s.endTimeUnixNano.toString()),
              attributes: Object.fromEntries(s.attributes.map((a) => [a.key, value(a.value)])),
              events: s.events.map((e) => e.name), status: s.status?.code ?? 0,
            };
            r.accepted.set(span.spanId, (r.accepted.get(span.spanId) ?? 0) + 1);
            r.spans.push(span);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  r.server = server;
  r.port = server.address().port;
  r.url = `http://127.0.0.1:${r.port}`;
  return r;
}

async function until(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function gateway(lines, extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-trace-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  const log = path.join(dir, 'access.log');
  fs.writeFileSync(config, ['apiVersion: ringgate.io/v1', 'kind: Gateway', ...lines,
    `accessLog: {enabled: true, path: "${log}"}`, ''].join('\n'));
  const gw = await startGateway(['--config', config, '--workers', '1', ...extra]);
  live.push(gw);
  gw.accessLog = log;
  return gw;
}

const staticPool = (sims) => ['pool:', '  discovery:', `    static: [${sims.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]`];

async function sims(count, extra) {
  const out = await Promise.all(Array.from({ length: count }, () => startSim(extra)));
  live.push(...out);
  return out;
}

async function chat(gw, content, headers = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, stream: true, stream_options: { include_usage: true }, max_tokens: 12,
      messages: [{ role: 'user', content }] }),
  });
  const text = await res.text();
  return { status: res.status, text };
}

const usageOf = (text) => {
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const event = JSON.parse(line.slice(6));
    if (event.usage) return event.usage;
  }
  return undefined;
};

// The finish_reason of a streamed answer's last choice that has one.
const finishOf = (text) => {
  let reason;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const choice = JSON.parse(line.slice(6)).choices?.[0];
    if (choice?.finish_reason) reason = choice.finish_reason;
  }
  return reason;
};

const spansOf = (r, traceId) => r.spans.filter((s) => s.traceId === traceId);

// Sends traced chats in batches of 8 until one of their traces is `found`, at most 5
// batches: which server a request goes to is the scheduler's call (a loaded CI machine once
// sent a whole batch to the good server). Each batch waits for its server spans first.
async function sendUntil(receiver, gw, tag, what, found) {
  const sent = [];
  for (let batch = 0; batch < 5; ++batch) {
    for (let i = 0; i < 8; ++i) {
      const id = (batch * 8 + i + 1).toString(16).padStart(32, tag);
      sent.push(id);
      assert.equal((await chat(gw, `${tag} ${batch} ${i}`, { traceparent: `00-${id}-00f067aa0ba902b7-01` })).status, 200);
    }
    const seen = await until(`batch ${batch}'s spans`, () => {
      const id = sent.find(found);
      if (id) return { id };
      return sent.every((t) => spansOf(receiver, t).some((s) => s.kind === KIND_SERVER)) ? { id: undefined } : null;
    });
    if (seen.id) return seen.id;
  }
  assert.fail(`a trace with ${what}: none in ${sent.length} requests`);
}
const KIND_SERVER = 2;
const KIND_CLIENT = 3;

test('a streamed chat is one trace from the client through the gateway to the model server', async () => {
  const receiver = await startReceiver();
  const pool = await sims(1, ['--mode', 'random', '--inter-token-latency-ms', '1',
    '--otlp-traces-endpoint', `${receiver.url}/v1/traces`]);
  const gw = await gateway([...staticPool(pool),
    `tracing: {endpoint: "${receiver.url}", serviceName: ringgate-test, sampleRatio: 0.0}`]);
  await waitRoutable(gw, 1);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  // sampleRatio 0 starts no trace of its own: a sampled parent still is (parent-based).
  const answer = await chat(gw, 'Tell me a story', { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'congo=t61rcWkgMzE' });
  assert.equal(answer.status, 200);
  const usage = usageOf(answer.text);
  assert.ok(usage && usage.completion_tokens > 0);

  const spans = await until('the gateway and sim spans', () => {
    const s = spansOf(receiver, traceId);
    return s.some((x) => x.service === 'vllm') && s.some((x) => x.kind === KIND_SERVER && x.service === 'ringgate-test') && s;
  });
  const server = spans.find((s) => s.service === 'ringgate-test' && s.kind === KIND_SERVER);
  const attempts = spans.filter((s) => s.service === 'ringgate-test' && s.kind === KIND_CLIENT);
  const sim = spans.find((s) => s.service === 'vllm');
  assert.equal(server.parentId, parent, 'the gateway continues the client\'s trace');
  assert.equal(server.name, 'POST /v1/chat/completions');
  assert.equal(server.traceState, 'congo=t61rcWkgMzE');
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0].parentId, server.spanId);
  assert.equal(sim.parentId, attempts[0].spanId, 'the server span hangs under the attempt that reached it');
  assert.equal(sim.name, 'llm_request');
  for (const s of spans) assert.equal(s.traceId, traceId);
  const names = spans.filter((s) => s.service === 'ringgate-test').map((s) => s.name).sort();
  // No admission span: neither flow control nor a rate limit is configured (nothing admits).
  assert.deepEqual(names, ['POST /v1/chat/completions', 'ringgate.attempt', 'ringgate.pick']);
  for (const s of spans.filter((x) => x.service === 'ringgate-test' && x.kind !== KIND_SERVER)) assert.equal(s.parentId, server.spanId);
  const a = server.attributes;
  assert.equal(a['gen_ai.operation.name'], 'chat');
  assert.equal(a['gen_ai.request.model'], MODEL);
  assert.equal(a['gen_ai.response.model'], MODEL);
  assert.equal(a['gen_ai.usage.input_tokens'], usage.prompt_tokens);
  assert.equal(a['gen_ai.usage.output_tokens'], usage.completion_tokens);
  assert.equal(a['http.response.status_code'], 200);
  // A chat stream's id is its chunks' root "id" (a Responses stream's is response.id).
  const chunkId = JSON.parse(answer.text.split('\n').find((l) => l.startsWith('data: {')).slice(6)).id;
  assert.ok(chunkId);
  assert.equal(a['gen_ai.response.id'], chunkId);
  assert.ok(finishOf(answer.text));
  assert.deepEqual(a['gen_ai.response.finish_reasons'], [finishOf(answer.text)]);
  assert.ok(server.events.includes('gen_ai.first_token'));
  assert.equal(sim.attributes['gen_ai.usage.completion_tokens'], usage.completion_tokens);
  const pick = spans.find((s) => s.name === 'ringgate.pick');
  assert.equal(pick.attributes['ringgate.pick.endpoint'], `127.0.0.1:${pool[0].port}`);
  assert.equal(pick.attributes['ringgate.pick.candidates'], 1);
  assert.equal(attempts[0].attributes['ringgate.attempt.outcome'], 'complete');
  assert.equal(attempts[0].attributes['server.port'], pool[0].port);
  assert.ok(server.start <= attempts[0].start && attempts[0].end <= server.end);

  // The access log names the trace and the request's span.
  const line = await until('the access log line', () => {
    const text = fs.existsSync(gw.accessLog) ? fs.readFileSync(gw.accessLog, 'utf8') : '';
    return text.split('\n').find((l) => l.includes(traceId));
  });
  assert.equal(JSON.parse(line).span_id, server.spanId);

  // http.route and the span's name are the route's template (low cardinality), url.path the
  // literal path.
  const routed = '4bf92f3577b34da6a3ce929d0e0e4737';
  const held = await fetch(`${gw.url}/v1/responses/resp_0123456789abcdef0123456789abcdef`,
    { headers: { traceparent: `00-${routed}-${parent}-01` } });
  assert.equal(held.status, 404);
  await held.text();
  const byRoute = await until('the server span of a GET of a response', () =>
    spansOf(receiver, routed).find((x) => x.kind === KIND_SERVER && x.service === 'ringgate-test'));
  assert.equal(byRoute.name, 'GET /v1/responses/{id}');
  assert.equal(byRoute.attributes['http.route'], '/v1/responses/{id}');
  assert.equal(byRoute.attributes['url.path'], '/v1/responses/resp_0123456789abcdef0123456789abcdef');
  assert.equal(byRoute.attributes['http.response.status_code'], 404);
  assert.equal(server.attributes['http.route'], '/v1/chat/completions');

  // A malformed traceparent is ignored: a new trace (not sampled at ratio 0), never a 400.
  const before = receiver.spans.length;
  const bad = await chat(gw, 'again', { traceparent: `00-${traceId.toUpperCase()}-${parent}-01` });
  assert.equal(bad.status, 200);
  await until('the sim span of the unsampled request', () => receiver.spans.length > before);
  await new Promise((r) => setTimeout(r, 500));  // (the gateway would have exported by now)
  const unsampled = receiver.spans.slice(before);
  assert.ok(unsampled.every((s) => s.service === 'vllm' && s.traceId !== traceId && (s.flags & 1) === 0),
    JSON.stringify(unsampled.map((s) => [s.service, s.traceId, s.flags])));
  // The receiver's dump of the trace (docs/operations.md shows one): offsets and durations in µs.
  const t0 = spans.reduce((m, s) => (s.start < m ? s.start : m), spans[0].start);
  console.log(JSON.stringify(spans.map((s) => ({ service: s.service, name: s.name, kind: s.kind, traceId: s.traceId,
    spanId: s.spanId, parentId: s.parentId, startUs: Number(s.start - t0) / 1000, durationUs: Number(s.end - s.start) / 1000,
    attributes: s.attributes, events: s.events })), null, 1));
});

// Issue 71: what a client says of its trace is taken only as the W3C rules allow. A parent
// that says "not sampled" (flags 00) is not sampled, even at sampleRatio 1.0 (the ratio
// decides for traces the gateway starts); a tracestate that is malformed, past 512 bytes
// or past 32 members is dropped: neither forwarded upstream nor exported on a span. One
// at the 512-byte bound is both, as sent.
test('a not-sampled parent is never sampled by the ratio; a hostile tracestate is neither forwarded nor exported', async () => {
  const receiver = await startReceiver();
  const answer = JSON.stringify({ id: 'cmpl-1', object: 'text_completion', model: MODEL,
    choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
  const up = await rawUpstream((socket) => socket.write(jsonReply(answer)));
  servers.push({ close: () => up.stop() });
  const gw = await gateway([...staticPool([up]),
    `tracing: {endpoint: "${receiver.url}", serviceName: ringgate-test, sampleRatio: 1.0}`], ['--model', MODEL]);
  await waitRoutable(gw, 1);
  const parent = '00f067aa0ba902b7';
  // Sends one completion; returns the head the upstream received for it.
  const send = async (traceparent, tracestate) => {
    const headers = { 'content-type': 'application/json', traceparent };
    if (tracestate !== undefined) headers.tracestate = tracestate;
    const before = up.heads.length;
    const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers,
      body: JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 1 }) });
    assert.equal(res.status, 200, await res.text());
    assert.equal(up.heads.length, before + 1);
    return up.heads[before];
  };
  const field = (head, name) => new RegExp(`\r\n${name}: *([^\r]*)\r\n`, 'i').exec(head)?.[1];

  const unsampled = '0af7651916cd43dd8448eb211c80319c';
  const head = await send(`00-${unsampled}-${parent}-00`, 'congo=t61rcWkgMzE');
  assert.match(field(head, 'traceparent') ?? '', new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`),
    'the trace goes on upstream, still not sampled');

  const atBound = `a=${'v'.repeat(254)},b=${'v'.repeat(253)}`;
  assert.equal(atBound.length, 512);
  let members = 'k0=v';
  for (let i = 1; i < 33; ++i) members += `,k${i}=v`;
  const cases = [
    { what: 'malformed (an upper-case key)', state: 'Rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', kept: false },
    { what: 'a member without a value', state: 'congo', kept: false },
    { what: '513 bytes', state: `${atBound}v`, kept: false },
    { what: '33 members', state: members, kept: false },
    { what: '512 bytes', state: atBound, kept: true },
    { what: '32 members', state: members.slice(0, members.lastIndexOf(',')), kept: true },
  ];
  for (const [i, c] of cases.entries()) {
    c.traceId = (i + 1).toString(16).padStart(32, 'c');
    const h = await send(`00-${c.traceId}-${parent}-01`, c.state);
    assert.match(field(h, 'traceparent') ?? '', new RegExp(`^00-${c.traceId}-[0-9a-f]{16}-01$`), c.what);
    assert.equal(field(h, 'tracestate'), c.kept ? c.state : undefined, `${c.what}: forwarded upstream`);
  }
  // Every sampled request's spans, exported after the unsampled one ended.
  const exported = await waitFor('the sampled requests\' spans', () => {
    const all = cases.map((c) => spansOf(receiver, c.traceId).filter((s) => s.service === 'ringgate-test'));
    return all.every((s) => s.some((x) => x.kind === KIND_SERVER) && s.some((x) => x.kind === KIND_CLIENT)) && all;
  }, 20000, 50);
  for (const [i, c] of cases.entries())
    for (const s of exported[i]) assert.equal(s.traceState ?? '', c.kept ? c.state : '', `${c.what}: exported on ${s.name}`);
  assert.deepEqual(spansOf(receiver, unsampled), [], 'a not-sampled parent was sampled');
});

test('a retried request shows two attempt spans; a migrated stream its migration', async () => {
  const receiver = await startReceiver();
  const failing = await sims(1, ['--mode', 'random', '--fail-rate', '1']);
  const good = await sims(1, ['--mode', 'random', '--seed', '3', '--inter-token-latency-ms', '5']);
  const gw = await gateway([...staticPool([...failing, ...good]), 'retries: {budget: 3, deadline: 30s}',
    'health: {ejectAfterFailures: 1000}', `tracing: {endpoint: "${receiver.url}"}`]);
  await waitRoutable(gw, 2);
  const retried = await sendUntil(receiver, gw, 'a', 'two attempts', (id) =>
    spansOf(receiver, id).filter((s) => s.kind === KIND_CLIENT).length === 2);
  const attempts = spansOf(receiver, retried).filter((s) => s.kind === KIND_CLIENT).sort((x, y) => Number(x.start - y.start));
  assert.equal(attempts[0].attributes['http.response.status_code'], 500);
  assert.equal(attempts[0].attributes['server.port'], failing[0].port);
  assert.equal(attempts[1].attributes['http.response.status_code'], 200);
  assert.notEqual(attempts[0].spanId, attempts[1].spanId);
  assert.equal(spansOf(receiver, retried).find((s) => s.kind === KIND_SERVER).attributes['ringgate.attempts'], 2);

  // Migration: a sim that drops every stream mid-way, another that continues it.
  const breaking = await sims(1, ['--mode', 'random', '--seed', '3', '--inter-token-latency-ms', '5', '--fail-mid-stream-rate', '1']);
  const gw2 = await gateway([...staticPool([...breaking, ...good]), 'retries: {budget: 3, deadline: 30s}',
    'health: {ejectAfterFailures: 1000}', `tracing: {endpoint: "${receiver.url}"}`]);
  await waitRoutable(gw2, 2);
  const migrated = await sendUntil(receiver, gw2, 'b', 'a migration', (id) =>
    spansOf(receiver, id).some((s) => s.name === 'ringgate.migration'));
  const legs = spansOf(receiver, migrated).filter((s) => s.kind === KIND_CLIENT).sort((x, y) => Number(x.start - y.start));
  assert.equal(legs[0].name, 'ringgate.attempt');
  assert.equal(legs[0].attributes['ringgate.attempt.outcome'], 'reset');
  const migration = legs.find((s) => s.name === 'ringgate.migration');
  assert.ok(migration.attributes['ringgate.migration.carried_tokens'] > 0);
  assert.equal(migration.attributes['server.port'], good[0].port);
  assert.equal(spansOf(receiver, migrated).find((s) => s.kind === KIND_SERVER).attributes['ringgate.migrations'], 1);
});

test('a split P/D request shows its prefill leg', async () => {
  const receiver = await startReceiver();
  const nixl = (role) => ['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: role })];
  const base = ['--mode', 'random', '--kv-blocks', '16384', '--max-model-len', '16384',
    '--otlp-traces-endpoint', `${receiver.url}/v1/traces`];
  const [prefill] = await sims(1, [...base, ...nixl('kv_producer')]);
  const [decode] = await sims(1, [...base, ...nixl('kv_consumer')]);
  const entry = (s, role) => `      - {address: "127.0.0.1:${s.port}", role: ${role}}`;
  const gw = await gateway(['pool:', '  discovery:', '    static:', entry(prefill, 'prefill'), entry(decode, 'decode'),
    'disaggregation: {nonCachedTokens: 512}', `tracing: {endpoint: "${receiver.url}"}`]);
  await waitRoutable(gw, 2);
  const id = 'c'.repeat(31) + '1';
  const long = 'lorem ipsum dolor sit amet '.repeat(300);
  assert.equal((await chat(gw, long, { traceparent: `00-${id}-00f067aa0ba902b7-01` })).status, 200);
  const spans = await until('the prefill and decode legs', () => {
    const s = spansOf(receiver, id);
    return s.filter((x) => x.service === 'vllm').length === 2 && s.some((x) => x.kind === KIND_SERVER && x.service === 'ringgate') && s;
  });
  const prefillLeg = spans.find((s) => s.name === 'ringgate.prefill');
  const decodeLeg = spans.find((s) => s.name === 'ringgate.decode');
  assert.ok(prefillLeg && decodeLeg, spans.map((s) => s.name).join());
  assert.equal(prefillLeg.attributes['server.port'], prefill.port);
  assert.equal(decodeLeg.attributes['server.port'], decode.port);
  const simSpans = spans.filter((s) => s.service === 'vllm');
  assert.deepEqual(simSpans.map((s) => s.parentId).sort(), [prefillLeg.spanId, decodeLeg.spanId].sort());
  assert.ok(spans.some((s) => s.name === 'ringgate.pick' && s.attributes['ringgate.pick.leg'] === 'prefill'));
});

test('a collector answering 503 for 10 s delays spans, loses none up to the queue bound, sends none twice', async () => {
  const receiver = await startReceiver();
  receiver.status = 503;
  const pool = await sims(1, ['--mode', 'random']);
  const gw = await gateway([...staticPool(pool), `tracing: {endpoint: "${receiver.url}", maxQueueSpans: 40}`]);
  await waitRoutable(gw, 1);
  const started = Date.now();
  // 6 requests of 3 spans each (request, pick, attempt; no admission span: nothing admits
  // without flow control or rate limits): within the bound.
  for (let i = 0; i < 6; ++i) assert.equal((await chat(gw, `early ${i}`)).status, 200);
  await until('a refused export', async () => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_trace_export_failures_total{reason="retryable_status"}') > 0);
  // 10 more: 48 spans waiting against a bound of 40.
  for (let i = 0; i < 10; ++i) assert.equal((await chat(gw, `late ${i}`)).status, 200);
  await new Promise((r) => setTimeout(r, Math.max(0, 10000 - (Date.now() - started))));
  assert.equal(receiver.spans.length, 0);
  receiver.status = 200;
  const metrics = await until('every queued span exported', async () => {
    const m = await scrape(`${gw.adminUrl}/metrics`);
    return m.get('ringgate_trace_spans_queued') === 0 && m.get('ringgate_trace_spans_exported_total') > 0 && m;
  }, 40000);
  assert.equal(metrics.get('ringgate_trace_spans_exported_total'), 40);
  assert.equal(metrics.get('ringgate_trace_spans_dropped_total{reason="queue_full"}'), 48 - 40);
  assert.equal(receiver.spans.length, 40);
  for (const [spanId, n] of receiver.accepted) assert.equal(n, 1, `span ${spanId} exported twice`);
  // The first six requests' spans are all there: delayed, not lost.
  assert.equal(receiver.spans.filter((s) => s.kind === KIND_SERVER).length >= 6, true);
});

test('with the collector down, requests are served and drops are counted', async () => {
  const receiver = await startReceiver();
  const port = receiver.port;
  await new Promise((r) => receiver.server.close(r));
  const pool = await sims(1, ['--mode', 'random']);
  const gw = await gateway([...staticPool(pool), `tracing: {endpoint: "http://127.0.0.1:${port}", maxQueueSpans: 8}`]);
  await waitRoutable(gw, 1);
  for (let i = 0; i < 10; ++i) assert.equal((await chat(gw, `down ${i}`)).status, 200);
  const m = await until('drops and failures counted', async () => {
    const x = await scrape(`${gw.adminUrl}/metrics`);
    return x.get('ringgate_trace_spans_dropped_total{reason="queue_full"}') === 10 * 3 - 8 &&
      x.get('ringgate_trace_export_failures_total{reason="connection"}') > 0 && x;
  });
  assert.equal(m.get('ringgate_trace_spans_exported_total'), 0);
  assert.equal(m.get('ringgate_trace_spans_dropped_total{reason="ring_full"}'), 0);
});

test('through a hub (issue 70): one trace, the leaf gateway\'s server span under the hub\'s attempt span', async () => {
  const receiver = await startReceiver();
  const pool = await sims(1, ['--mode', 'random', '--inter-token-latency-ms', '1',
    '--otlp-traces-endpoint', `${receiver.url}/v1/traces`]);
  const leaf = await gateway([...staticPool(pool), `tracing: {endpoint: "${receiver.url}", serviceName: leaf, sampleRatio: 0.0}`]);
  await waitRoutable(leaf, 1);
  const hub = await gateway(['pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${leaf.port}", kind: gateway, admin: "127.0.0.1:${leaf.adminPort}"}`,
    `tracing: {endpoint: "${receiver.url}", serviceName: hub, sampleRatio: 0.0}`]);
  await waitRoutable(hub, 1);
  const traceId = '7a3f0c1d9e8b4a6f5e4d3c2b1a0f9e8d';
  const answer = await chat(hub, 'Across clusters', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
  assert.equal(answer.status, 200);
  const spans = await until('the hub, leaf and sim spans', () => {
    const s = spansOf(receiver, traceId);
    return ['hub', 'leaf'].every((svc) => [KIND_SERVER, KIND_CLIENT].every((k) => s.some((x) => x.service === svc && x.kind === k))) &&
      s.some((x) => x.service === 'vllm') && s;
  });
  const of = (service, kind) => spans.filter((s) => s.service === service && s.kind === kind);
  const [hubServer, hubAttempt, leafServer, leafAttempt] =
    [of('hub', KIND_SERVER), of('hub', KIND_CLIENT), of('leaf', KIND_SERVER), of('leaf', KIND_CLIENT)].map((x) => {
      assert.equal(x.length, 1, JSON.stringify(spans.map((s) => [s.service, s.name, s.kind])));
      return x[0];
    });
  assert.equal(hubAttempt.parentId, hubServer.spanId);
  assert.equal(hubAttempt.attributes['server.port'], leaf.port, 'the hub\'s attempt went to the leaf');
  assert.equal(leafServer.parentId, hubAttempt.spanId, 'the leaf\'s server span hangs under the hub\'s attempt');
  assert.equal(leafAttempt.parentId, leafServer.spanId);
  assert.equal(spans.find((s) => s.service === 'vllm').parentId, leafAttempt.spanId);
  for (const s of spans) assert.equal(s.traceId, traceId);
});
