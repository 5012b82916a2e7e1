// A model server that sends its response head and dies before the first body byte (a
// crash during prefill: vLLM sends the head of a stream at once, its first token only
// after the prompt is read). The client saw nothing yet, so the gateway holds the head
// and routes the request around the dead server: the client gets a whole answer from
// another one. With no retry left, it gets a JSON 502, not a 200 cut by an error event.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';
import { startFakeVllm } from '../lib/fake_vllm.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dirs = [];
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// Head out, then the connection drops: an SSE head for streams, a Content-Length head otherwise.
function dieAfterHead(req, body, res) {
  const stream = JSON.parse(body).stream === true;
  res.writeHead(200, stream ? { 'content-type': 'text/event-stream; charset=utf-8' }
                            : { 'content-type': 'application/json', 'content-length': '400' });
  res.flushHeaders();
  setTimeout(() => res.socket.destroy(), 30);
}

async function gatewayFor(endpoints, budget) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-prefill-death-'));
  dirs.push(dir);
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, [
    'apiVersion: ringgate.io/v1', 'kind: Gateway',
    'pool:', '  discovery:', `    static: [${endpoints.map((e) => `"${e}"`).join(', ')}]`,
    'health: {ejectAfterFailures: 100}',  // passive ejection would hide the dying server
    `retries: {budget: ${budget}, deadline: 5s}`, '',
  ].join('\n'));
  const gw = await startGateway(['--config', config, '--workers', '1']);
  live.push(gw);
  await waitRoutable(gw, endpoints.length);
  return gw;
}

async function send(url, i, stream) {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: `request ${i}`, max_tokens: 3, stream }),
  });
  return { status: r.status, dest: r.headers.get('x-gateway-destination-endpoint'), body: await r.text() };
}

test('a server that dies between its head and its first token is routed around unseen', { timeout: 60000 }, async () => {
  const dying = await startFakeVllm({ model: MODEL, onRequest: dieAfterHead });
  const good = await startSim(['--model', MODEL]);
  live.push(good, { stop: () => dying.stop() });
  const gw = await gatewayFor([dying.api, `127.0.0.1:${good.port}`], 2);
  for (const stream of [true, false]) {
    const before = dying.requests.length;
    for (let i = 0; i < 40 && dying.requests.length - before < 3; i++) {
      const r = await send(gw.url, i, stream);
      assert.equal(r.status, 200, `stream=${stream} request ${i}: ${r.body}`);
      assert.equal(r.dest, `127.0.0.1:${good.port}`, 'answered by the live server');
      assert.doesNotMatch(r.body, /"error"/, `no error reached the client: ${r.body}`);
      if (stream) assert.match(r.body, /data: \[DONE\]\n\n$/);
      else assert.equal(JSON.parse(r.body).object, 'text_completion');
    }
    assert.ok(dying.requests.length - before >= 3, `stream=${stream}: the dying server took ${dying.requests.length - before} requests (want ≥ 3)`);
  }
});

test('with no retry left the client gets a JSON 502, not a 200 cut by an error event', { timeout: 30000 }, async () => {
  const dying = await startFakeVllm({ model: MODEL, onRequest: dieAfterHead });
  live.push({ stop: () => dying.stop() });
  const gw = await gatewayFor([dying.api], 0);
  for (const stream of [true, false]) {
    const r = await send(gw.url, 0, stream);
    assert.equal(r.status, 502, r.body);
    assert.equal(JSON.parse(r.body).error.code, 'upstream_unavailable', r.body);
  }
});
