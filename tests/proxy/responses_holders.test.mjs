// Issue 71 §7, Responses holders: a chain (previous_response_id) names a response that
// lives in one model server's memory, so it goes to that server whatever the server's
// health says of new work. A holder that is draining (its endpoint not Ready, then
// terminating) or failing its /metrics scrapes is still in the pool and still holds the
// chain: its turns go on there. Only a holder that has left the pool (its EndpointSlice
// deleted, its static entry removed by a reload) answers previous_response_not_found,
// though its process still runs. Pins RequestRouter::route_to, which takes an endpoint
// of the snapshot whether or not it is routable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startSim, startGateway } from '../lib/procs.mjs';
import { responseTurn, pool, describe } from '../lib/responses_chain.mjs';
import { waitFor } from '../lib/timing.mjs';
import { FakeKubeApi, endpoint } from '../discovery/fake_kube_api.mjs';

const MODEL = 'facebook/opt-125m';
const CHAINS = 16;
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-holders-'));
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});
const keep = (p) => { live.push(p); return p; };
const storingSim = async () => keep(await startSim(['--model', MODEL, '--inter-token-latency-ms', '1'],
  { env: { VLLM_ENABLE_RESPONSES_API_STORE: '1' } }));

// A front for `sim` that passes everything on, except that /metrics answers 500 while
// `failing` is set: the server serves, its scrapes fail.
async function metricsFailingFront(sim) {
  const agent = new http.Agent({ keepAlive: true });
  const handle = { failing: false };
  const server = http.createServer((req, res) => {
    if (handle.failing && req.url === '/metrics') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape refused by the test\n');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: sim.port, method: req.method, path: req.url,
      headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  handle.api = `127.0.0.1:${server.address().port}`;
  handle.stop = () => { server.closeAllConnections(); agent.destroy(); return new Promise((r) => server.close(r)); };
  return keep(handle);
}

const endpoints = async (gw) => (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;
const view = async (gw) => {
  const eps = await endpoints(gw);
  const addresses = (list) => list.map((e) => e.address).sort();
  return { known: addresses(eps), routable: addresses(eps.filter((e) => e.routable)) };
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify([...b].sort());
const until = (gw, what, want) => waitFor(what, async () => {
  const v = await view(gw);
  return same(v.routable, want.routable) && (!want.known || same(v.known, want.known));
});

// CHAINS first turns (odd chains stream): chain -> { id, holder }; both servers hold some.
async function startChains(client, holders) {
  const outcomes = await pool(CHAINS, 4, (chain) => responseTurn(client, MODEL, chain, 0, null));
  const last = new Map();
  outcomes.forEach((o, chain) => {
    assert.equal(o.ok, true, `chain ${chain}: ${describe(o.error)}`);
    last.set(chain, o.value);
  });
  for (const h of holders)
    assert.ok([...last.values()].some((l) => l.holder === h), `no chain held by ${h}: ${JSON.stringify([...last])}`);
  return last;
}

// The next turn of every chain: each goes to its holder, unless it is in `gone`, whose
// chains answer 404 previous_response_not_found.
async function nextTurns(client, last, turn, label, gone = null) {
  const outcomes = await pool(CHAINS, 4, (chain) => responseTurn(client, MODEL, chain, turn, last.get(chain).id));
  for (const [chain, { holder }] of last) {
    const o = outcomes[chain];
    if (holder === gone) {
      assert.equal(o.ok, false, `${label}: chain ${chain} went on though its holder ${holder} left the pool`);
      assert.equal(o.error.status, 404, `${label}: chain ${chain}: ${describe(o.error)}`);
      assert.equal(o.error.code, 'previous_response_not_found', `${label}: chain ${chain}: ${describe(o.error)}`);
      continue;
    }
    assert.equal(o.ok, true, `${label}: chain ${chain} (held by ${holder}): ${describe(o.error)}`);
    assert.equal(o.value.holder, holder, `${label}: chain ${chain} left its holder`);
    last.set(chain, o.value);
  }
}

const clientOf = (gw) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });

test('a holder failing its scrapes keeps its chains; removed by a reload, they answer previous_response_not_found',
  { timeout: 90000 }, async () => {
    const a = await storingSim();
    const front = await metricsFailingFront(await storingSim());
    const [A, B] = [a.api, front.api];
    const file = path.join(dir, 'static.yaml');
    const config = (servers) => fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway',
      `pool: {name: vllm, discovery: {static: [${servers.map((s) => `"${s}"`).join(', ')}]}}`, ''].join('\n'));
    config([A, B]);
    const gw = keep(await startGateway(['--config', file, '--workers', '2']));
    await until(gw, 'both routable', { routable: [A, B] });
    const client = clientOf(gw);
    const last = await startChains(client, [A, B]);

    front.failing = true;
    await until(gw, 'B unroutable (its scrapes fail)', { routable: [A], known: [A, B] });
    const b = (await endpoints(gw)).find((e) => e.address === B);
    assert.match(b.health.last_error, /500/, JSON.stringify(b.health));
    // New work goes elsewhere; the chains B holds go on there.
    assert.equal((await responseTurn(client, MODEL, 0, 0, null)).holder, A);
    await nextTurns(client, last, 1, 'scrapes failing');

    // The reload takes B out of the pool: its server still runs, its chains are lost.
    config([A]);
    gw.proc.kill('SIGHUP');
    await until(gw, 'B left the pool', { routable: [A], known: [A] });
    await nextTurns(client, last, 2, 'removed by a reload', B);
  });

test('a holder not Ready, then terminating, keeps its chains; its EndpointSlice deleted, they answer not-found',
  { timeout: 90000 }, async () => {
    const sims = [await storingSim(), await storingSim()];
    const [A, B] = sims.map((s) => s.api);
    const slice = (i, conditions) => ({
      service: 'vllm', ports: [{ name: 'http', protocol: 'TCP', port: sims[i].port }],
      endpoints: [endpoint('127.0.0.1', { pod: `vllm-${i}`, ...conditions })],
    });
    const api = await new FakeKubeApi().start();
    live.push({ stop: () => api.close() });
    const file = path.join(dir, 'kube.yaml');
    fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    kubernetes:',
      '      namespace: default', '      service: vllm', '      port: http', `      apiServer: ${api.url}`, '',
    ].join('\n'));
    api.createSlice('vllm-0', slice(0));
    api.createSlice('vllm-1', slice(1));
    const gw = keep(await startGateway(['--config', file, '--workers', '2']));
    await until(gw, 'both routable', { routable: [A, B] });
    const client = clientOf(gw);
    const last = await startChains(client, [A, B]);

    const conditions = (c) => (s) => { s.endpoints[0].conditions = c; };
    api.updateSlice('vllm-1', conditions({ ready: false, serving: false, terminating: false }));
    await until(gw, 'B not ready', { routable: [A], known: [A, B] });
    assert.equal((await responseTurn(client, MODEL, 0, 0, null)).holder, A);
    await nextTurns(client, last, 1, 'not ready');

    api.updateSlice('vllm-1', conditions({ ready: false, serving: true, terminating: true }));
    await waitFor('B terminating', async () => (await endpoints(gw)).find((e) => e.address === B)?.terminating);
    await nextTurns(client, last, 2, 'terminating');

    api.deleteSlice('vllm-1');
    await until(gw, 'B left the pool', { routable: [A], known: [A] });
    await nextTurns(client, last, 3, 'slice deleted', B);
  });
