// Prefix affinity through the real gateway: with 2 workers (connections spread
// across both by SO_REUSEPORT), requests that share a long prompt prefix land on
// the same endpoint, whichever worker schedules them; different prefixes spread.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startSim, startGateway } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { await Promise.all(live.map((p) => p.stop('SIGKILL'))); });

// Deterministic pseudo-text so every run sends the same prompts.
function text(seed, bytes) {
  let x = seed * 2654435761 % 4294967296;
  const words = [];
  let n = 0;
  while (n < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const w = 'w' + (x % 9973).toString(36);
    words.push(w);
    n += w.length + 1;
  }
  return words.join(' ');
}

function post(agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, endpoint: res.headers['x-gateway-destination-endpoint'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('requests sharing a prefix land on the same endpoint >= 99% of the time with 2 workers', async () => {
  const sims = await Promise.all([0, 1, 2, 3].map(() => startSim(['--model', MODEL])));
  live.push(...sims);
  const gw = await startGateway(['--workers', '2', ...sims.flatMap((s) => ['--endpoint', s.api])]);
  live.push(gw);

  const families = 12;
  const perFamily = 40;
  const prefixes = Array.from({ length: families }, (_, f) => text(f + 1, 4096));
  // 16 separate connections per round: the kernel spreads them over both workers.
  const agents = Array.from({ length: 16 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const seen = prefixes.map(() => new Map());
  let sent = 0;
  for (let round = 0; round < perFamily; round++) {
    await Promise.all(prefixes.map(async (prefix, f) => {
      const agent = agents[(round * families + f) % agents.length];
      const res = await post(agent, gw.port, { model: MODEL, prompt: `${prefix} question ${round} of family ${f}`, max_tokens: 2 });
      assert.equal(res.status, 200);
      assert.ok(res.endpoint, 'x-gateway-destination-endpoint is set');
      seen[f].set(res.endpoint, (seen[f].get(res.endpoint) ?? 0) + 1);
      sent++;
    }));
  }
  for (const a of agents) a.destroy();

  let onHome = 0;
  const homes = new Set();
  for (const counts of seen) {
    const [home, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    homes.add(home);
    onHome += n;
  }
  const share = onHome / sent;
  console.log(`prefix affinity: ${onHome}/${sent} = ${share.toFixed(4)} on each family's endpoint; ${homes.size} distinct homes`);
  assert.ok(share >= 0.99, `share on the family's endpoint ${share} < 0.99`);
  assert.ok(homes.size >= 2, 'different prefixes spread over more than one endpoint');

  // Both workers served: each keeps its own per-worker counters, summed at scrape.
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  // (one success series per endpoint chosen: summed)
  let attempts = 0;
  for (const m of metrics.matchAll(/^inference_extension_scheduler_attempts_total\{[^}]*status="success"[^}]*\} (\d+)$/gm)) attempts += Number(m[1]);
  assert.ok(attempts >= sent, `scheduling attempts ${attempts} < ${sent}`);
});
