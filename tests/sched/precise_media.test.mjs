// Precise prefix routing with images (issue 49): ringgate-sims render a chat's image parts
// as runs of placeholder tokens identified by the part's uuid (else its url's hash), hash
// the identifiers into the blocks' extra keys as vLLM does, and announce them in their
// BlockStored events; the gateway in precise mode renders and hashes the same runs. The
// next turn of a conversation with the same image goes to the server holding its blocks,
// matched past the image; a different image matches only the text before it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';
import { writePreciseConfig, waitSource } from './precise_gateway.mjs';
import { text } from '../lib/pseudo_text.mjs';

const MODEL = 'facebook/opt-125m';
const IMAGE_TOKENS = 32;  // the sims' --tokens-per-image and the gateway's scheduler.tokensPerImage
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-precise-media-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const kvConfig = JSON.stringify({ enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://127.0.0.1:*',
  replay_endpoint: 'tcp://127.0.0.1:*', topic: 'kv' });
const startEventSim = () => startSim(['--model', MODEL, '--kv-blocks', '512', '--block-size', '16',
  '--tokens-per-image', String(IMAGE_TOKENS), '--kv-events-config', kvConfig], { env: { PYTHONHASHSEED: '0' } });

async function post(url, apiPath, body) {
  const res = await fetch(`${url}${apiPath}`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) });
  const out = await res.text();
  assert.equal(res.status, 200, out);
  return res;
}

async function pick(gw, body) {
  const res = await fetch(`${gw.adminUrl}/debug/pick?path=/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

test('the same image in the next turn goes where its blocks are, matched past it; another image matches only the text before', async () => {
  const sims = await Promise.all([startEventSim(), startEventSim(), startEventSim()]);
  live.push(...sims);
  const file = writePreciseConfig(dir, 'gw.yaml', sims);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('scheduler:\n', `scheduler:\n  tokensPerImage: ${IMAGE_TOKENS}\n`));
  const gw = await startGateway(['--config', file]);
  live.push(gw);
  await waitRoutable(gw, 3);
  // Each server's stream followed (a fresh prompt each try, until the gateway says precise).
  let seed = 7000;
  for (const s of sims) {
    for (let i = 0; ; i++) {
      await post(s.url, '/v1/completions', { model: MODEL, prompt: text(seed++, 100), max_tokens: 1 });
      try { await waitSource(gw, s.api, (p) => p.source === 'precise', 'precise', 200); break; } catch {}
      assert.ok(i < 100, `${s.api} never followed`);
    }
  }

  const system = text(1, 602);  // "system: " + 602 + "\n" + "user: " + 7 = 624 bytes: the image at token 156
  const image = (uuid, url) => ({ type: 'image_url', image_url: { url }, uuid });
  const turn1 = (img) => [{ role: 'system', content: system },
    { role: 'user', content: [{ type: 'text', text: 'look at' }, img] }];
  const offset = (8 + system.length + 1 + 6 + 7) / 4;
  assert.equal(offset, 156);
  const blocksBefore = Math.floor(offset / 16);                     // 9: text only
  // 11: turn 1 is 191 tokens (the run ends at 188, then "\nassistant: "): blocks 9 and 10 hold the image
  const blocksThroughImage = Math.floor((offset + IMAGE_TOKENS) / 16);

  // Turn 1 served by sims[1] directly: only its events say where the image's blocks are.
  const warm = sims[1];
  const before = (await waitSource(gw, warm.api, () => true, 'any')).blocks;
  const cat = image('cat-0001', 'https://images.example/cat.png');
  await post(warm.url, '/v1/chat/completions', { model: MODEL, messages: turn1(cat), max_tokens: 1 });
  await waitSource(gw, warm.api, (p) => p.blocks >= before + blocksThroughImage, 'the conversation\'s blocks');

  // Turn 2 with the same image: picked there, matched past the image.
  const turn2 = (img) => [...turn1(img), { role: 'assistant', content: text(2, 40) },
    { role: 'user', content: text(3, 80) }];
  const same = await pick(gw, { model: MODEL, messages: turn2(cat), max_tokens: 1 });
  assert.equal(same.endpoint, warm.api, JSON.stringify(same));
  const byApi = (r) => Object.fromEntries(r.candidates.map((c) => [c.endpoint, c.prefix_blocks]));
  assert.ok(byApi(same)[warm.api] >= blocksThroughImage, JSON.stringify(same.candidates));
  for (const s of [sims[0], sims[2]]) assert.equal(byApi(same)[s.api], 0);
  // The data path agrees.
  const routed = await post(gw.url, '/v1/chat/completions', { model: MODEL, messages: turn2(cat), max_tokens: 1 });
  assert.equal(routed.headers.get('x-gateway-destination-endpoint'), warm.api);

  // Another image at the same place (same placeholder tokens, another uuid): only the text
  // before it matches; so does the same url under another uuid.
  for (const other of [image('dog-0002', 'https://images.example/dog.png'), image('cat-0002', 'https://images.example/cat.png')]) {
    const r = await pick(gw, { model: MODEL, messages: turn2(other), max_tokens: 1 });
    assert.equal(byApi(r)[warm.api], blocksBefore, JSON.stringify(r.candidates));
  }
  // Without a uuid the url's hash identifies it: a new conversation's turns match each other.
  const bare = { type: 'image_url', image_url: { url: 'https://images.example/bird.png' } };
  const before2 = (await waitSource(gw, sims[2].api, () => true, 'any')).blocks;
  await post(sims[2].url, '/v1/chat/completions', { model: MODEL, messages: turn1(bare), max_tokens: 1 });
  await waitSource(gw, sims[2].api, (p) => p.blocks >= before2 + blocksThroughImage, 'the bird\'s blocks');
  const bird = await pick(gw, { model: MODEL, messages: turn2(bare), max_tokens: 1 });
  assert.ok(byApi(bird)[sims[2].api] >= blocksThroughImage, JSON.stringify(bird.candidates));
});
