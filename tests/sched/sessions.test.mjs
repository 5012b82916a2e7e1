// Issue 49, sessions: OpenAI's prompt_cache_key, then safety_identifier / user, then the
// session header pin a conversation to one server (scheduler.sessionKeys; with the load
// guard, as session affinity always did). Real ringgate + 4 ringgate-sims: conversations
// whose turns share no prefix at all still stay on one server each, spread over the
// pool; /debug/pick says which key pinned a request; a key left out of sessionKeys pins
// nothing; bad keys (too long, control bytes) fall through to the next one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-session-'));
let sims = [];
let gw;      // the default order
let headerOnly;  // sessionKeys: [header]
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

function config(name, scheduler) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
workers: 2
pool: {name: vllm, discovery: {static: [${sims.map((s) => `"${s.api}"`).join(', ')}]}}
scheduler: ${scheduler}
`);
  return file;
}

before(async () => {
  sims = await Promise.all([0, 1, 2, 3].map(() => startSim(['--model', MODEL, '--inter-token-latency-ms', '1'])));
  live.push(...sims);
  gw = await startGateway(['--config', config('default.yaml', '{sessionHeader: x-session-id}')]);
  live.push(gw);
  headerOnly = await startGateway(['--config', config('header.yaml', '{sessionKeys: [header]}')]);
  live.push(headerOnly);
  await waitRoutable(gw, 4);
  await waitRoutable(headerOnly, 4);
});

// Words no other request shares: no prefix can explain where a turn goes.
let serial = 0;
const fresh = () => `${++serial}-${Math.random().toString(36).slice(2)} `.repeat(30);

async function chat(target, extra, headers = {}) {
  const res = await fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, max_tokens: 1, messages: [{ role: 'user', content: fresh() }], ...extra }),
  });
  await res.text();
  assert.equal(res.status, 200);
  return res.headers.get('x-gateway-destination-endpoint');
}

async function pick(target, extra, headers = {}) {
  const res = await fetch(`${target.adminUrl}/debug/pick?path=/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: fresh() }], ...extra }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

test('each key alone keeps a conversation of unrelated turns on one server; conversations spread', async () => {
  const kinds = [
    (i) => [{ prompt_cache_key: `conv-${i}` }, {}],
    (i) => [{ safety_identifier: `person-${i}` }, {}],
    (i) => [{ user: `user-${i}` }, {}],
    (i) => [{}, { 'x-session-id': `hdr-${i}` }],
  ];
  for (const kind of kinds) {
    const homes = new Set();
    for (let i = 0; i < 24; i++) {
      const [body, headers] = kind(i);
      const seen = new Set();
      for (let t = 0; t < 4; t++) seen.add(await chat(gw, body, headers));
      assert.equal(seen.size, 1, `${JSON.stringify(body)} ${JSON.stringify(headers)} went to ${[...seen]}`);
      homes.add([...seen][0]);
    }
    assert.ok(homes.size >= 3, `24 conversations on ${homes.size} servers`);
  }
});

test('/debug/pick names the key that pinned it, first in the order', async () => {
  const all = { prompt_cache_key: 'c1', safety_identifier: 's1', user: 'u1' };
  let p = await pick(gw, all, { 'x-session-id': 'h1' });
  assert.equal(p.reason, 'session');
  assert.equal(p.session_key, 'prompt_cache_key');
  p = await pick(gw, { safety_identifier: 's1', user: 'u1' }, { 'x-session-id': 'h1' });
  assert.equal(p.session_key, 'safety_identifier');
  p = await pick(gw, { user: 'u1' }, { 'x-session-id': 'h1' });
  assert.equal(p.session_key, 'user');
  p = await pick(gw, {}, { 'x-session-id': 'h1' });
  assert.equal(p.session_key, 'header');
  p = await pick(gw, {});
  assert.equal(p.session_key, null);
  assert.notEqual(p.reason, 'session');
  // Unusable keys fall through to the next: 300 bytes, control bytes, not a string.
  p = await pick(gw, { prompt_cache_key: 'k'.repeat(300), user: 'u1' });
  assert.equal(p.session_key, 'user');
  p = await pick(gw, { prompt_cache_key: 'a\u0001b', safety_identifier: 's1' });
  assert.equal(p.session_key, 'safety_identifier');
  p = await pick(gw, { prompt_cache_key: 42, user: 'u1' });
  assert.equal(p.session_key, 'user');
  // The same value through the body and the header pins the same server.
  const viaBody = (await pick(gw, { prompt_cache_key: 'same-1' })).endpoint;
  assert.equal((await pick(gw, {}, { 'x-session-id': 'same-1' })).endpoint, viaBody);
});

test('a key left out of sessionKeys pins nothing', async () => {
  let p = await pick(headerOnly, { prompt_cache_key: 'c1', safety_identifier: 's1', user: 'u1' });
  assert.equal(p.session_key, null);
  assert.notEqual(p.reason, 'session');
  p = await pick(headerOnly, { prompt_cache_key: 'c1' }, { 'x-session-id': 'h1' });
  assert.equal(p.session_key, 'header');
  assert.equal(p.reason, 'session');
  // Its turns with no shared prefix: spread by load, not kept together.
  const seen = new Set();
  for (let t = 0; t < 16; t++) seen.add(await chat(headerOnly, { prompt_cache_key: 'ignored' }));
  assert.ok(seen.size >= 2, `prompt_cache_key was ignored, yet all 16 turns went to ${[...seen]}`);
});
