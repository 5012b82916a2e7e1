// Offline replay of a request sequence through a model of N prefix caches, to bound the
// prefix-cache hit rate a router could reach on the same sims.
//
// The cache model follows ringgate-sim (src/sim/tokenizer.cpp, prefix_kv_cache.cpp,
// engine.cpp) without --tokenizer: 4 bytes per token (the last one may be shorter); the
// prompt's full blocks of `blockTokens` tokens are hashed as a chain (block i's key
// covers blocks 0..i); a request hits the leading run of blocks present in the cache,
// at most (tokens - 1) / blockTokens of them (the last token is always computed); its
// missing full blocks are then cached, LRU-evicted at block granularity with `capacity`
// blocks per server, the prompt's head most recent (the sim releases a request's blocks
// tail first). Hit rate = hit tokens / prompt tokens, the ratio of the sims'
// vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total. The prompt text is
// what the sim tokenizes: the completions prompt, or for chat every message as
// `role: content\n` then `assistant: ` (workload.mjs simPromptText).
//
// Simplifications (all in the oracle's favour or neutral): requests are served one at
// a time in send order, so no blocks are pinned by running requests and no output
// blocks take room; no queueing, no load limit.
//
// Policies:
//   oracle      the server holding the longest cached prefix of the request (ties: the
//               one that has been sent the fewest requests) — "always the best-cached
//               server", the issue's reference.
//   roundrobin  i mod N, as a model of nginx round-robin (for calibration only).
//   given       `choices[i]`, the server a real router picked for request i: the cache
//               model's hit rate for a router's own decisions. Compared with the hit
//               rate the sims measured behind that router it shows what the model leaves
//               out (running requests' pinned and output blocks); compared with the
//               oracle, what the decisions cost.
// Every policy also reports how many counted requests went to a server holding the
// longest cached prefix in the model (`bestPicked`) and the hit tokens the others lost.
// Also returned: the compulsory bound, the hit rate of one infinite cache (each distinct
// block misses once), an upper bound for any router and any capacity.
import { createHash } from 'node:crypto';

export const BYTES_PER_TOKEN = 4;

// Chained keys of the full blocks of `text` (ASCII or not: bytes, as the sim counts).
// A token is 4 bytes, the last one possibly shorter (the sim pads its id with zero
// bytes), so a block is full when it has `blockTokens` tokens, not 4 × that many bytes.
export function blockKeys(text, blockTokens, cacheKey = '') {
  const buf = Buffer.from(text, 'utf8');
  const tokens = Math.ceil(buf.length / BYTES_PER_TOKEN);
  const bb = blockTokens * BYTES_PER_TOKEN;
  const keys = [];
  let prev = createHash('sha1').update(cacheKey).digest();
  for (let b = 0; b < Math.floor(tokens / blockTokens); b++) {
    prev = createHash('sha1').update(prev).update(buf.subarray(b * bb, Math.min(buf.length, (b + 1) * bb))).digest();
    keys.push(prev.toString('base64'));
  }
  return { keys, tokens };
}

class Lru {
  constructor(capacity) { this.capacity = capacity; this.map = new Map(); }
  has(k) { return this.map.has(k); }
  // Serves a request whose first `matched` blocks were hits, as the sim's PrefixKvCache
  // allocate + release do: the hit blocks are taken out of the free list (they cannot be
  // evicted by this request's new blocks), each missing block evicts the least recently
  // used one, a block already cached elsewhere in the cache (after the hit run) is not
  // cached again nor refreshed, and the release puts the prompt's head most recent.
  serve(keys, matched) {
    for (let j = 0; j < matched; j++) this.map.delete(keys[j]);
    const fresh = [];
    for (let j = matched; j < keys.length; j++) {
      if (this.map.has(keys[j]) || fresh.includes(keys[j])) continue;
      while (this.map.size > 0 && this.map.size + matched + fresh.length >= this.capacity) this.map.delete(this.map.keys().next().value);
      fresh.push(keys[j]);
    }
    for (let j = fresh.length - 1; j >= 0; j--) this.map.set(fresh[j], true);
    for (let j = matched - 1; j >= 0; j--) this.map.set(keys[j], true);
  }
}

