#!/usr/bin/env node
// Open-loop load client for OpenAI-API servers (vLLM, ringgate-sim, ringgate, any proxy).
// Library (runLoad) and CLI (`node perf/loadgen/loadgen.mjs --help`). Node built-ins only.
//
// Measures per request: status, time to response headers, TTFT (first SSE chunk that
// carries content text), total time, chunk count, the x-gateway-destination-endpoint
// header; classifies each request into one outcome:
//   ok           2xx; stream ended with data: [DONE] and no error event;
//                non-stream body is JSON with `choices`
//   http_<code>  non-2xx status (body kept as detail)
//   conn_error   no response: refused / reset / closed before headers (detail = code)
//   sse_error    the stream carried an SSE `event: error` or a data object with `error`
//   truncated    2xx stream closed without [DONE] (or non-stream body cut / not JSON)
//   body_error   2xx non-stream body that is JSON without choices (e.g. an error object)
//   timeout      no end within timeoutMs (detail says whether headers had arrived: a hang)
// Requests are sent on schedule whether or not earlier ones finished (open loop, fixed
// rate) or by N closed-loop workers (fixed concurrency). Bounded by duration and/or count.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { makeWorkload, rng32, subSeed, completionPrompt, WORKLOAD_DEFAULTS } from './workload.mjs';

export const DEST_HEADER = 'x-gateway-destination-endpoint';

export const DEFAULTS = {
  url: 'http://127.0.0.1:8080',
  model: 'facebook/opt-125m',
  api: 'completions',          // or 'chat'
  rate: 10,                    // req/s (open loop); ignored when concurrency > 0
  concurrency: 0,              // closed loop with N workers when > 0
  arrival: 'uniform',          // 'uniform' (fixed interval) or 'poisson' (seeded)
  duration: 10,                // seconds of sending (0 = unbounded by time)
  requests: 0,                 // stop after this many sent (0 = unbounded by count)
  streamFraction: 1,           // share of requests sent with stream: true
  maxTokens: 16,
  timeoutMs: 60000,            // per request, from send to end
  seed: 1,
  workload: 'A',
  headers: {},
  records: false,              // return per-request records
  t0: undefined,               // performance.now() origin of record times (default: now)
  timeline: false,             // return a per-second timeline
  extraBody: {},
  // A request that failed on a pooled keep-alive connection before any answer is sent
  // again, once, on a new connection: what HTTP clients do when a server closed an idle
  // connection as the request crossed it (the OpenAI SDK retries it; Envoy calls it a reset
  // before request). Its record keeps the first send's start and counts `retries`.
  retryReused: false,
};
const MAX_DURATION_S = 900, MAX_REQUESTS = 500000, MAX_KEPT_TEXT = 1 << 16;

export function percentiles(values, ps = [50, 90, 99]) {
  const a = Float64Array.from(values).sort();
  const out = { n: a.length };
  if (!a.length) return out;
  let sum = 0;
  for (const v of a) sum += v;
  out.mean = round(sum / a.length);
  for (const p of ps) out[`p${p}`] = round(a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))]);
  out.max = round(a[a.length - 1]);
  return out;
}
const round = (x) => Math.round(x * 100) / 100;

