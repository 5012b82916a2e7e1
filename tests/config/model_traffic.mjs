// A small bounded HTTP client for the config integration tests: sends non-streaming
// completions over keep-alive connections and counts answers by the response's
// "model" field (what the server actually served), by status, and by connection error.
//
//   closedLoop({url, total, concurrency, body, headers})    N clients, each sends the next
//                                                          request when its last one ended
//   openLoop({url, rate, durationMs, body, maxInFlight, records, stopWhen})   sends on a fixed schedule
//
// Both resolve with a Tally; openLoop also returns one record per request (send time,
// status, model) so a caller can split the run into phases.
import http from 'node:http';

export class Tally {
  constructor() {
    this.sent = 0;
    this.ok = 0;
    this.byModel = new Map();   // response "model" -> count (2xx only)
    this.byStatus = new Map();  // HTTP status -> count
    this.connErrors = 0;        // no response at all (reset, refused, timeout)
    this.samples = [];          // first few failures, for messages
  }
  add(r) {
    this.sent++;
    if (r.status === 0) {
      this.connErrors++;
    } else {
      this.byStatus.set(r.status, (this.byStatus.get(r.status) ?? 0) + 1);
      if (r.status >= 200 && r.status < 300) {
        this.ok++;
        this.byModel.set(r.model, (this.byModel.get(r.model) ?? 0) + 1);
      }
    }
    if ((r.status < 200 || r.status >= 300) && this.samples.length < 5) this.samples.push(r);
  }
  get failures() { return this.sent - this.ok; }
  share(model) { return this.ok ? (this.byModel.get(model) ?? 0) / this.ok : 0; }
  summary() {
    return { sent: this.sent, ok: this.ok, connErrors: this.connErrors,
      byStatus: Object.fromEntries(this.byStatus), byModel: Object.fromEntries(this.byModel), samples: this.samples };
  }
}

// One POST; resolves (never rejects) with {status, model, error, body}.
export function post(agent, url, path, body, headers = {}, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    let done = false;
    const finish = (r) => { if (!done) { done = true; clearTimeout(timer); resolve(r); } };
    const req = http.request(url + path, {
      agent, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': payload.length, ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { if (text.length < 1 << 16) text += s; });
      res.on('end', () => {
        let model = null;
        try { model = JSON.parse(text).model ?? null; } catch {}
        finish({ status: res.statusCode, model, body: text, headers: res.headers });
      });
      res.on('error', (e) => finish({ status: 0, error: `response: ${e.code ?? e.message}` }));
    });
    const timer = setTimeout(() => { req.destroy(); finish({ status: 0, error: `timeout after ${timeoutMs} ms` }); }, timeoutMs);
    req.on('error', (e) => finish({ status: 0, error: `${e.code ?? e.message}${req.reusedSocket ? ' (reused socket)' : ''}` }));
    req.end(payload);
  });
}

export function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

// `concurrency` clients on `concurrency` keep-alive connections until `total` were sent.
export async function closedLoop({ url, total, concurrency, body, headers = {}, path = '/v1/completions' }) {
  const agent = keepAliveAgent(concurrency);
  const tally = new Tally();
  let next = 0;
  const started = performance.now();
  const client = async () => {
    while (next < total) {
      next++;
      tally.add(await post(agent, url, path, body, headers));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  tally.elapsedMs = performance.now() - started;
  return tally;
}

// Sends `rate` requests per second for `durationMs` (in 5 ms ticks), at most
// `maxInFlight` at once (a tick that finds the cap reached sends fewer: counted in
// `behind`). `bodyAt(i)` may vary the body. Resolves when every request has ended.
// `records` (optional): an array the records are appended to as answers arrive, for a
// caller that watches progress; `stopWhen` (optional): checked every tick, ends the
// schedule early (durationMs is then a cap).
export async function openLoop({ url, rate, durationMs, body, bodyAt, headers = {}, maxInFlight = 256,
                                 path = '/v1/completions', records = [], stopWhen = () => false }) {
  const agent = keepAliveAgent(maxInFlight);
  const tally = new Tally();
  const pending = new Set();
  let sent = 0, behind = 0;
  const skipped = [];  // {t, n}: ticks that found maxInFlight requests pending
  const t0 = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now() - t0;
      const due = Math.min(Math.floor((Math.min(now, durationMs) * rate) / 1000), Math.ceil((durationMs * rate) / 1000));
      while (sent < due) {
        if (pending.size >= maxInFlight) { skipped.push({ t: Math.round(now), n: due - sent }); behind += due - sent; sent = due; break; }
        const i = sent++;
        const record = { i, t: performance.now() - t0 };
        const p = post(agent, url, path, bodyAt ? bodyAt(i) : body, headers).then((r) => {
          Object.assign(record, { status: r.status, model: r.model, error: r.error, end: performance.now() - t0 });
          tally.add(r);
          records.push(record);
          pending.delete(p);
        });
        pending.add(p);
      }
      if (now >= durationMs || stopWhen()) return resolve();
      setTimeout(tick, 5);
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  tally.elapsedMs = performance.now() - t0;
  tally.behind = behind;
  tally.skipped = skipped;
  records.sort((a, b) => a.i - b.i);
  return { tally, records };
}

// Share of `model` among the 2xx records sent in [from, to) ms.
export function shareIn(records, model, from, to) {
  let n = 0, hit = 0;
  for (const r of records) {
    if (r.t < from || r.t >= to || !(r.status >= 200 && r.status < 300)) continue;
    n++;
    if (r.model === model) hit++;
  }
  return { n, share: n ? hit / n : NaN };
}