// The caches of `servers` sims, one request at a time: how many leading blocks of a
// prompt each holds, and the oracle's pick among them.
export class CacheModel {
  constructor({ servers = 4, capacity, blockTokens = 16, cacheKey = '' }) {
    this.blockTokens = blockTokens;
    this.cacheKey = cacheKey;
    this.caches = Array.from({ length: servers }, () => new Lru(capacity));
    this.load = new Array(servers).fill(0);  // requests sent to each
  }
  // The prompt's block keys and token count, and each server's matched leading blocks.
  match(prompt) {
    const { keys, tokens } = blockKeys(prompt, this.blockTokens, this.cacheKey);
    // The sim recomputes at least the last prompt token: a hit covers at most
    // (tokens - 1) / blockTokens blocks (src/sim/engine.cpp try_start).
    const cap = tokens > 0 ? Math.floor((tokens - 1) / this.blockTokens) : 0;
    const matched = this.caches.map((c) => { let n = 0; while (n < keys.length && n < cap && c.has(keys[n])) n++; return n; });
    return { keys, tokens, matched };
  }
  // The server holding the longest cached prefix (ties: the one sent the fewest requests).
  oraclePick({ matched }) {
    let s = 0;
    for (let j = 1; j < matched.length; j++) if (matched[j] > matched[s] || (matched[j] === matched[s] && this.load[j] < this.load[s])) s = j;
    return s;
  }
  serve(s, { keys, matched }) {
    this.load[s]++;
    this.caches[s].serve(keys, matched[s]);
  }
  // The oracle's pick for the next request, served in the model: a router a client can play.
  route(prompt) {
    const m = this.match(prompt);
    const s = this.oraclePick(m);
    this.serve(s, m);
    return s;
  }
}

// prompts: array of prompt strings in send order.
// Only requests from index countFrom on are counted (the ones before warm the caches).
export function replay(prompts, { servers = 4, capacity, blockTokens = 16, policy = 'oracle', cacheKey = '', countFrom = 0, choices = null }) {
  if (policy === 'given' && !(choices && choices.length >= prompts.length && choices.every((c) => Number.isInteger(c) && c >= 0 && c < servers)))
    throw new Error('policy given: need a server index for every request');
  const model = new CacheModel({ servers, capacity, blockTokens, cacheKey });
  const counted0 = () => model.load.slice();
  let loadAtCount = null;
  const seen = new Set();
  let queried = 0, hit = 0, compulsoryHit = 0, coldRequests = 0, bestPicked = 0, lostTokens = 0;
  prompts.forEach((p, i) => {
    if (i === countFrom) loadAtCount = counted0();
    const m = model.match(p);
    const { keys, tokens, matched } = m;
    const counted = i >= countFrom;
    let lead = 0;
    while (lead < keys.length && seen.has(keys[lead])) lead++;
    if (counted) { queried += tokens; compulsoryHit += lead * blockTokens; }
    for (const k of keys) seen.add(k);
    const s = policy === 'roundrobin' ? i % servers : policy === 'given' ? choices[i] : model.oraclePick(m);
    if (counted) {
      const best = Math.max(...matched);
      if (matched[s] === best) bestPicked++;
      lostTokens += (best - matched[s]) * blockTokens;
      hit += matched[s] * blockTokens;
      if (matched[s] * blockTokens * 2 < tokens) coldRequests++;
    }
    model.serve(s, m);
  });
  return {
    policy, requests: prompts.length - countFrom, warmup: countFrom, queriedTokens: queried, hitTokens: hit,
    hitRate: queried ? hit / queried : 0,
    bestPicked, lostTokens,
    coldRequests, // requests with less than half their prompt cached (their TTFT is a miss's)
    compulsoryHitRate: queried ? compulsoryHit / queried : 0,
    shares: model.load.map((n, j) => (n - (loadAtCount ? loadAtCount[j] : 0)) / Math.max(1, prompts.length - countFrom)),
  };
}
