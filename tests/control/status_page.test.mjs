// Issue 36: the live status page on the admin port (GET :9090/), in a real browser:
// Debian's chromium driven by playwright-core, against a gateway with 3 sims under load.
// The page must show 3 healthy endpoints, a killed sim as unhealthy (and its event)
// within 2 s, a hostile model name as text, and answer the pick box; any console error
// fails the test. Screenshots go to the build directory (tests/control/status_page/).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';
import { runLoad } from '../../perf/loadgen/loadgen.mjs';

const MODEL = 'facebook/opt-125m';
// An alias a hostile config author (or a rewrite CRD) could name: it reaches the page
// through /metrics labels and the pick box's model list.
const HOSTILE = 'chat<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const CHROMIUM = '/usr/bin/chromium';
const buildDir = process.env.RINGGATE_BUILD_DIR ?? path.resolve(import.meta.dirname, '../../build');
const shots = path.join(buildDir, 'tests/control/status_page');
const SIM_ARGS = ['--model', MODEL, '--lora', 'opt-v2', '--max-loras', '2', '--inter-token-latency-ms', '10',
  '--prefill-overhead-ms', '20'];

const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-status-page-'));
let context = null;
const stopLoad = new AbortController();
let load = null;
after(async () => {
  stopLoad.abort();
  await load?.catch(() => {});
  await context?.close();
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function setup() {
  const sims = await Promise.all([startSim(SIM_ARGS), startSim(SIM_ARGS), startSim(SIM_ARGS)]);
  live.push(...sims);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${sims.map((s) => JSON.stringify(s.api)).join(', ')}]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  rules:
  - matches: [{model: {type: Exact, value: ${JSON.stringify(HOSTILE)}}}]
    targets: [{modelRewrite: ${MODEL}, weight: 90}, {modelRewrite: opt-v2, weight: 10}]
`);
  const gw = await startGateway(['--config', config, '--workers', '2']);
  live.push(gw);
  await waitRoutable(gw, 3);
  return { sims, gw };
}

// Load until the test ends: the alias (split 90/10) and the base model, half streamed.
// Requests to the killed sim may fail; only the page is under test here.
function startLoad(gw) {
  const common = { url: gw.url, duration: 120, streamFraction: 0.5, maxTokens: 16, timeoutMs: 10000,
    workload: 'A', workloadOptions: { minBytes: 256, maxBytes: 1024, prompts: 8 }, signal: stopLoad.signal };
  return Promise.all([
    runLoad({ ...common, model: HOSTILE, rate: 30, seed: 1 }),
    runLoad({ ...common, model: MODEL, rate: 15, seed: 2 }),
  ]);
}

test('status page: live endpoints, a killed sim seen within 2 s, hostile names stay text, the pick box answers', { timeout: 90000 }, async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: scripts/setup.sh installs Debian's chromium`);
  fs.mkdirSync(shots, { recursive: true });
  const { sims, gw } = await setup();
  load = startLoad(gw);

  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1440, height: 1000 }, colorScheme: 'light',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  const res = await page.goto(`${gw.adminUrl}/`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /script-src 'sha256-/);

  // Three healthy, ready endpoints, one row each.
  await page.waitForFunction(() => document.querySelectorAll('#endpoints tbody tr[data-health="healthy"]').length === 3,
    null, { timeout: 10000 });
  const rows = await page.$$eval('#endpoints tbody tr', (trs) => trs.map((tr) => ({
    endpoint: tr.dataset.endpoint, health: tr.dataset.health, text: tr.textContent })));
  assert.deepEqual(rows.map((r) => r.endpoint).sort(), sims.map((s) => s.api).sort());
  for (const r of rows) assert.match(r.text, /ready/);

  // The alias's split: both targets get a row with a request rate, the hostile name as text.
  await page.waitForFunction((hostile) => {
    const targets = [...document.querySelectorAll('#models tbody tr')].filter((tr) => tr.dataset.model === hostile)
      .map((tr) => tr.dataset.target);
    return targets.includes('opt-v2') && targets.includes('facebook/opt-125m');
  }, HOSTILE, { timeout: 15000 });
  const modelCells = await page.$$eval('#models tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.ok(modelCells.includes(HOSTILE), JSON.stringify(modelCells));
  const injected = await page.evaluate(() => ({
    pwned: window.__pwned, scripts: document.scripts.length, images: document.images.length,
    options: [...document.querySelectorAll('#pick-models option')].map((o) => o.value),
  }));
  assert.equal(injected.pwned, undefined);
  assert.equal(injected.scripts, 1, 'only the page\'s own script');
  assert.equal(injected.images, 0, 'no element made from a model name');
  assert.ok(injected.options.includes(HOSTILE), JSON.stringify(injected.options));
  // Wait for a sparkline worth seeing, then the picture of the page under load.
  await page.waitForFunction(() => [...document.querySelectorAll('#endpoints svg.spark polyline.running')]
    .some((l) => l.getAttribute('points').split(' ').length >= 5), null, { timeout: 15000 });
  await page.screenshot({ path: path.join(shots, 'under-load.png'), fullPage: true });

  // Sorting from the keyboard: focus the queue column's button, Enter.
  await page.focus('#ep-head th[data-key="waiting"] button');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#ep-head th[data-key="waiting"]', 'aria-sort'), 'ascending');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#ep-head th[data-key="waiting"]', 'aria-sort'), 'descending');

  // One sim dies: within 2 s its row reads unhealthy and the event is listed.
  const victim = sims[1];
  const t0 = performance.now();
  await victim.stop('SIGKILL');
  await page.waitForFunction((addr) => {
    const row = document.querySelector(`#endpoints tbody tr[data-endpoint="${addr}"]`);
    const event = [...document.querySelectorAll('#events tbody tr[data-kind="unroutable"]')]
      .some((tr) => tr.textContent.includes(addr));
    return row?.dataset.health === 'unhealthy' && event;
  }, victim.api, { timeout: 2000 });
  const seenMs = performance.now() - t0;
  assert.ok(seenMs <= 2000, `seen after ${seenMs} ms`);
  t.diagnostic(`killed sim shown unhealthy, with its event, after ${seenMs.toFixed(0)} ms`);
  const healthy = await page.$$eval('#endpoints tbody tr[data-health="healthy"]', (trs) => trs.map((tr) => tr.dataset.endpoint));
  assert.deepEqual(healthy.sort(), [sims[0].api, sims[2].api].sort());
  await page.screenshot({ path: path.join(shots, 'sim-killed.png'), fullPage: true });

  // The pick box: a decision naming a live sim, with its candidates' scores.
  await page.fill('#pick-model', MODEL);
  await page.fill('#pick-prompt', 'Where would this prompt go? '.repeat(20));
  await page.click('#pick-form button[type="submit"]');
  await page.waitForSelector('#pick-endpoint', { timeout: 5000 });
  const picked = await page.textContent('#pick-endpoint');
  assert.ok([sims[0].api, sims[2].api].includes(picked), picked);
  assert.equal(await page.$$eval('#pick-result tbody tr', (trs) => trs.length), 2);
  // Again from the keyboard (Ctrl+Enter in the prompt), for the alias: a new answer.
  await page.fill('#pick-model', HOSTILE);
  await page.evaluate(() => document.getElementById('pick-result').replaceChildren());
  await page.focus('#pick-prompt');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('#pick-endpoint', { timeout: 5000 });
  assert.match(await page.textContent('#pick-decision'), / as (facebook\/opt-125m|opt-v2)/);
  await page.screenshot({ path: path.join(shots, 'pick.png'), fullPage: true });

  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(shots, 'dark.png'), fullPage: true });

  assert.deepEqual(problems, []);
});

