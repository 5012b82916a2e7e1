// Issue 6, acceptance 3: gateway replacement under load. A second ringgate starts on the
// same API port (SO_REUSEPORT; its own admin port), then the first gets SIGTERM: its
// /readyz turns 503 at once, it stops accepting, finishes what it has and exits 0 — and
// a steady keep-alive client (streaming and non-streaming) sees zero failed requests over
// the switch. The draining gateway answers requests already on the wire with
// `connection: close`, so the client moves its connections to the new gateway. A pooled
// connection still idle after the drain's grace is closed; a request the client puts on it
// as the close crosses is sent again on a new connection, as HTTP clients do (the OpenAI SDK
// does; a client stalled at that moment can put dozens there at once). Such a retry counts,
// and may only happen after the SIGTERM. tests/failover/gateway_drain.test.mjs pins, without
// retries, that the drain never closes a connection under a request that reached it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { startFakeVllm, json } from '../lib/fake_vllm.mjs';
import { runLoad, sendOne } from '../../perf/loadgen/loadgen.mjs';

const MODEL = 'facebook/opt-125m';
const SIM_ARGS = ['--model', MODEL, '--inter-token-latency-ms', '10', '--max-num-seqs', '256'];
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop('SIGKILL'); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('second gateway on the same port, first one SIGTERMed under load: zero failed requests', { timeout: 60000 }, async () => {
  const sims = [await startSim(SIM_ARGS), await startSim(SIM_ARGS)];
  live.push(...sims);
  const eps = sims.flatMap((s) => ['--endpoint', `127.0.0.1:${s.port}`]);
  const first = await startGateway([...eps, '--workers', '2', '--drain-timeout-ms', '10000']);
  live.push(first);
  const port = first.port;

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  // The load runs until 4 s after the first gateway has exited (timed from that event,
  // not from the start: under the sanitizers, with other tests beside it, starting the
  // second gateway and draining the first take seconds longer); 30 s bounds it.
  const stopLoad = new AbortController();
  const load = runLoad({
    url: `http://127.0.0.1:${port}`, model: MODEL, rate: 100, duration: 30, streamFraction: 0.5, maxTokens: 16,
    seed: 7, workload: 'A', workloadOptions: { minBytes: 128, maxBytes: 512, prompts: 16 }, timeoutMs: 10000,
    records: true, t0, signal: stopLoad.signal, retryReused: true,
  });
  const ev = {};
  const chaos = (async () => {
    await sleep(2000);
    // Same API port (the later --listen wins over the helper's 127.0.0.1:0), own admin port.
    const second = await startGateway([...eps, '--workers', '2', '--listen', `127.0.0.1:${port}`]);
    live.push(second);
    ev.secondListening = now();
    assert.equal(second.port, port, 'the second gateway shares the API port');
    await sleep(Math.max(0, 4000 - now()));
    const before = await scrape(`${first.adminUrl}/metrics`);
    ev.firstRequestsBeforeTerm = before.get('ringgate_requests_total');
    ev.term = now();
    const exited = new Promise((resolve) => first.proc.once('exit', (code, signal) => resolve({ code, signal, at: now() })));
    first.proc.kill('SIGTERM');
    // /readyz goes 503 while the first one drains (the signal takes a moment to be
    // handled; once the process is gone the port refuses).
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${first.adminUrl}/readyz`);
        if (r.status === 503) { ev.readyzWhileDraining = 503; ev.readyz503After = Math.round(now() - ev.term); break; }
      } catch (e) {
        ev.readyzWhileDraining = `unreachable (${e.cause?.code ?? e.message})`;
        break;
      }
      await sleep(5);
    }
    const ex = await exited;
    ev.firstExit = ex;
    await sleep(4000);
    stopLoad.abort();
    return second;
  })();
  const [summary, second] = await Promise.all([load, chaos]);
  const recs = summary.records.filter(Boolean);
  const failed = recs.filter((r) => r.outcome !== 'ok');
  const retried = recs.filter((r) => r.retries);
  const afterTerm = recs.filter((r) => r.tStart > ev.term);
  const afterExit = recs.filter((r) => r.tStart > ev.firstExit.at);
  const secondMetrics = await scrape(`${second.adminUrl}/metrics`);
  console.log(`gateway replacement: ${recs.length} requests (${recs.filter((r) => r.stream).length} streaming), ` +
    `${failed.length} failed ${JSON.stringify(summary.outcomes)}, ${retried.length} sent again after a reset pooled connection` +
    `${retried.length ? ` (first sent at ${Math.round(retried[0].tStart)} ms)` : ''}; second listening at ${Math.round(ev.secondListening)} ms, ` +
    `SIGTERM at ${Math.round(ev.term)} ms, first exited ${JSON.stringify(ev.firstExit)} (drain took ${Math.round(ev.firstExit.at - ev.term)} ms), ` +
    `readyz while draining: ${ev.readyzWhileDraining} (${ev.readyz503After} ms after SIGTERM); first served ${ev.firstRequestsBeforeTerm} requests before SIGTERM, ` +
    `second ${secondMetrics.get('ringgate_requests_total')} in all; ${afterTerm.length} requests sent after SIGTERM, ${afterExit.length} after the first exited`);
  assert.ok(recs.length >= 800, `the load ran (${recs.length} requests)`);
  assert.deepEqual(failed.map((r) => `${r.i}: ${r.outcome} ${r.detail}`).slice(0, 10), [], 'zero failed requests');
  assert.deepEqual(retried.filter((r) => r.tStart < ev.term).map((r) => `${r.i}: ${r.firstDetail}`).slice(0, 10), [],
    'before the SIGTERM no pooled connection was reset');
  assert.equal(ev.firstExit.code, 0, `first gateway exit: ${JSON.stringify(ev.firstExit)}`);
  assert.ok(ev.firstExit.at - ev.term < 10000, 'it drained within its drain timeout');
  assert.equal(ev.readyzWhileDraining, 503, '/readyz answered 503 before the first gateway exited');
  assert.ok(ev.firstRequestsBeforeTerm > 0, 'the first gateway took traffic before the switch');
  // Requests sent after the SIGTERM may still be answered by the first one (on connections
  // it had open); everything sent after it exited was the second one's.
  assert.ok(afterExit.length > 300, `the load went on after the switch (${afterExit.length})`);
  assert.ok(secondMetrics.get('ringgate_requests_total') >= afterExit.length, 'the second gateway served everything after the first exited');
});

// A gateway that cannot route yet takes no connection. A second gateway joins the port
// while its one server holds back its first /v1/models answer (for 1.5 s; its probes may
// wait 30 s): until that arrives, every new connection must be the first gateway's (a
// second that listened at once would get about half of them, and answer each 503
// no_endpoint); then the second takes its share.
test('a second gateway on the port takes no connection before it can route', { timeout: 60000 }, async () => {
  const sim = await startSim(SIM_ARGS);
  live.push(sim);
  const first = await startGateway(['--endpoint', `127.0.0.1:${sim.port}`, '--workers', '2']);
  live.push(first);
  let modelsAsked, answerModels;
  const asked = new Promise((r) => { modelsAsked = r; }), answer = new Promise((r) => { answerModels = r; });
  const starting = await startFakeVllm({
    model: MODEL, beforeModels: () => { modelsAsked(); return answer; },
    onRequest: (req, body, res) => json(res, 200, { id: 'cmpl-second', object: 'text_completion', model: MODEL,
      choices: [{ index: 0, text: 'second', finish_reason: 'stop' }] }),
  });
  live.push({ stop: () => starting.stop() });
  const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-join-'));
  const config = path.join(dir, 'ringgate.yaml');
  writeFileSync(config, `apiVersion: ringgate.io/v1\nkind: Gateway\npool: {name: vllm, discovery: {static: ["${starting.api}"]}}\n` +
                        'metrics: {scrapeTimeout: 30s}\n');
  const secondStarted = startGateway(['--config', config, '--workers', '2', '--listen', `127.0.0.1:${first.port}`]);
  await asked;  // the second gateway is up, its workers bound to the port
  // One request per new connection, as a client that does not pool.
  const base = new URL(first.url), t0 = performance.now();
  const ask = (i) => sendOne({ agent: false, base, path: '/v1/completions', stream: false, headers: {}, timeoutMs: 10000, t0,
    body: { model: MODEL, prompt: `join ${i}`, max_tokens: 2 } });
  const whileStarting = [];
  while (performance.now() - t0 < 1500) whileStarting.push(await ask(whileStarting.length));
  answerModels();
  const second = await secondStarted;
  live.push(second);
  rmSync(dir, { recursive: true, force: true });
  const afterListening = [];
  for (let i = 0; i < 200 && starting.requests.length === 0; i++) afterListening.push(await ask(i));
  const bad = whileStarting.filter((r) => r.outcome !== 'ok');
  console.log(`joining gateway: ${whileStarting.length} requests on new connections while its server was starting, ` +
    `${bad.length} not ok ${JSON.stringify(bad.slice(0, 3).map((r) => `${r.status} ${r.detail}`))}; ` +
    `after it listened, its server had a request after ${afterListening.length}`);
  assert.ok(whileStarting.length >= 20, `${whileStarting.length} requests`);
  assert.deepEqual(bad.map((r) => `${r.outcome} ${r.detail}`).slice(0, 5), [], 'the first gateway served every one');
  assert.ok(starting.requests.length > 0, 'once it could route, the second gateway took connections on the port');
  assert.ok(afterListening.every((r) => r.outcome === 'ok'));
});
