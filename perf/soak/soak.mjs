// The soak driver behind soak.sh (see there). Everything on 127.0.0.1.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { start, stop, binaries } from '../../tests/lib/procs.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const MODEL = 'facebook/opt-125m';
const ALIAS = 'soak-alias';
const CONCURRENCY = 12;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-soak-'));
const configPath = path.join(dir, 'ringgate.yaml');

const simArgs = ['--model', MODEL, '--inter-token-latency-ms', '2', '--max-num-seqs', '64', '--kv-blocks', '4096'];
const sims = [];
for (let i = 0; i < 3; ++i) sims.push(await start(binaries.sim, ['--host', '127.0.0.1', '--port', '0', ...simArgs]));
const simPorts = sims.map((s) => s.port);

let reloads = 0;
function writeConfig() {
  const w = 50 + (reloads % 2) * 40;
  fs.writeFileSync(configPath, `apiVersion: ringgate.io/v1
kind: Gateway
pool:
  name: soak
  discovery: {static: [${simPorts.map((p) => `"127.0.0.1:${p}"`).join(', ')}]}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: soak-rule}
spec:
  rules:
  - matches: [{model: {type: Exact, value: ${ALIAS}}}]
    targets: [{modelRewrite: ${MODEL}, weight: ${w}}, {modelRewrite: ${MODEL}, weight: ${100 - w}}]
`);
}
writeConfig();
const gw = await start(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2', '--config', configPath]);

// ---- outcomes --------------------------------------------------------------------------
const counts = {};
const unexpected = [];
function count(kind, outcome, ok) {
  const key = `${kind}:${outcome}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (!ok && unexpected.length < 50) unexpected.push({ t: ((performance.now() - t0) / 1000).toFixed(1), kind, outcome });
  if (!ok) counts['UNEXPECTED'] = (counts['UNEXPECTED'] ?? 0) + 1;
}
let restartsInProgress = 0;  // a sim is down: a broken stream then is expected
const post = (body, opts = {}) => fetch(`${gw.url}/v1/${body.messages ? 'chat/completions' : 'completions'}`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...opts,
});

async function plain() {
  const r = await post({ model: Math.random() < 0.3 ? ALIAS : MODEL, prompt: `soak ${Math.random()} `.repeat(8), max_tokens: 8 });
  const body = await r.text();
  count('plain', r.status, r.status === 200 && body.includes('choices'));
}
async function streaming() {
  const r = await post({ model: MODEL, stream: true, max_tokens: 24,
    messages: [{ role: 'system', content: 'You are a soak test.' }, { role: 'user', content: `hi ${Math.random()}` }] });
  const text = await r.text();
  const complete = text.includes('data: [DONE]');
  const brokenByRestart = !complete && restartsInProgress > 0;
  count('stream', complete ? 'done' : brokenByRestart ? 'broken-during-sim-restart' : `incomplete-${r.status}`,
    r.status === 200 && (complete || brokenByRestart));
}
async function cancelled() {
  const ac = new AbortController();
  try {
    const r = await post({ model: MODEL, stream: true, max_tokens: 200, prompt: 'cancel me' }, { signal: ac.signal });
    const reader = r.body.getReader();
    await reader.read();
    ac.abort();
    count('cancel', 'aborted', true);
  } catch (e) {
    count('cancel', e.name === 'AbortError' ? 'aborted' : e.message, e.name === 'AbortError');
  }
}
async function malformed() {
  const cases = [
    ['bad-json', () => fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' }), 400],
    ['huge-model', () => post({ model: 'm'.repeat(1 << 20), prompt: 'x' }), 400],
    ['ctl-model', () => post({ model: 'a\u001fb', prompt: 'x' }), 400],
    ['unknown-model', () => post({ model: `nope-${Math.random()}`, prompt: 'x' }), 404],
    ['bad-method', () => fetch(`${gw.url}/v1/completions`), 405],
  ];
  const [name, send, want] = cases[Math.floor(Math.random() * cases.length)];
  const r = await send();
  const body = await r.text();
  count('malformed', `${name}-${r.status}`, r.status === want && body.includes('"error"'));
}
// A client that sends its request a few bytes at a time, then reads the answer.
function slowClient() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: MODEL, prompt: 'slow client', max_tokens: 4 });
    const req = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const s = net.connect(gw.port, '127.0.0.1');
    let reply = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i >= req.length) { clearInterval(timer); return; }
      s.write(req.slice(i, i + 16));
      i += 16;
    }, 20);
    s.on('data', (d) => { reply += d; });
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      const status = reply.slice(9, 12);
      count('slow', status || 'no-answer', status === '200');
      resolve();
    });
  });
}

const kinds = [[plain, 40], [streaming, 25], [cancelled, 10], [malformed, 15], [slowClient, 5]];
const totalWeight = kinds.reduce((a, [, w]) => a + w, 0);
function pick() {
  let x = Math.random() * totalWeight;
  for (const [fn, w] of kinds) { if ((x -= w) < 0) return fn; }
  return plain;
}

// ---- the run ---------------------------------------------------------------------------
const t0 = performance.now();
const deadline = t0 + SECONDS * 1000;
let stopping = false;
const workers = Array.from({ length: CONCURRENCY }, async () => {
  while (!stopping && performance.now() < deadline) {
    const fn = pick();
    try { await fn(); } catch (e) { count(fn.name, `exception:${e.cause?.code ?? e.message}`, restartsInProgress > 0); }
  }
});

function rssMB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}
const rss = [];
const sampler = setInterval(() => rss.push([Math.round((performance.now() - t0) / 1000), Number(rssMB(gw.proc.pid).toFixed(1))]), 10000);
rss.push([0, Number(rssMB(gw.proc.pid).toFixed(1))]);

const chaos = (async () => {
  let next = 0;
  for (let tick = 1; performance.now() < deadline - 5000; ++tick) {
    await sleep(30000 - ((performance.now() - t0) % 30000));
    if (performance.now() >= deadline - 5000) break;
    ++reloads;
    writeConfig();  // the file watcher sees it; every other time also SIGHUP
    if (reloads % 2) gw.proc.kill('SIGHUP');
    if (tick % 2 === 0) {
      const i = next++ % sims.length;
      restartsInProgress++;
      await stop(sims[i].proc, 'SIGKILL');
      await sleep(3000);
      sims[i] = await start(binaries.sim, ['--host', '127.0.0.1', '--port', String(simPorts[i]), ...simArgs]);
      await sleep(2000);  // a stream that broke with the sim is expected until the pool re-probed it
      restartsInProgress--;
    }
  }
})();

await Promise.all(workers);
stopping = true;
await chaos;
clearInterval(sampler);
rss.push([Math.round((performance.now() - t0) / 1000), Number(rssMB(gw.proc.pid).toFixed(1))]);
const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
const pick_metric = (name) => metrics.split('\n').filter((l) => l.startsWith(name)).join('\n');
await stop(gw.proc, 'SIGTERM');
for (const s of sims) await stop(s.proc, 'SIGKILL');

const warm = rss.find(([t]) => t >= 60)?.[1] ?? rss[0][1];
const last = rss.at(-1)[1];
const flat = last <= warm * 1.2 + 8;
console.log(JSON.stringify({ seconds: SECONDS, reloads, rss_mb: rss, counts, unexpected }, null, 1));
console.log(pick_metric('ringgate_config_reload'));
console.log(pick_metric('inference_objective_request_error_total'));
console.log(`RSS after warm-up ${warm} MB -> end ${last} MB: ${flat ? 'flat' : 'GROWING'}; unexpected outcomes: ${counts.UNEXPECTED ?? 0}`);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(flat && !counts.UNEXPECTED ? 0 : 1);
