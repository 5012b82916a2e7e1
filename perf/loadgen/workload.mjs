// Deterministic prompt workloads for the load client (Node built-ins only).
//
//   A (shared prefix): `prompts` long system prompts (uniform length in
//     [minBytes, maxBytes]) chosen with Zipf popularity (exponent `zipf`); each request
//     is one of them followed by a short user suffix unique to the request.
//   B (no sharing): every prompt unique, with the same length distribution as A (the
//     length of a Zipf-drawn system prompt of A, filled with fresh text).
//   C (multi-turn chat): `conversations` conversations open at a time, each a growing
//     `messages` history (a system prompt drawn with Zipf from `chatSystems` shared ones,
//     then user/assistant turns) sent to /v1/chat/completions; each request is the next
//     turn of a conversation picked uniformly among the open ones that were not among the
//     last `minGap` picked (so its previous turn has normally been answered); a
//     conversation lasts `minTurns`..`maxTurns` turns and is then replaced by a new one.
//     The assistant answer appended to the history is the text ringgate-sim returns in
//     `--mode echo` (the last message's first `answerTokens` 4-byte tokens, i.e. the
//     first 4 × answerTokens bytes of the ASCII user message); it is computed here, not
//     read from the response, so the sequence is a function of the seed alone and the
//     oracle replays it exactly (the load client checks the sims returned that text).
//   S (inference-perf's `shared_prefix` generator, kubernetes-sigs/inference-perf
//     inference_perf/datagen/shared_prefix_datagen.py, single-turn): `groups` system
//     prompts of `systemTokens` tokens, each with `perGroup` questions of `questionTokens`
//     tokens; the groups × perGroup prompts are made once, shuffled once, then sent in
//     that order, cycling. Token counts are ringgate-sim's (4 bytes a token): the completions
//     prompt `system\n\nquestion` is exactly systemTokens + questionTokens tokens.
//
// Everything derives from `seed`: the i-th request of a workload is the same on every
// run, whatever the rate, timing or stream mix (those use their own RNG streams).

// mulberry32: small, fast, good enough for text and sampling. Returns [0, 1).
export function rng32(seed) {
  let a = (seed >>> 0) || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Derives independent seeds from one seed and a label.
export function subSeed(seed, label) {
  let h = (seed >>> 0) ^ 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const SYLL = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qui', 'dor', 'fen',
  'gal', 'hum', 'jor', 'lin', 'mar', 'nos', 'pel', 'ras', 'sol', 'tum', 'ver', 'wix', 'yan'];

function makeVocab(rand, n) {
  const words = new Set();
  while (words.size < n) {
    const k = 1 + Math.floor(rand() * 3);
    let w = '';
    for (let j = 0; j < k; j++) w += SYLL[Math.floor(rand() * SYLL.length)];
    words.add(w);
  }
  return [...words];
}

// ~`bytes` bytes of sentence-like ASCII text.
function text(rand, vocab, bytes) {
  const parts = [];
  let len = 0, inSentence = 0;
  while (len < bytes) {
    let w = vocab[Math.floor(rand() * vocab.length)];
    if (inSentence === 0) w = w[0].toUpperCase() + w.slice(1);
    inSentence++;
    if (inSentence > 6 && rand() < 0.15) { w += '.'; inSentence = 0; }
    parts.push(w);
    len += w.length + 1;
  }
  return parts.join(' ');
}

// Zipf over ranks 1..n with exponent s: returns a sampler of 0-based ranks.
export function zipfSampler(n, s) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) { sum += 1 / Math.pow(k, s); cdf[k - 1] = sum; }
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  return (u) => {
    let lo = 0, hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] >= u) hi = mid; else lo = mid + 1; }
    return lo;
  };
}

export const WORKLOAD_DEFAULTS = {
  kind: 'A', seed: 1, prompts: 32, minBytes: 2048, maxBytes: 8192, zipf: 1.1,
  suffixMinBytes: 48, suffixMaxBytes: 160,
  // C
  conversations: 64, chatSystems: 8, chatSystemMinBytes: 1024, chatSystemMaxBytes: 3072, chatZipf: 1.0,
  minTurns: 3, maxTurns: 10, userMinBytes: 64, userMaxBytes: 480, answerTokens: 24, minGap: 8,
  // S
  groups: 150, perGroup: 5, systemTokens: 600, questionTokens: 120,
};

