#!/usr/bin/env node
// Multimodal routing benchmark (issue 49): multi-turn chats where each conversation
// carries one of `images` images (random bytes of 100-800 KB sent as base64 data URIs)
// in its first user message, then asks about it turn after turn. Two figures:
//   hit rate   the sims' prefix-cache hits / queries behind ringgate, against the offline
//              oracle (oracle.mjs) replaying the same prompts with each image as the tokens
//              the sims charge for it (--tokens-per-image);
//   CPU        ringgate's user+system CPU per request (/proc/PID/stat) for these requests,
//              against the same conversations with each data URI replaced by a text part of
//              the same length (a text request of the same byte size).
// Loopback only, bounded; every process it starts is stopped at the end.
// usage: node perf/routing/multimodal.mjs [--conversations N] [--turns N] [--images N]
//        [--sims N] [--kv-blocks N] [--concurrency N] [--tokens-per-image N] [--seed N]
import { randomBytes } from 'node:crypto';
import { replay } from './oracle.mjs';
import { simCounters, diff } from './sims.mjs';
import { startSim, startGateway, waitRoutable } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const o = { conversations: 40, turns: 4, images: 50, sims: 4, kvBlocks: 1200, concurrency: 8, tokensPerImage: 576,
  seed: 1, minKb: 100, maxKb: 800 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  if (!(key in o)) throw new Error(`unknown option ${process.argv[i]}`);
  o[key] = Number(process.argv[i + 1]);
}

// A small deterministic generator: the image sizes and which conversation carries which.
let state = o.seed >>> 0 || 1;
const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
const images = Array.from({ length: o.images }, () =>
  randomBytes(Math.floor((o.minKb + rand() * (o.maxKb - o.minKb)) * 1024)).toString('base64'));
const system = 'You are a careful assistant who describes pictures. '.repeat(4);
const questions = ['What is in this picture?', 'What colours dominate?', 'Is there any text in it?',
  'Describe the background.', 'What would you title it?', 'Anything unusual?'];

// The sim's prompt text for the oracle: `role: content\n` ... `assistant: `, the image as
// as many 4-byte tokens as it costs, made unique to the image (the sim hashes its data).
const imageText = (k) => `~IMG${String(k).padStart(12, '0')}`.repeat((o.tokensPerImage * 4) / 16);

function conversationTurns(c, asText) {
  const k = Math.floor(rand() * o.images);
  const uri = `data:image/png;base64,${images[k]}`;
  const media = asText ? { type: 'text', text: 'x'.repeat(uri.length) } : { type: 'image_url', image_url: { url: uri } };
  const turns = [];
  const messages = [{ role: 'system', content: system }];
  const simText = [`system: ${system}\n`];
  for (let t = 0; t < o.turns; t++) {
    const q = questions[(c + t) % questions.length];
    if (t === 0) {
      messages.push({ role: 'user', content: [{ type: 'text', text: q }, media] });
      simText.push(`user: ${q}${asText ? media.text : imageText(k)}\n`);
    } else {
      messages.push({ role: 'user', content: q });
      simText.push(`user: ${q}\n`);
    }
    turns.push({ body: JSON.stringify({ model: 'facebook/opt-125m', messages, max_tokens: 8 }), simText: `${simText.join('')}assistant: ` });
    const answer = `Answer ${t} about conversation ${c}.`;
    messages.push({ role: 'assistant', content: answer });
    simText.push(`assistant: ${answer}\n`);
  }
  return turns;
}

async function run(asText) {
  state = o.seed >>> 0 || 1;
  const simArgs = ['--kv-blocks', String(o.kvBlocks), '--block-size', '16', '--tokens-per-image', String(o.tokensPerImage),
    '--max-num-seqs', '8', ...(asText ? ['--max-model-len', '2000000', '--kv-blocks', '400000'] : ['--max-model-len', '8192'])];
  const sims = await Promise.all(Array.from({ length: o.sims }, () => startSim(simArgs)));
  const gw = await startGateway(['--workers', '1', '--max-body-bytes', String(32 << 20),
    ...sims.flatMap((s) => ['--endpoint', `127.0.0.1:${s.port}`])]);
  try {
    await waitRoutable(gw, o.sims);
    const convs = Array.from({ length: o.conversations }, (_, c) => conversationTurns(c, asText));
    const order = [];  // prompts in the order they were sent, for the oracle
    const before = await Promise.all(sims.map((s) => simCounters(`http://127.0.0.1:${s.port}`)));
    const cpu0 = cpuSeconds(gw.proc.pid);
    let next = 0, failed = 0, sent = 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      while (next < convs.length) {
        const turns = convs[next++];
        for (const turn of turns) {
          order.push(turn.simText);
          const r = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`,
            { method: 'POST', headers: { 'content-type': 'application/json' }, body: turn.body });
          await r.arrayBuffer();
          sent++;
          if (r.status !== 200) failed++;
        }
      }
    }));
    const cpu = cpuSeconds(gw.proc.pid) - cpu0;
    const after = await Promise.all(sims.map((s) => simCounters(`http://127.0.0.1:${s.port}`)));
    const d = after.map((a, i) => diff(before[i], a));
    const hits = d.reduce((n, x) => n + x.hits, 0), queries = d.reduce((n, x) => n + x.queries, 0);
    const bodyBytes = convs.flat().reduce((n, t) => n + t.body.length, 0);
    const result = { kind: asText ? 'text' : 'image', requests: sent, failed, seconds: (Date.now() - started) / 1000,
      meanBodyKB: Math.round(bodyBytes / sent / 1024), cpuMsPerRequest: (cpu * 1000) / sent,
      hitRate: queries > 0 ? hits / queries : NaN };
    if (!asText) {
      result.oracle = replay(order, { servers: o.sims, capacity: o.kvBlocks, blockTokens: 16 }).hitRate;
      result.ofOracle = result.hitRate / result.oracle;
    }
    return result;
  } finally {
    await Promise.all([gw.stop(), ...sims.map((s) => s.stop())]);
  }
}

const image = await run(false);
const text = await run(true);
console.log(JSON.stringify({ options: o, image, text, cpuImageOverText: image.cpuMsPerRequest / text.cpuMsPerRequest }, null, 1));