function isLoopback(host) {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

function endpointPath(base, api) {
  const p = base.pathname.replace(/\/+$/, '');
  const tail = api === 'chat' ? '/chat/completions' : '/completions';
  return (p.endsWith('/v1') ? p : p + '/v1') + tail;
}

// Content text of one parsed SSE data object (completions or chat).
function chunkText(obj) {
  const c = obj && Array.isArray(obj.choices) ? obj.choices[0] : undefined;
  if (!c) return '';
  if (typeof c.text === 'string') return c.text;
  if (c.delta && typeof c.delta.content === 'string') return c.delta.content;
  return '';
}

// Sends one request; resolves (never rejects) with its record.
// keepText: also collect the content text of the answer into rec.text (bounded).
// agent false: a connection of its own, closed after the answer.
export function sendOne({ agent, base, path, body, stream, headers, timeoutMs, t0, keepText = false }) {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    const rec = {
      stream, tStart: performance.now() - t0, status: 0, outcome: '', detail: '',
      tHeaders: -1, tFirstContent: -1, tLastContent: -1, contentChunks: 0, tEnd: -1, chunks: 0, bytes: 0, dest: null,
      done: false, sseError: null, text: keepText ? '' : undefined,
    };
    const start = performance.now();
    let finished = false, gotResponse = false, sseBuf = '', bodyBuf = '';
    const finish = (outcome, detail = '') => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      rec.outcome = outcome;
      rec.detail = String(detail).slice(0, 300);
      rec.tEnd = performance.now() - start;
      resolve(rec);
    };
    const req = http.request({
      agent, host: base.hostname, port: base.port || 80, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': payload.length,
        accept: stream ? 'text/event-stream' : 'application/json', ...headers },
    });
    const timer = setTimeout(() => {
      finish('timeout', gotResponse ? `no end after ${timeoutMs} ms (headers received, ${rec.chunks} chunks)` : `no response after ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);

    const onEvent = (block) => {
      let event = 'message', data = '', hasData = false;
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') event = val;
        else if (field === 'data') { data = hasData ? data + '\n' + val : val; hasData = true; }
      }
      if (!hasData && event === 'message') return;
      if (data === '[DONE]') { rec.done = true; return; }
      rec.chunks++;
      let obj = null;
      try { obj = JSON.parse(data); } catch {}
      if (event === 'error' || (obj && obj.error)) {
        if (!rec.sseError) rec.sseError = (obj && obj.error && (obj.error.message || JSON.stringify(obj.error))) || data || 'error event';
        return;
      }
      const t = chunkText(obj);
      if (t) {
        // Each content chunk is one output token (vLLM and the sim stream token by token).
        rec.tLastContent = performance.now() - start;
        if (rec.tFirstContent < 0) rec.tFirstContent = rec.tLastContent;
        rec.contentChunks++;
      }
      if (keepText && t && rec.text.length < MAX_KEPT_TEXT) rec.text += t;
    };

    req.on('response', (res) => {
      gotResponse = true;
      rec.status = res.statusCode;
      rec.tHeaders = performance.now() - start;
      const d = res.headers[DEST_HEADER];
      if (d) rec.dest = Array.isArray(d) ? d[0] : d;
      const ok2xx = res.statusCode >= 200 && res.statusCode < 300;
      const isSse = ok2xx && stream && /event-stream/.test(res.headers['content-type'] || '');
      res.setEncoding('utf8');
      res.on('data', (s) => {
        rec.bytes += s.length;
        if (!isSse) { if (bodyBuf.length < 1 << 20) bodyBuf += s; return; }
        sseBuf += s;
        for (;;) {
          const m = /\r?\n\r?\n/.exec(sseBuf);
          if (!m) break;
          const block = sseBuf.slice(0, m.index);
          sseBuf = sseBuf.slice(m.index + m[0].length);
          onEvent(block);
        }
      });
      const conclude = (how) => {
        if (!ok2xx) return finish(`http_${res.statusCode}`, bodyBuf);
        if (stream) {
          if (!isSse) {
            // A 2xx answer to a stream request that is not SSE: judge it as a body.
            try { const o = JSON.parse(bodyBuf); if (o.error) return finish('body_error', JSON.stringify(o.error)); } catch {}
            return finish('truncated', `not an event stream (${res.headers['content-type']}); ${how}`);
          }
          if (sseBuf.trim()) onEvent(sseBuf);
          if (rec.sseError) return finish('sse_error', rec.sseError);
          if (rec.done) return finish('ok');
          return finish('truncated', `stream closed without [DONE] (${how}, ${rec.chunks} chunks)`);
        }
        let o;
        try { o = JSON.parse(bodyBuf); } catch { return finish('truncated', `body not JSON (${how}, ${bodyBuf.length} bytes)`); }
        if (o && Array.isArray(o.choices)) {
          const c0 = o.choices[0];
          if (keepText && c0) rec.text = String(c0.text ?? c0.message?.content ?? '').slice(0, MAX_KEPT_TEXT);
          if (rec.tFirstContent < 0) rec.tFirstContent = rec.tEnd >= 0 ? rec.tEnd : performance.now() - start;
          return finish('ok');
        }
        return finish('body_error', JSON.stringify(o && o.error ? o.error : o));
      };
      res.on('end', () => conclude('end'));
      res.on('error', (e) => conclude(`error ${e.code || e.message}`));
      res.on('close', () => conclude(res.complete ? 'close' : 'aborted'));
    });
    req.on('error', (e) => {
      // reusedSocket: the request went out on a pooled keep-alive connection (a reset
      // then is often the server closing that connection as the request arrived).
      if (gotResponse) return;
      rec.reusedConnection = req.reusedSocket;
      finish('conn_error', (e.code || e.message) + (req.reusedSocket ? ' (reused keep-alive connection)' : ' (new connection)'));
      // errors after the response started are concluded by the response handlers
    });
    req.end(payload);
  });
}

// Runs a load; resolves with the summary (and records/timeline when asked).
export async function runLoad(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const base = new URL(o.url);
  if (!isLoopback(base.hostname)) throw new Error(`refusing non-loopback target ${base.hostname}`);
  if (!(o.duration > 0) && !(o.requests > 0)) throw new Error('bound the run: duration and/or requests');
  if (o.duration > MAX_DURATION_S || o.requests > MAX_REQUESTS) throw new Error('run too large');
  if (!(o.concurrency > 0) && !(o.rate > 0)) throw new Error('need rate > 0 or concurrency > 0');
  // C's answers are the sim's echo of max_tokens tokens unless told otherwise.
  const wl = o.workloadObj ?? makeWorkload({ answerTokens: o.maxTokens, ...(o.workloadOptions || {}), kind: o.workload, seed: o.seed });
  // Workload C is chat histories: always the chat API.
  const api = wl.kind === 'C' ? 'chat' : o.api;
  const path = endpointPath(base, api);
  const streamRand = rng32(subSeed(o.seed, 'stream'));
  const arrivalRand = rng32(subSeed(o.seed, 'arrival'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 1000 });
  // t0 (a performance.now() value) may be given so a caller can time events on the
  // same clock as the records' tStart.
  const t0 = o.t0 ?? performance.now();
  // o.route(req), when given, names each request's server (a base URL on loopback, the
  // same path as o.url): a router played by the client, e.g. perf/routing's oracle row.
  const routed = (url) => {
    const u = new URL(url);
    if (!isLoopback(u.hostname)) throw new Error(`refusing non-loopback target ${u.hostname}`);
    return u;
  };
  const records = [];
  const inflight = new Set();
  let sent = 0, stopped = false;
  const wallStart = Date.now();

  const buildBody = (req, stream) => {
    // The prompt goes first in the JSON, so a proxy hashing the body's first bytes (see
    // perf/routing haproxy-hash) sees the prompt's start.
    const body = req.messages ? { messages: req.messages }
      : api === 'chat'
      ? { messages: [{ role: 'system', content: req.system }, { role: 'user', content: req.user }] }
      : { prompt: completionPrompt(req) };
    return Object.assign(body, { model: o.model, max_tokens: o.maxTokens, temperature: 0, stream, ...o.extraBody });
  };
  const due = () => !stopped && !(o.requests > 0 && sent >= o.requests) &&
    !(o.duration > 0 && performance.now() - t0 >= o.duration * 1000);
  const fire = (scheduledAt) => {
    const req = wl.next();
    const stream = streamRand() < o.streamFraction;
    const i = sent++;
    const keepText = req.answer !== undefined;
    const target = o.route ? routed(o.route(req)) : base;
    const send = (via) => sendOne({ agent: via, base: target, path, body: buildBody(req, stream), stream, headers: o.headers, timeoutMs: o.timeoutMs, t0, keepText });
    const p = send(agent)
      .then((rec) => {
        if (!(o.retryReused && rec.outcome === 'conn_error' && rec.reusedConnection)) return rec;
        return send(false).then((again) => {
          const shift = again.tStart - rec.tStart;  // its times count from the first send
          for (const k of ['tHeaders', 'tFirstContent', 'tEnd']) if (again[k] >= 0) again[k] += shift;
          return Object.assign(again, { tStart: rec.tStart, retries: 1, firstDetail: rec.detail });
        });
      })
      .then((rec) => {
        rec.i = i; rec.promptId = req.promptId;
        // Workload C appends its own copy of the answer to the history; count the
        // answers that differ from what the server actually returned.
        if (keepText) { rec.answerMatches = rec.outcome !== 'ok' || rec.text === req.answer; if (!o.records) delete rec.text; }
        if (scheduledAt !== undefined) rec.lagMs = round(rec.tStart - scheduledAt);
        records[i] = rec;
        inflight.delete(p);
        return rec;
      });
    inflight.add(p);
    return p;
  };
  const onAbort = () => { stopped = true; };
  if (o.signal) o.signal.addEventListener('abort', onAbort);

  if (o.concurrency > 0) {
    const worker = async () => { while (due()) await fire(); };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } else {
    await new Promise((resolve) => {
      let next = 0; // ms since t0 of the next send
      const gap = () => (o.arrival === 'poisson' ? -Math.log(1 - arrivalRand()) : 1) * 1000 / o.rate;
      const tick = () => {
        const now = performance.now() - t0;
        while (next <= now) {
          if (!due()) return resolve();
          fire(next);
          next += gap();
        }
        if (!due()) return resolve();
        setTimeout(tick, Math.max(0, next - (performance.now() - t0)));
      };
      tick();
    });
  }
  const sendEnd = performance.now() - t0;
  while (inflight.size) await Promise.all([...inflight]);
  const end = performance.now() - t0;
  if (o.signal) o.signal.removeEventListener('abort', onAbort);
  agent.destroy();

  const summary = summarize(records, { sendEnd, end });
  summary.config = {
    url: o.url, model: o.model, api, workload: wl.kind, seed: o.seed,
    mode: o.concurrency > 0 ? `concurrency ${o.concurrency}` : `rate ${o.rate}/s ${o.arrival}`,
    duration: o.duration, requests: o.requests, streamFraction: o.streamFraction, maxTokens: o.maxTokens,
    startedAt: new Date(wallStart).toISOString(),
  };
  if (o.timeline) summary.timeline = timeline(records);
  if (o.records) summary.records = records;
  return summary;
}

// Time per output token of one streamed request, in ms: (last content chunk − first) /
// (content chunks − 1); null for a stream of fewer than two content chunks or a non-stream.
export function tpotOf(r) {
  if (!r.stream || !(r.contentChunks >= 2) || r.tFirstContent < 0) return null;
  return round((r.tLastContent - r.tFirstContent) / (r.contentChunks - 1));
}

export function summarize(records, { sendEnd, end }) {
  const outcomes = {}, byMode = { stream: {}, nonstream: {} }, dests = {};
  const ttft = [], tpot = [], lat = [], lags = [], chunks = [];
  let ok = 0, retried = 0, answersChecked = 0, answerMismatches = 0;
  for (const r of records) {
    if (!r) continue;
    if (r.answerMatches !== undefined && r.outcome === 'ok') { answersChecked++; if (!r.answerMatches) answerMismatches++; }
    outcomes[r.outcome] = (outcomes[r.outcome] || 0) + 1;
    const m = byMode[r.stream ? 'stream' : 'nonstream'];
    m[r.outcome] = (m[r.outcome] || 0) + 1;
    if (r.dest) dests[r.dest] = (dests[r.dest] || 0) + 1;
    if (r.lagMs !== undefined) lags.push(r.lagMs);
    if (r.retries) retried++;
    if (r.outcome !== 'ok') continue;
    ok++;
    lat.push(r.tEnd);
    if (r.stream) {
      if (r.tFirstContent >= 0) ttft.push(r.tFirstContent);
      chunks.push(r.chunks);
      const t = tpotOf(r);
      if (t !== null) tpot.push(t);
    }
  }
  const sent = records.filter(Boolean).length;
  return {
    sent, ok, failed: sent - ok, retried,
    outcomes, byMode,
    sendSeconds: round(sendEnd / 1000), wallSeconds: round(end / 1000),
    offeredRps: round(sent / (sendEnd / 1000)),
    achievedRps: round(ok / (end / 1000)),
    ttftMs: percentiles(ttft), tpotMs: percentiles(tpot), latencyMs: percentiles(lat),
    chunksPerStream: percentiles(chunks, [50]),
    scheduleLagMs: percentiles(lags, [99]),
    destinations: Object.keys(dests).length ? dests : null,
    ...(answersChecked ? { answersChecked, answerMismatches } : {}),
  };
}

// Per second of send time: sent, ok, failures by outcome, destinations, mean TTFT.
export function timeline(records) {
  const secs = [];
  for (const r of records) {
    if (!r) continue;
    const s = Math.floor(r.tStart / 1000);
    const b = (secs[s] ??= { t: s, sent: 0, ok: 0, failed: {}, dest: {}, ttftSum: 0, ttftN: 0 });
    b.sent++;
    if (r.outcome === 'ok') b.ok++; else b.failed[r.outcome] = (b.failed[r.outcome] || 0) + 1;
    if (r.dest) b.dest[r.dest] = (b.dest[r.dest] || 0) + 1;
    if (r.outcome === 'ok' && r.stream && r.tFirstContent >= 0) { b.ttftSum += r.tFirstContent; b.ttftN++; }
  }
  return secs.filter(Boolean).map(({ ttftSum, ttftN, ...b }) => ({ ...b, ttftMeanMs: ttftN ? round(ttftSum / ttftN) : null }));
}

// ---------------------------------------------------------------- CLI
const HELP = `usage: node perf/loadgen/loadgen.mjs [options]
  --url URL              server base URL (loopback only)         [${DEFAULTS.url}]
  --model M                                                       [${DEFAULTS.model}]
  --api completions|chat                                          [${DEFAULTS.api}]
  --rate R               open loop, R requests/s                  [${DEFAULTS.rate}]
  --arrival uniform|poisson                                       [${DEFAULTS.arrival}]
  --concurrency N        closed loop with N workers instead of --rate
  --duration S           seconds of sending (0 = no time bound)   [${DEFAULTS.duration}]
  --requests N           stop after N requests (0 = no count bound)
  --stream-fraction F    share of streaming requests, 0..1        [${DEFAULTS.streamFraction}]
  --max-tokens N                                                  [${DEFAULTS.maxTokens}]
  --timeout-ms MS        per-request limit (counts as 'timeout')  [${DEFAULTS.timeoutMs}]
  --workload A|B|C       A shared prefixes (Zipf), B all unique,  [${DEFAULTS.workload}]
                         C multi-turn chat histories (chat API; answers = the sim's --mode echo text)
  --seed N                                                        [${DEFAULTS.seed}]
  --prompts N --min-bytes N --max-bytes N --zipf S                [${WORKLOAD_DEFAULTS.prompts} ${WORKLOAD_DEFAULTS.minBytes} ${WORKLOAD_DEFAULTS.maxBytes} ${WORKLOAD_DEFAULTS.zipf}]
  --conversations N --turns MIN-MAX --answer-tokens N   (C)     [${WORKLOAD_DEFAULTS.conversations} ${WORKLOAD_DEFAULTS.minTurns}-${WORKLOAD_DEFAULTS.maxTurns} ${WORKLOAD_DEFAULTS.answerTokens}]
  --header 'name: value' (repeatable)
  --retry-reused         send a request that failed on a pooled connection before any answer
                         again, once, on a new connection (as HTTP clients do); counted as retried
  --timeline             add a per-second timeline to the summary
  --records-out FILE     write per-request records (JSON lines)
Prints one JSON summary on stdout.`;

export function parseArgs(argv) {
  const o = { workloadOptions: {}, headers: {} };
  const num = (v, k) => { const n = Number(v); if (!Number.isFinite(n)) throw new Error(`${k}: not a number: ${v}`); return n; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    switch (a) {
      case '--help': case '-h': o.help = true; break;
      case '--url': o.url = val(); break;
      case '--model': o.model = val(); break;
      case '--api': o.api = val(); if (!['chat', 'completions'].includes(o.api)) throw new Error('--api chat|completions'); break;
      case '--rate': o.rate = num(val(), a); break;
      case '--arrival': o.arrival = val(); break;
      case '--concurrency': o.concurrency = num(val(), a); break;
      case '--duration': o.duration = num(val(), a); break;
      case '--requests': o.requests = num(val(), a); break;
      case '--stream-fraction': o.streamFraction = num(val(), a); break;
      case '--max-tokens': o.maxTokens = num(val(), a); break;
      case '--timeout-ms': o.timeoutMs = num(val(), a); break;
      case '--workload': o.workload = val().toUpperCase(); break;
      case '--seed': o.seed = num(val(), a); break;
      case '--prompts': o.workloadOptions.prompts = num(val(), a); break;
      case '--min-bytes': o.workloadOptions.minBytes = num(val(), a); break;
      case '--max-bytes': o.workloadOptions.maxBytes = num(val(), a); break;
      case '--zipf': o.workloadOptions.zipf = num(val(), a); break;
      case '--conversations': o.workloadOptions.conversations = num(val(), a); break;
      case '--answer-tokens': o.workloadOptions.answerTokens = num(val(), a); break;
      case '--turns': {
        const m = /^(\d+)-(\d+)$/.exec(val());
        if (!m) throw new Error('--turns MIN-MAX');
        o.workloadOptions.minTurns = Number(m[1]); o.workloadOptions.maxTurns = Number(m[2]);
        break;
      }
      case '--header': { const h = val(); const c = h.indexOf(':'); o.headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim(); break; }
      case '--timeline': o.timeline = true; break;
      case '--retry-reused': o.retryReused = true; break;
      case '--records-out': o.recordsOut = val(); o.records = true; break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  return o;
}

async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  if (o.help) { console.log(HELP); return; }
  const ac = new AbortController();
  process.once('SIGINT', () => { console.error('interrupted: stopping sends, waiting for in-flight requests'); ac.abort(); });
  const s = await runLoad({ ...o, signal: ac.signal });
  if (o.recordsOut) {
    writeFileSync(o.recordsOut, s.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    delete s.records;
  }
  console.log(JSON.stringify(s, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) main().catch((e) => { console.error(e.stack || e.message); process.exit(1); });
