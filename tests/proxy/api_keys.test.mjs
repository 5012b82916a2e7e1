// API keys (issue 34): auth.apiKeysFile maps a key (stored as its SHA-256) to a tenant,
// model globs and budgets. The official openai client with a key is served, without one
// gets 401, with a key for another model 403; Azure clients' api-key header works; the
// tenant replaces the fairness header in rate limits and flow control; the key is not
// forwarded upstream and appears in no log, metric or /debug page; the file reloads on
// change (a bad edit keeps the keys loaded before); admin.auth guards the admin port but
// the kubelet's probes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrape, startGateway, startSim } from '../lib/procs.mjs';
import { MODEL } from './raw_http.mjs';
import { rawUpstream, jsonReply, waitFor } from './raw_upstream.mjs';

const testsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-keys-'));
const file = (name) => path.join(dir, name);
const OTHER = 'qwen-test-1b';
const KEYS = {
  a: 'sk-team-a-3b1f0c9e7d',          // team-a, MODEL only
  b: 'sk-team-b-admin-77aa01',        // team-b, every model, admin
  limited: 'sk-team-c-limited-5e2d',  // team-c, 2 requests a minute
  later: 'sk-added-by-reload-91ce',   // not in the file until the reload test adds it
};
const sha = (key) => createHash('sha256').update(key).digest('hex');
const live = [];
let sims = [];
let gw;

function keysFile(entries) {
  return ['apiVersion: ringgate.io/v1', 'kind: ApiKeys', 'keys:', ...entries.map((e) => `- ${JSON.stringify(e)}`), ''].join('\n');
}
const baseKeys = [
  { sha256: sha(KEYS.a), tenant: 'team-a', models: [`${MODEL.split('/')[0]}/*`] },
  { sha256: sha(KEYS.b), tenant: 'team-b', admin: true },
  { sha256: sha(KEYS.limited), tenant: 'team-c', requestsPerMinute: 2 },
];
// Replaces `to` at once (a rename over it, as a Secret volume does).
function install(text, to) {
  fs.writeFileSync(`${to}.new`, text);
  fs.renameSync(`${to}.new`, to);
}

async function gatewayWith(lines, endpoints, extra = []) {
  const config = file(`gateway-${live.length}.yaml`);
  fs.writeFileSync(config, ['apiVersion: ringgate.io/v1', 'kind: Gateway', ...lines, ''].join('\n'));
  const g = await startGateway(['--config', config, '--workers', '2', ...endpoints.flatMap((e) => ['--endpoint', e]), ...extra]);
  live.push(g);
  return g;
}

before(async () => {
  install(keysFile(baseKeys), file('keys.yaml'));
  sims = await Promise.all([startSim(['--model', MODEL]), startSim(['--model', OTHER])]);
  live.push(...sims);
  gw = await gatewayWith([
    `auth: {apiKeysFile: ${file('keys.yaml')}}`,
    `accessLog: {enabled: true, path: ${file('access.log')}}`,
    'flowControl: {enabled: true}',
  ], sims.map((s) => s.api));
  // Both models routable before the tests count anything.
  await waitFor(async () => {
    const r = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEYS.b}` } });
    return (await r.json()).data?.length === 2;
  }, { what: 'both models listed' });
});
after(async () => {
  for (const p of live.reverse()) await p.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const completion = (model = MODEL) => JSON.stringify({ model, prompt: 'Hello, keys', max_tokens: 3 });
async function post(g, headers, body = completion()) {
  const res = await fetch(`${g.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
const bearer = (key) => ({ authorization: `Bearer ${key}` });

test('the official openai client: with a key served, without one 401, with a key for another model 403', async () => {
  const script = `
    import OpenAI from 'openai';
    const [baseURL, key, model, other] = process.argv.slice(1);
    const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 15000 });
    const out = {};
    const attempt = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = { status: e.status, code: e.code, type: e.type, message: e.message }; } };
    await attempt('chat', async () => (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 })).usage.completion_tokens);
    await attempt('stream', async () => { let n = 0; for await (const c of await client.completions.create({ model, prompt: 'Hello', max_tokens: 5, stream: true })) n++; return n; });
    await attempt('models', async () => (await client.models.list()).data.map((m) => m.id));
    await attempt('other', async () => (await client.completions.create({ model: other, prompt: 'Hello', max_tokens: 2 })).id);
    console.log(JSON.stringify(out));
  `;
  const run = (key) => new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, `${gw.url}/v1`, key, MODEL, OTHER], { cwd: testsDir },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout))));
  });
  const a = await run(KEYS.a);
  assert.equal(a.chat, 4);
  assert.ok(a.stream >= 5, JSON.stringify(a));
  assert.deepEqual(a.models, [MODEL], 'a key limited to some models lists only those');
  assert.equal(a.other.status, 403, JSON.stringify(a.other));
  assert.equal(a.other.code, 'model_not_allowed');
  const b = await run(KEYS.b);
  assert.deepEqual(b.models.sort(), [MODEL, OTHER].sort());
  assert.equal(typeof b.other, 'string', JSON.stringify(b.other));
  const none = await run('sk-not-a-key');
  for (const call of ['chat', 'stream', 'models', 'other']) {
    assert.equal(none[call].status, 401, `${call}: ${JSON.stringify(none[call])}`);
    assert.equal(none[call].code, 'invalid_api_key');
  }
});

