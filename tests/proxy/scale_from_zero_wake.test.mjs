// The scale-from-zero wake hook (issue 66, scaleFromZero.wakeUrl): while requests wait for a
// model with no ready server, the control thread POSTs {"model", "held"} to the hook once per
// model per wakeInterval, whatever the number of held requests and of workers; a hook that
// never answers is a counted failure and delays no request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, scrape } from '../lib/procs.mjs';
import { waitFor, timeScale } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-s0w-'));
const procs = [];
const servers = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  for (const s of servers) { s.closeAllConnections?.(); s.close(); }
  rmSync(dir, { recursive: true, force: true });
});

// The pool "starts empty": its one endpoint (127.0.0.1:1) never answers.
function writeConfig(name, extra) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["127.0.0.1:1"]}}
${extra}
`);
  return file;
}

// A hook that records each POST ({at, body}); `answer` false: it never answers.
async function startHook(answer = true) {
  const posts = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      posts.push({ at: performance.now(), method: req.method, url: req.url, type: req.headers['content-type'], body });
      if (answer) res.end('ok');
    });
  });
  servers.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { posts, url: `http://127.0.0.1:${server.address().port}/wake` };
}

function ask(gw) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ model: MODEL, prompt: `hello ${Math.random()}`, max_tokens: 4 });
    const req = http.request(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        const at = performance.now();
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, at }));
      });
    req.on('error', reject);
    req.end(payload);
  });
}

function sumOf(m, prefix) {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) n += v;
  return n;
}

test('50 requests held ~2.5 s over 2 workers, wakeInterval 1s: 2-4 POSTs for the model, not 50', { timeout: 30000 }, async (t) => {
  const hook = await startHook();
  const file = writeConfig('wake', `flowControl: {noEndpointRequestTTL: 2500ms}
scaleFromZero: {wakeUrl: "${hook.url}", wakeInterval: 1s}`);
  const gw = await startGateway(['--workers', '2', '--config', file]);
  procs.push(gw);
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: 50 }, () => ask(gw)));
  for (const r of answers) {
    assert.equal(r.status, 503, r.body);
    assert.equal(r.headers['x-llm-d-request-dropped-reason'], 'rejected-no-endpoints');
  }
  const posts = hook.posts.filter((p) => JSON.parse(p.body).model === MODEL);
  t.diagnostic(`POSTs at ${posts.map((p) => (p.at - t0).toFixed(0)).join(', ')} ms: ` +
    posts.map((p) => p.body).join(' '));
  assert.equal(posts.length, hook.posts.length, `a POST for another model: ${hook.posts.map((p) => p.body)}`);
  assert.ok(posts.length >= 2 && posts.length <= 4, `${posts.length} POSTs`);
  for (const p of posts) {
    assert.equal(p.method, 'POST');
    assert.equal(p.url, '/wake');
    assert.equal(p.type, 'application/json');
    assert.ok(JSON.parse(p.body).held >= 1 && JSON.parse(p.body).held <= 50, p.body);
  }
  // One interval at least between two POSTs for the model (less 100 ms, the hook's scan step).
  for (let i = 1; i < posts.length; ++i) assert.ok(posts[i].at - posts[i - 1].at >= 900, 'two POSTs within an interval');
  // The workers' held requests summed: a POST once all 50 wait says 50 (each worker alone holds fewer).
  assert.equal(Math.max(...posts.map((p) => JSON.parse(p.body).held)), 50);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.equal(m.get(`ringgate_scale_from_zero_wakes_total{model="${MODEL}"}`), posts.length);
  assert.equal(m.get('ringgate_scale_from_zero_wake_failures_total'), 0);
});

test('a hook that never answers: failures counted, held requests answered on time', { timeout: 30000 }, async (t) => {
  const hook = await startHook(false);
  const file = writeConfig('silent', `flowControl: {noEndpointRequestTTL: 2500ms}
scaleFromZero: {wakeUrl: "${hook.url}", wakeInterval: 500ms}`);
  const gw = await startGateway(['--workers', '2', '--config', file]);
  procs.push(gw);
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: 4 }, () => ask(gw)));
  for (const r of answers) {
    assert.equal(r.status, 503, r.body);
    assert.ok(r.at - t0 <= 2500 + 500 * timeScale, `answered after ${r.at - t0} ms`);
  }
  // Each POST times out after the interval (500 ms): the next one goes on a new connection.
  await waitFor('a failure counted', async () =>
    sumOf(await scrape(`${gw.adminUrl}/metrics`), 'ringgate_scale_from_zero_wake_failures_total') >= 1);
  t.diagnostic(`${hook.posts.length} POSTs while held`);
  assert.ok(hook.posts.length >= 2 && hook.posts.length <= 6, `${hook.posts.length} POSTs`);
  // The admin port answers while a POST hangs.
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok(m.get(`ringgate_scale_from_zero_wakes_total{model="${MODEL}"}`) >= 2);
});

test('an https wakeUrl: the gateway does not start, naming the field', { timeout: 20000 }, async () => {
  const file = writeConfig('bad', 'scaleFromZero: {wakeUrl: "https://127.0.0.1:8443/wake"}');
  await assert.rejects(startGateway(['--config', file], { timeoutMs: 5000 }), /scaleFromZero\.wakeUrl/);
});