// ringgate-sim's `--mode echo` answer to a chat request whose last message is `content`
// (src/sim/output_text.cpp: the content cut into 4-byte tokens, at most `maxTokens`).
// Valid for ASCII content, which is all this file writes.
export const echoAnswer = (content, maxTokens) => content.slice(0, 4 * maxTokens);

// The text ringgate-sim counts and hashes for a chat request without --tokenizer
// (src/sim/completion_request.cpp): every message as `role: content\n`, then the
// generation prompt `assistant: ` (vLLM's add_generation_prompt, on by default).
export const chatPromptText = (messages) => `${messages.map((m) => `${m.role}: ${m.content}\n`).join('')}assistant: `;

// Returns { kind, systemPrompts, next() } where next() gives the next request:
// { i, promptId (-1 for B), system, user } — system + user is the prompt.
export function makeWorkload(opts = {}) {
  const o = { ...WORKLOAD_DEFAULTS, ...opts };
  if (o.kind === 'C') return makeChatWorkload(o);
  if (o.kind === 'S') return makeSharedPrefixWorkload(o);
  if (o.kind !== 'A' && o.kind !== 'B') throw new Error(`workload must be A, B, C or S, not ${o.kind}`);
  const vocabRand = rng32(subSeed(o.seed, 'vocab'));
  const vocab = makeVocab(vocabRand, 4000);
  const sysRand = rng32(subSeed(o.seed, 'system'));
  const systemPrompts = [];
  for (let p = 0; p < o.prompts; p++) {
    const n = o.minBytes + Math.floor(sysRand() * (o.maxBytes - o.minBytes + 1));
    systemPrompts.push(`System prompt #${p}. You are assistant ${p}. ` + text(sysRand, vocab, n));
  }
  // One RNG for the request sequence; A and B draw from it in the same order so that
  // request i of B has the length of request i of A.
  const reqRand = rng32(subSeed(o.seed, 'requests'));
  const fillRand = rng32(subSeed(o.seed, 'fill-' + o.kind));
  const pick = zipfSampler(o.prompts, o.zipf);
  let i = 0;
  return {
    kind: o.kind,
    options: o,
    systemPrompts,
    next() {
      const id = pick(reqRand());
      const sufLen = o.suffixMinBytes + Math.floor(reqRand() * (o.suffixMaxBytes - o.suffixMinBytes + 1));
      const user = `Request ${o.seed}-${i}: ` + text(fillRand, vocab, sufLen);
      let system, promptId;
      if (o.kind === 'A') { system = systemPrompts[id]; promptId = id; }
      else {
        // Unique from the first byte, same length as system prompt `id` would have.
        const tag = `Unique prompt ${o.seed}-${i}. `;
        system = tag + text(fillRand, vocab, Math.max(0, systemPrompts[id].length - tag.length));
        promptId = -1;
      }
      return { i: i++, promptId, system, user };
    },
  };
}

// Workload S. Requests: { i, promptId: group, system, user }, the fixed prompt set cycled.
function makeSharedPrefixWorkload(o) {
  const ints = ['groups', 'perGroup', 'systemTokens', 'questionTokens'];
  if (!ints.every((k) => Number.isInteger(o[k]) && o[k] >= 1)) throw new Error(`S: ${ints.join(', ')} must be integers >= 1`);
  const vocab = makeVocab(rng32(subSeed(o.seed, 'vocab')), 4000);
  const textRand = rng32(subSeed(o.seed, 'shared-prefix'));
  const exactly = (head, bytes) => (head + text(textRand, vocab, bytes)).slice(0, bytes);
  const systemPrompts = [], prompts = [];
  for (let g = 0; g < o.groups; g++) {
    systemPrompts.push(exactly(`Group ${g}. `, 4 * o.systemTokens));
    for (let q = 0; q < o.perGroup; q++) {
      prompts.push({ promptId: g, system: systemPrompts[g], user: exactly(`Question ${g}-${q}: `, 4 * o.questionTokens - 2) });
    }
  }
  const shuffle = rng32(subSeed(o.seed, 'shared-prefix-shuffle'));
  for (let k = prompts.length - 1; k > 0; k--) {
    const j = Math.floor(shuffle() * (k + 1));
    [prompts[k], prompts[j]] = [prompts[j], prompts[k]];
  }
  let i = 0;
  return {
    kind: 'S',
    options: o,
    systemPrompts,
    next() { const p = prompts[i % prompts.length]; return { i: i++, ...p }; },
  };
}

