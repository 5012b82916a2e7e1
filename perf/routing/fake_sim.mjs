#!/usr/bin/env node
// A stand-in for ringgate-sim, for testing these scripts when the real binary is not
// built (RINGGATE_SIM_BIN=perf/routing/fake_sim.mjs). Speaks the subset the scripts use:
// POST /v1/completions and /v1/chat/completions (stream or not; chat rendered as the sim
// does, `role: content\n` per message then `assistant: `; --mode echo answers with the last message), GET /v1/models, /health, /metrics with vLLM's
// counter names; 4-byte tokens, chained block hashes, an LRU prefix cache of --kv-blocks,
// prefill time per uncached token, inter-token latency, --max-num-seqs with a queue.
// Not a benchmark subject: the numbers only check the plumbing.
import http from 'node:http';
import { blockKeys } from './oracle.mjs';
import { chatPromptText } from '../loadgen/workload.mjs';

const opt = { host: '127.0.0.1', port: 8000, model: 'facebook/opt-125m', 'kv-blocks': 8192, 'block-size': 16,
  'prefill-time-per-token-us': 0, 'inter-token-latency-ms': 0, 'max-num-seqs': 256, mode: 'random' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'help') { console.log('fake ringgate-sim: --host --port --model --kv-blocks --block-size --prefill-time-per-token-us --inter-token-latency-ms --max-num-seqs --mode echo|random'); process.exit(0); }
  if (k in opt) opt[k] = typeof opt[k] === 'number' ? Number(argv[++i]) : argv[++i]; else i++;
}
const cache = new Map();
const c = { hits: 0, queries: 0, success: 0, running: 0, waiting: 0 };
const queue = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function slot() {
  if (c.running < opt['max-num-seqs']) { c.running++; return; }
  c.waiting++;
  await new Promise((r) => queue.push(r));
  c.waiting--;
}
function release() { const n = queue.shift(); if (n) n(); else c.running--; }

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    if (req.url === '/metrics') {
      const l = `{model_name="${opt.model}"}`;
      return res.end([`vllm:prefix_cache_hits_total${l} ${c.hits}`, `vllm:prefix_cache_queries_total${l} ${c.queries}`,
        `vllm:request_success_total{finished_reason="length",model_name="${opt.model}"} ${c.success}`,
        `vllm:num_requests_running${l} ${c.running}`, `vllm:num_requests_waiting${l} ${c.waiting}`, ''].join('\n'));
    }
    if (req.url === '/health') return res.end();
    if (req.url === '/v1/models') return res.end(JSON.stringify({ object: 'list', data: [{ id: opt.model, object: 'model' }] }));
    const chat = req.url === '/v1/chat/completions';
    if (req.url !== '/v1/completions' && !chat) { res.writeHead(404); return res.end('{"error":{"message":"not found"}}'); }
    const b = JSON.parse(body);
    await slot();
    const { keys, tokens } = blockKeys(chat ? chatPromptText(b.messages) : b.prompt, opt['block-size'], opt.model);
    let n = 0;
    while (n < keys.length && cache.has(keys[n])) n++;
    for (let j = keys.length - 1; j >= 0; j--) {
      if (cache.has(keys[j])) cache.delete(keys[j]);
      else while (cache.size >= opt['kv-blocks']) cache.delete(cache.keys().next().value);
      cache.set(keys[j], 1);
    }
    const hit = Math.min(n * opt['block-size'], tokens);
    c.hits += hit; c.queries += tokens;
    await sleep(((tokens - hit) * opt['prefill-time-per-token-us']) / 1000);
    const itl = opt['inter-token-latency-ms'], limit = b.max_tokens || 16;
    const echo = opt.mode === 'echo' ? (chat ? b.messages.at(-1).content : b.prompt) : '';
    const toks = echo ? Array.from({ length: Math.min(limit, Math.ceil(echo.length / 4)) }, (_, t) => echo.slice(4 * t, 4 * t + 4))
      : Array(limit).fill(' tok');
    const choice = (text, last) => (chat ? { index: 0, [b.stream ? 'delta' : 'message']: { role: 'assistant', content: text }, finish_reason: last ? 'length' : null }
      : { index: 0, text, finish_reason: last ? 'length' : null });
    const object = chat ? (b.stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    if (b.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let t = 0; t < toks.length; t++) {
        await sleep(itl);
        res.write(`data: ${JSON.stringify({ id: 'cmpl-1', object, choices: [choice(toks[t], t === toks.length - 1)] })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    } else {
      await sleep(itl * toks.length);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'cmpl-1', object, choices: [choice(toks.join(''), true)] }));
    }
    c.success++;
    release();
  });
});
server.listen(opt.port, opt.host, () => console.log(JSON.stringify({ event: 'listening', api: `${opt.host}:${server.address().port}` })));
process.on('SIGTERM', () => { server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 5000).unref(); });
