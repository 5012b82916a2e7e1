#!/usr/bin/env node
// Issue 70: what a hub adds, in CPU per request. The same closed-loop load runs through
//   flat: one ringgate over 2 sims, and
//   hub:  a hub ringgate over one leaf ringgate over 2 sims (one more proxy hop),
// and each gateway's user + system CPU is read from /proc before and after. The hub's
// CPU per request is the added cost of the hop (its leaf costs what the flat gateway does).
// Usage: node perf/hub/overhead.mjs [requests=4000] [concurrency=16] [rounds=2]
// (RINGGATE_BUILD_DIR: the build to run, default ./build.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim, startGateway } from '../../tests/lib/procs.mjs';
import { cpuSeconds } from '../../tests/lib/proc_stat.mjs';

const [requests = 4000, concurrency = 16, rounds = 2] = process.argv.slice(2).map(Number);
const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-hub-perf-'));

async function gateway(lines) {
  const file = path.join(dir, `g${live.length}.yaml`);
  fs.writeFileSync(file, ['apiVersion: ringgate.io/v1', 'kind: Gateway', ...lines, ''].join('\n'));
  const gw = await startGateway(['--config', file, '--workers', '1']);
  live.push(gw);
  return gw;
}
const sims = async () => {
  const s = await Promise.all([startSim(), startSim()]);
  live.push(...s);
  return s;
};
const staticOf = (s) => `    static: [${s.map((x) => `"127.0.0.1:${x.port}"`).join(', ')}]`;

async function routable(gw) {
  for (const t0 = Date.now(); Date.now() - t0 < 10000;) {
    const d = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
    if (d.endpoints.length && d.endpoints.every((e) => e.routable)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not routable');
}

async function load(url) {
  let next = 0, failed = 0;
  const body = JSON.stringify({ model: MODEL, prompt: 'What a hub costs per request, ', max_tokens: 8 });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.status !== 200) failed++;
    }
  }));
  return { seconds: (performance.now() - t0) / 1000, failed };
}

// CPU microseconds per request of each gateway of `gws` during a run through `url`.
async function measure(url, gws) {
  await load(url);  // warm: connections, pools
  const before = gws.map((g) => cpuSeconds(g.proc.pid));
  const run = await load(url);
  const us = gws.map((g, i) => ((cpuSeconds(g.proc.pid) - before[i]) * 1e6) / requests);
  return { ...run, us };
}

try {
  const flatSims = await sims();
  const flat = await gateway(['pool:', '  discovery:', staticOf(flatSims)]);
  const leafSims = await sims();
  const leaf = await gateway(['pool:', '  discovery:', staticOf(leafSims)]);
  const hub = await gateway(['pool:', '  discovery:', '    static:',
    `    - {address: "127.0.0.1:${leaf.port}", kind: gateway, admin: "127.0.0.1:${leaf.adminPort}"}`]);
  await Promise.all([routable(flat), routable(leaf), routable(hub)]);
  console.log(`${requests} requests, ${concurrency} at once, max_tokens 8, 1 worker each; CPU from /proc (10 ms ticks)`);
  console.log('round | flat us/req | hub us/req | its leaf us/req | hub/flat | flat req/s | hub req/s | failed');
  for (let r = 1; r <= rounds; r++) {
    const f = await measure(flat.url, [flat]);
    const h = await measure(hub.url, [hub, leaf]);
    console.log(`${r} | ${f.us[0].toFixed(1)} | ${h.us[0].toFixed(1)} | ${h.us[1].toFixed(1)} | ` +
      `${(h.us[0] / f.us[0]).toFixed(2)}x | ${(requests / f.seconds).toFixed(0)} | ${(requests / h.seconds).toFixed(0)} | ` +
      `${f.failed + h.failed}`);
  }
} finally {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