// Workload C. Requests: { i, promptId: conversation number, turn, messages, answer } —
// `answer` is the assistant text the next turn of that conversation will carry.
function makeChatWorkload(o) {
  if (!(o.conversations >= 1 && o.minGap >= 0 && o.minGap < o.conversations)) throw new Error('C: need 0 <= minGap < conversations');
  if (!(o.minTurns >= 1 && o.maxTurns >= o.minTurns)) throw new Error('C: need 1 <= minTurns <= maxTurns');
  const vocab = makeVocab(rng32(subSeed(o.seed, 'vocab')), 4000);
  const sysRand = rng32(subSeed(o.seed, 'chat-system'));
  const systemPrompts = [];
  for (let p = 0; p < o.chatSystems; p++) {
    const n = o.chatSystemMinBytes + Math.floor(sysRand() * (o.chatSystemMaxBytes - o.chatSystemMinBytes + 1));
    systemPrompts.push(`Chat system prompt #${p}. You are assistant ${p}. ` + text(sysRand, vocab, n));
  }
  const convRand = rng32(subSeed(o.seed, 'chat-conversations'));
  const pickRand = rng32(subSeed(o.seed, 'chat-pick'));
  const textRand = rng32(subSeed(o.seed, 'chat-text'));
  const pickSystem = zipfSampler(o.chatSystems, o.chatZipf);
  let conversations = 0;
  const open = () => {
    const system = pickSystem(convRand());
    const turns = o.minTurns + Math.floor(convRand() * (o.maxTurns - o.minTurns + 1));
    return { id: conversations++, system, turns, turn: 0, lastPick: -Infinity,
      history: [{ role: 'system', content: systemPrompts[system] }] };
  };
  const slots = Array.from({ length: o.conversations }, open);
  let i = 0;
  return {
    kind: 'C',
    options: o,
    systemPrompts,
    next() {
      // Uniform over the slots not picked in the last minGap requests (at least
      // conversations - minGap of them).
      const ready = [];
      for (let s = 0; s < slots.length; s++) if (i - slots[s].lastPick > o.minGap) ready.push(s);
      const slot = ready[Math.floor(pickRand() * ready.length)];
      const c = slots[slot];
      const len = o.userMinBytes + Math.floor(textRand() * (o.userMaxBytes - o.userMinBytes + 1));
      const user = `Turn ${c.turn} of chat ${o.seed}-${c.id}: ` + text(textRand, vocab, len);
      const messages = [...c.history, { role: 'user', content: user }];
      const answer = echoAnswer(user, o.answerTokens);
      const req = { i: i, promptId: c.id, turn: c.turn, messages, answer };
      c.history = [...messages, { role: 'assistant', content: answer }];
      c.turn++;
      c.lastPick = i;
      if (c.turn >= c.turns) { slots[slot] = open(); slots[slot].lastPick = i; }
      i++;
      return req;
    },
  };
}

// The text the server sees as the prompt for the completions API.
export const completionPrompt = (req) => `${req.system}\n\n${req.user}`;

// The text ringgate-sim tokenizes for a request of any workload sent to the API `api`.
export const simPromptText = (req, api) => (req.messages ? chatPromptText(req.messages)
  : api === 'chat' ? chatPromptText([{ role: 'system', content: req.system }, { role: 'user', content: req.user }])
  : completionPrompt(req));