test('401 for a missing or bad key, with a Bearer challenge; Azure clients\' api-key header works', async () => {
  const missing = await post(gw, {});
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="ringgate"');
  const e = JSON.parse(missing.body).error;
  assert.equal(e.code, 'missing_api_key');
  assert.equal(e.type, 'invalid_request_error');
  for (const headers of [bearer('sk-wrong'), { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
    { authorization: 'Bearer' }, bearer('k'.repeat(5000)), { 'api-key': `${KEYS.a}x` }]) {
    const r = await post(gw, headers);
    assert.equal(r.status, 401, JSON.stringify(headers).slice(0, 80));
    assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key');
  }
  assert.equal((await post(gw, { 'api-key': KEYS.a })).status, 200);
  assert.equal((await post(gw, { authorization: `bearer ${KEYS.a}` })).status, 200, 'the scheme is case-insensitive');
  // /v1/models is behind the key too.
  assert.equal((await fetch(`${gw.url}/v1/models`)).status, 401);
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok(m.get('ringgate_auth_rejections_total{reason="missing_key"}') >= 2);
  assert.ok(m.get('ringgate_auth_rejections_total{reason="invalid_key"}') >= 5);
  assert.ok(m.get('ringgate_auth_rejections_total{reason="model_not_allowed"}') >= 1);
  assert.equal(m.get('ringgate_api_keys'), 3);
});

test('the tenant is the key\'s: its budget, whatever fairness header the client sends; flow control counts it', async () => {
  const forged = { 'x-gateway-inference-fairness-id': 'someone-else' };
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await post(gw, { ...bearer(KEYS.limited), ...forged })).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  const refused = await post(gw, bearer(KEYS.limited));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal((await post(gw, { ...bearer(KEYS.b), ...forged })).status, 200, 'another tenant is not affected');
  const m = await scrape(`${gw.adminUrl}/metrics`);
  assert.ok(m.get('ringgate_rate_limit_rejections_total{budget="requests",tenant="team-c"}') >= 2, [...m.keys()].filter((k) => k.includes('rate_limit')).join(' '));
  const flows = (await (await fetch(`${gw.adminUrl}/debug/flow`)).json()).workers.flatMap((w) => w.flows).map((f) => f.fairness_id);
  assert.ok(flows.includes('team-a') && flows.includes('team-b'), JSON.stringify(flows));
  assert.ok(!flows.includes('someone-else'), 'the header does not name the flow');
});

