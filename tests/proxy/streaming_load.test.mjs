// 1,000 concurrent streaming clients through the gateway: every one must receive its
// complete, uncorrupted stream (each event valid JSON from its own completion id, the
// right number of tokens, then [DONE]).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startSim, startGateway } from '../lib/procs.mjs';
import { MODEL } from './raw_http.mjs';

const CLIENTS = 1000;
const TOKENS = 12;
let sims = [];
let gw;

before(async () => {
  const simArgs = ['--model', MODEL, '--inter-token-latency-ms', '20', '--max-num-seqs', '1024'];  // the sim's queue is unbounded, as vLLM's
  sims = await Promise.all([startSim(simArgs), startSim(simArgs)]);
  gw = await startGateway(['--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api])]);
});
after(async () => {
  await gw?.stop();
  await Promise.all(sims.map((s) => s.stop()));
});

function streamOnce(agent, index) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: MODEL, prompt: `client ${index} says hello`, max_tokens: TOKENS, stream: true });
    const req = http.request({
      host: '127.0.0.1', port: gw.port, method: 'POST', path: '/v1/completions', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test(`${CLIENTS} concurrent streams arrive complete and uncorrupted`, { timeout: 150000 }, async () => {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: CLIENTS }, (_, i) => streamOnce(agent, i)));
  const elapsed = Date.now() - started;
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} clients failed`);
  const ids = new Set();
  for (const { value } of results) {
    assert.equal(value.status, 200);
    const events = value.text.split('\n\n').filter((e) => e.length > 0);
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => {
      assert.ok(e.startsWith('data: '), `bad event ${JSON.stringify(e).slice(0, 100)}`);
      return JSON.parse(e.slice(6));
    });
    const id = chunks[0].id;
    assert.ok(chunks.every((c) => c.id === id), 'one stream, one completion id');
    const finished = chunks.filter((c) => c.choices?.[0]?.finish_reason);
    assert.equal(finished.length, 1);
    assert.ok(chunks.length >= TOKENS, `${chunks.length} chunks`);
    ids.add(id);
  }
  assert.equal(ids.size, CLIENTS, 'no stream was delivered twice or to another client');
  assert.ok(elapsed < 120000, `took ${elapsed} ms`);
  console.log(`# ${CLIENTS} streams in ${elapsed} ms`);
});
