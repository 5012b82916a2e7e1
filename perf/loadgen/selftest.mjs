#!/usr/bin/env node
// Self-test of the load client against an in-process fake OpenAI server whose answer
// depends on the request index (`Request <seed>-<i>:` in the prompt): checks that each
// failure kind is classified as it should be, that TTFT is measured, and that two runs
// with the same seed send the same prompts. Run: node perf/loadgen/selftest.mjs
import http from 'node:http';
import assert from 'node:assert/strict';
import { runLoad, tpotOf } from './loadgen.mjs';
import { makeWorkload, completionPrompt, chatPromptText, echoAnswer } from './workload.mjs';

const modes = ['ok', 'http500', 'sse_error', 'truncate', 'reset', 'ok', 'hang', 'nonstream_error_body'];
const seen = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const b = JSON.parse(body);
    seen.push(b.prompt);
    const i = Number(/Request \d+-(\d+):/.exec(b.prompt)[1]);
    const mode = modes[i % modes.length];
    res.setHeader('x-gateway-destination-endpoint', `127.0.0.1:${9000 + (i % 2)}`);
    if (mode === 'http500') { res.writeHead(500, { 'content-type': 'application/json' }); return res.end('{"error":{"message":"boom"}}'); }
    if (mode === 'nonstream_error_body' && !b.stream) { res.writeHead(200, { 'content-type': 'application/json' }); return res.end('{"error":{"message":"odd"}}'); }
    if (!b.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (mode === 'truncate') return res.end('{"choices":[{"te');
      if (mode === 'reset') { res.write('{"choi'); return setTimeout(() => res.socket.destroy(), 5); }
      if (mode === 'hang') { res.write('{"choi'); return; }
      return res.end(JSON.stringify({ choices: [{ text: 'hello', index: 0 }] }));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (t) => res.write(`data: ${JSON.stringify({ choices: [{ text: t, index: 0 }] })}\n\n`);
    chunk('');
    setTimeout(() => {
      chunk('hi');
      if (mode === 'sse_error') { res.write('event: error\ndata: {"error":{"message":"upstream died"}}\n\n'); return res.end(); }
      if (mode === 'truncate') return res.end();
      if (mode === 'reset') return res.socket.destroy();
      if (mode === 'hang') return;
      chunk(' there');
      res.end('data: [DONE]\n\n');
    }, 20);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;

const expect = { ok: 'ok', http500: 'http_500', sse_error: 'sse_error', truncate: 'truncated', reset: 'truncated', hang: 'timeout' };
for (const streamFraction of [1, 0]) {
  const s = await runLoad({ url, rate: 200, requests: 32, duration: 0, streamFraction, timeoutMs: 500, records: true, timeline: true, seed: 7 });
  for (const r of s.records) {
    const mode = modes[r.i % modes.length];
    const want = mode === 'nonstream_error_body' ? (r.stream ? 'ok' : 'body_error')
      : mode === 'sse_error' && !r.stream ? 'ok' : expect[mode];
    assert.equal(r.outcome, want, `request ${r.i} (${mode}, stream=${r.stream}): ${r.outcome} ${r.detail}`);
    if (r.outcome === 'ok' && r.stream) assert.ok(r.tFirstContent >= 15, `ttft ${r.tFirstContent}`);
  }
  assert.equal(s.sent, 32);
  assert.ok(s.destinations['127.0.0.1:9000'] === 16);
  console.log(`stream=${streamFraction}: outcomes ${JSON.stringify(s.outcomes)} ttft ${JSON.stringify(s.ttftMs)}`);
}

// Determinism: the same seed gives the same prompts in the same order.
seen.length = 0;
await runLoad({ url, rate: 500, requests: 16, duration: 0, streamFraction: 1, timeoutMs: 300, seed: 3 });
const first = seen.slice().sort();
const wl = makeWorkload({ kind: 'A', seed: 3 });
const expected = Array.from({ length: 16 }, () => completionPrompt(wl.next())).sort();
assert.deepEqual(first, expected);
// Workload B: unique prompts, no shared first 64 bytes.
const b = makeWorkload({ kind: 'B', seed: 3 });
const heads = new Set(Array.from({ length: 200 }, () => completionPrompt(b.next()).slice(0, 64)));
assert.equal(heads.size, 200);
server.close();
server.closeAllConnections();

// Workload S (inference-perf's shared_prefix): a fixed set of groups x perGroup prompts of
// exact token counts (4 bytes a token), shuffled once, then cycled in that order.
{
  const o = { kind: 'S', seed: 4, groups: 6, perGroup: 3, systemTokens: 50, questionTokens: 7 };
  const w = makeWorkload(o);
  const reqs = Array.from({ length: 3 * 18 }, () => w.next());
  const cycle = reqs.slice(0, 18).map(completionPrompt);
  assert.equal(new Set(cycle).size, 18);
  for (const p of cycle) assert.equal(p.length, 4 * (50 + 7));
  assert.deepEqual(reqs.slice(18, 36).map(completionPrompt), cycle);
  assert.deepEqual(reqs.slice(36).map(completionPrompt), cycle);
  for (let g = 0; g < 6; g++) assert.equal(new Set(reqs.filter((r) => r.promptId === g).map((r) => r.system)).size, 1);
  assert.notDeepEqual(reqs.slice(0, 18).map((r) => r.promptId), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
  assert.deepEqual(Array.from({ length: 18 }, makeWorkload(o).next).map(completionPrompt), cycle);
  assert.throws(() => makeWorkload({ ...o, groups: 0 }), /S: groups/);
}

// Workload C: deterministic; every turn carries the conversation's earlier turns and
// their answers (the sim's echo text); no conversation picked twice within minGap.
{
  const take = (seed) => { const w = makeWorkload({ kind: 'C', seed, answerTokens: 6 }); return Array.from({ length: 600 }, () => w.next()); };
  const c1 = take(5), c2 = take(5);
  assert.deepEqual(c1, c2);
  const last = new Map(), lastPick = new Map();
  for (const r of c1) {
    const m = r.messages;
    assert.equal(m[0].role, 'system');
    assert.equal(m.at(-1).role, 'user');
    assert.equal(r.answer, echoAnswer(m.at(-1).content, 6));
    assert.equal(r.answer.length, 24);
    const prev = last.get(r.promptId);
    if (prev) {
      assert.equal(r.turn, prev.turn + 1);
      assert.deepEqual(m.slice(0, -2), prev.messages);
      assert.deepEqual(m.at(-2), { role: 'assistant', content: prev.answer });
      assert.ok(r.i - lastPick.get(r.promptId) > makeWorkload({ kind: 'C' }).options.minGap);
    } else assert.equal(r.turn, 0);
    last.set(r.promptId, r); lastPick.set(r.promptId, r.i);
  }
  assert.ok([...last.values()].some((r) => r.turn >= 5), 'conversations grow');
  assert.equal(chatPromptText([{ role: 'system', content: 'a' }, { role: 'user', content: 'b c' }]), 'system: a\nuser: b c\nassistant: ');
}
// Workload C through the client: chat API, answers compared with the history's copy
// (the fake echoes like ringgate-sim --mode echo, but gets turn 1 wrong).
{
  const chat = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      assert.equal(req.url, '/v1/chat/completions');
      const b = JSON.parse(body);
      const content = b.messages.at(-1).content;
      let answer = content.slice(0, 4 * b.max_tokens);
      if (content.startsWith('Turn 1 ')) answer += 'x';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let o = 0; o < answer.length; o += 4)
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: answer.slice(o, o + 4) }, index: 0 }] })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((r) => chat.listen(0, '127.0.0.1', r));
  const s = await runLoad({ url: `http://127.0.0.1:${chat.address().port}`, workload: 'C', rate: 400, requests: 200, duration: 0,
    maxTokens: 5, seed: 9, records: true });
  chat.close();
  chat.closeAllConnections();
  const w = makeWorkload({ kind: 'C', seed: 9, answerTokens: 5 });
  const turn1 = Array.from({ length: 200 }, () => w.next()).filter((r) => r.turn === 1).length;
  assert.equal(s.ok, 200);
  assert.equal(s.answersChecked, 200);
  assert.ok(turn1 > 0);
  assert.equal(s.answerMismatches, turn1);
  console.log(`workload C: ${s.answersChecked} answers checked, ${s.answerMismatches} differ (the ${turn1} turn-1 answers the fake got wrong)`);
}
// TPOT: 5 content chunks 15 ms apart after an empty role chunk (chat): (last − first) / 4,
// custom headers reach the server.
{
  let sawHeader = 0;
  const paced = http.createServer((req, res) => {
    if (req.headers['x-llm-d-slo-tpot-ms'] === '40') sawHeader++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { role: 'assistant', content: '' }, index: 0 }] })}\n\n`);
      let k = 0;
      const tick = () => {
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: ` w${k}` }, index: 0 }] })}\n\n`);
        if (++k < 5) setTimeout(tick, 15); else res.end('data: [DONE]\n\n');
      };
      tick();
    });
  });
  await new Promise((r) => paced.listen(0, '127.0.0.1', r));
  const s = await runLoad({ url: `http://127.0.0.1:${paced.address().port}`, api: 'chat', rate: 50, requests: 4, duration: 0,
    seed: 2, records: true, headers: { 'x-llm-d-slo-tpot-ms': '40' } });
  paced.close();
  paced.closeAllConnections();
  assert.equal(s.ok, 4);
  assert.equal(sawHeader, 4);
  for (const r of s.records) {
    assert.equal(r.contentChunks, 5);
    assert.ok(tpotOf(r) >= 14 && tpotOf(r) < 200, `tpot ${tpotOf(r)}`);
  }
  assert.equal(s.tpotMs.n, 4);
  console.log(`tpot: ${JSON.stringify(s.tpotMs)}`);
}
console.log('loadgen selftest: PASS');