test('keys are not forwarded upstream, and appear in no log, metric or /debug page', async () => {
  const up = await rawUpstream((socket) => socket.write(jsonReply(JSON.stringify({ id: 'x', object: 'text_completion', choices: [{ index: 0, text: 'ok', finish_reason: 'stop' }] }))));
  live.push(up);
  const g = await gatewayWith([`auth: {apiKeysFile: ${file('keys.yaml')}}`], [up.api], ['--model', MODEL]);
  assert.equal((await post(g, bearer(KEYS.a))).status, 200);
  assert.equal((await post(g, { 'api-key': KEYS.b })).status, 200);
  assert.equal(up.heads.length, 2);
  for (const head of up.heads) assert.doesNotMatch(head, /^(authorization|api-key):/im, head);
  await post(gw, bearer(KEYS.a));
  await post(gw, bearer('sk-wrong-but-secret-too'));
  const pages = await Promise.all(['/metrics', '/debug/endpoints', '/debug/flow', '/debug/events', '/'].map(
    async (p) => (await fetch(`${gw.adminUrl}${p}`)).text()));
  await waitFor(() => fs.existsSync(file('access.log')) && fs.statSync(file('access.log')).size > 0, { what: 'access log written' });
  const seen = [...pages, fs.readFileSync(file('access.log'), 'utf8'), gw.stderr(), g.stderr()].join('\n');
  for (const secret of [...Object.values(KEYS), 'sk-wrong-but-secret-too']) assert.ok(!seen.includes(secret), `${secret} leaked`);
  for (const key of Object.values(KEYS)) assert.ok(!seen.includes(sha(key)), 'nor its hash');
});

test('the keys file reloads on change; a bad edit keeps the keys loaded before', async () => {
  const keys = file('reload-keys.yaml');
  install(keysFile(baseKeys), keys);
  const g = await gatewayWith([`auth: {apiKeysFile: ${keys}}`], [sims[0].api]);
  assert.equal((await post(g, bearer(KEYS.later))).status, 401);
  install(keysFile([...baseKeys, { sha256: sha(KEYS.later), tenant: 'team-d' }]), keys);
  await waitFor(async () => (await post(g, bearer(KEYS.later))).status === 200, { what: 'the added key accepted' });
  let m = await scrape(`${g.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_api_keys'), 4);
  assert.equal(m.get('ringgate_api_keys_reloads_total'), 1);
  install('apiVersion: ringgate.io/v1\nkind: ApiKeys\nkeys:\n- {sha256: nothex, tenant: x}\n', keys);
  await waitFor(async () => (await scrape(`${g.adminUrl}/metrics`)).get('ringgate_api_keys_reload_failures_total') === 1, { what: 'the bad edit rejected' });
  assert.match(g.stderr(), /API keys: reload rejected, the 4 keys loaded before stay: .*reload-keys\.yaml:4:/);
  assert.equal((await post(g, bearer(KEYS.later))).status, 200, 'the keys loaded before stay');
  install(keysFile(baseKeys.slice(1)), keys);  // team-a's key revoked
  await waitFor(async () => (await post(g, bearer(KEYS.a))).status === 401, { what: 'the revoked key refused' });
  m = await scrape(`${g.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_api_keys'), 2);
});

test('a keys file that does not load stops the start with its error', async () => {
  fs.writeFileSync(file('broken.yaml'), 'apiVersion: ringgate.io/v1\nkind: ApiKeys\nkeys:\n- {tenant: x}\n');
  await assert.rejects(gatewayWith([`auth: {apiKeysFile: ${file('broken.yaml')}}`], [sims[0].api]),
    /auth\.apiKeysFile: .*broken\.yaml:4:\d+: ApiKeys: keys\[0\]\.sha256: required/);
  await assert.rejects(gatewayWith(['admin: {auth: true}'], [sims[0].api]), /admin\.auth: needs auth\.apiKeysFile/);
});

test('admin.auth: the admin port wants a key marked admin, except /healthz and /readyz', async () => {
  const g = await gatewayWith([`auth: {apiKeysFile: ${file('keys.yaml')}}`, 'admin: {auth: true}'], [sims[0].api]);
  const admin = async (p, headers = {}) => (await fetch(`${g.adminUrl}${p}`, { headers })).status;
  assert.equal(await admin('/healthz'), 200);
  await waitFor(async () => (await admin('/readyz')) === 200, { what: 'ready' });
  for (const p of ['/metrics', '/debug/endpoints', '/debug/events', '/']) {
    assert.equal(await admin(p), 401, p);
    assert.equal(await admin(p, bearer(KEYS.a)), 403, `${p}: not an admin key`);
    assert.equal(await admin(p, bearer(KEYS.b)), 200, `${p}: an admin key`);
  }
  const pick = await fetch(`${g.adminUrl}/debug/pick`, { method: 'POST', body: completion() });
  assert.equal(pick.status, 401);
  const text = await (await fetch(`${g.adminUrl}/metrics`, { headers: bearer(KEYS.b) })).text();
  assert.match(text, /^ringgate_admin_auth_rejections_total 9$/m);
});