test('admin paths the page reads: the page itself, /debug/events and its bounds', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api]);
  live.push(gw);
  await waitRoutable(gw, 1);
  const page = await fetch(`${gw.adminUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)="(?!data:)/i, 'no outside resource');
  assert.equal((await fetch(`${gw.adminUrl}/`, { method: 'POST' })).status, 405);

  const events = await (await fetch(`${gw.adminUrl}/debug/events`)).json();
  assert.deepEqual(events.events.map((e) => [e.kind, e.endpoint]), [['joined', sim.api], ['routable', sim.api]]);
  assert.equal(events.last_seq, 2);
  assert.equal(events.capacity, 256);
  assert.ok(Math.abs(events.events[0].unix_ms - Date.now()) < 60000);
  const later = await (await fetch(`${gw.adminUrl}/debug/events?since=1`)).json();
  assert.deepEqual(later.events.map((e) => e.seq), [2]);
  for (const q of ['since=x', 'since=-1', 'since=', 'since=99999999999999999999999']) {
    const r = await fetch(`${gw.adminUrl}/debug/events?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal((await r.json()).error.code, 'bad_request');
  }
});

// Membership and reload events, as the page lists them: a static pool edited in the config
// file (SIGHUP), and a file with an error (rejected, its first error in the event).
test('/debug/events: joined and left on a reloaded static pool, reload applied and rejected', async () => {
  const [a, b] = await Promise.all([startSim(['--model', MODEL]), startSim(['--model', MODEL])]);
  live.push(a, b);
  const config = path.join(dir, 'reload.yaml');
  const write = (eps) => fs.writeFileSync(config, `apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: [${eps.map((s) => JSON.stringify(s.api)).join(', ')}]}}
`);
  write([a]);
  const gw = await startGateway(['--config', config]);
  live.push(gw);
  await waitRoutable(gw, 1);
  const kinds = async (since) => (await (await fetch(`${gw.adminUrl}/debug/events?since=${since}`)).json()).events
    .map((e) => [e.kind, e.endpoint || e.detail]);
  const until = async (since, want) => {
    let got;
    for (const t0 = performance.now(); performance.now() - t0 < 10000;) {
      got = await kinds(since);
      if (want.every((w) => got.some((g) => g[0] === w[0] && g[1].includes(w[1])))) return got;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`events ${JSON.stringify(got)} lack ${JSON.stringify(want)}`);
  };
  await until(0, [['joined', a.api], ['routable', a.api]]);
  write([a, b]);
  gw.proc.kill('SIGHUP');
  await until(2, [['reloaded', config], ['joined', b.api], ['routable', b.api]]);
  const seq = (await (await fetch(`${gw.adminUrl}/debug/events`)).json()).last_seq;
  fs.writeFileSync(config, 'apiVersion: ringgate.io/v1\nkind: Gateway\npool: {name: vllm, discovery: {}}\n');
  gw.proc.kill('SIGHUP');
  await until(seq, [['reload_rejected', 'reload.yaml:3']]);
  write([b]);
  gw.proc.kill('SIGHUP');
  await until(seq, [['reloaded', config], ['left', a.api]]);
});
