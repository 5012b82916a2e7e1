// Issue 70: a static pool entry's host name is resolved again every
// pool.discovery.resolveInterval, off the data path, and every address it resolves to is an
// endpoint on the entry's port; an address that leaves the answer leaves the pool, one
// that joins it joins, and a name that stops resolving keeps its last good addresses and
// counts ringgate_discovery_resolve_failures_total (docs/multi-cluster.md#static-entries-by-name).
//
// Through the real getaddrinfo: `localhost` as this machine's /etc/hosts has it (127.0.0.1,
// and ::1 where listed: no sim listens there, so that endpoint is unroutable and requests
// still succeed); then a name with two loopback addresses (127.0.0.2 and .3, both on lo)
// from a hosts file of the test's own, bind-mounted over /etc/hosts in a user and mount
// namespace of the gateway's own (unshare -rm), with an nsswitch.conf of "hosts: files":
// nothing asks a DNS server, and the machine's files are untouched. That part is skipped,
// saying why, where user namespaces are not allowed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { start, binaries, startSim, startGateway, gatewayArgs, scrape } from '../lib/procs.mjs';
import { waitFor } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-resolve-'));
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (entries) => [
  'apiVersion: ringgate.io/v1', 'kind: Gateway', 'pool:', '  discovery:', '    resolveInterval: 1s', '    static:',
  ...entries.map((e) => `    - ${e}`), '',
].join('\n');

function writeConfig(name, entries) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, config(entries));
  return file;
}

async function endpoints(gw) {
  return (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;
}
const addresses = async (gw) => (await endpoints(gw)).map((e) => e.address).sort();
const routable = async (gw) => (await endpoints(gw)).filter((e) => e.routable).map((e) => e.address).sort();
const failures = async (gw) => (await scrape(`${gw.adminUrl}/metrics`)).get('ringgate_discovery_resolve_failures_total');

// n completions with distinct prompts (placed apart by their first block): each must be 200.
async function complete(gw, n) {
  const served = new Set();
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: `prompt ${i} ${'x'.repeat(i % 7)} of a resolve test`, max_tokens: 2 }),
    });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    served.add(r.headers.get('x-gateway-destination-endpoint'));
  }
  return served;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

test('localhost: every address getaddrinfo gives is an endpoint, requests succeed', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  // What this machine's resolver says (node's lookup is getaddrinfo too).
  const found = await dns.lookup('localhost', { all: true });
  const want = [...new Set(found.map((a) => (a.family === 6 ? `[${a.address}]` : a.address) + `:${sim.port}`))].sort();
  const gw = await startGateway(['--config', writeConfig('localhost.yaml', [`localhost:${sim.port}`])]);
  live.push(gw);
  await waitFor(`/debug/endpoints lists ${want}`, async () => same(await addresses(gw), want));
  await waitFor('127.0.0.1 routable', async () => (await routable(gw)).includes(`127.0.0.1:${sim.port}`));
  const served = await complete(gw, 10);
  assert.deepEqual([...served], [`127.0.0.1:${sim.port}`]);
  assert.equal(await failures(gw), 0);
});

// A user + mount namespace where /etc/hosts and /etc/nsswitch.conf can be ours.
function namespaceProblem() {
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount --bind /etc/hosts /etc/hosts'], { encoding: 'utf8' });
  if (r.error) return `unshare: ${r.error.message}`;
  return r.status === 0 ? null : `unshare -rm + mount --bind refused here: ${r.stderr.trim()}`;
}
const skip = namespaceProblem() ?? false;

test('a name with two addresses: both endpoints; one leaves, comes back; a failed name keeps them', { skip }, async () => {
  const first = await start(binaries.sim, ['--host', '127.0.0.2', '--port', '0', '--model', MODEL]);
  live.push(first);
  const port = first.port;
  const second = await start(binaries.sim, ['--host', '127.0.0.3', '--port', String(port), '--model', MODEL]);
  live.push(second);
  const A = `127.0.0.2:${port}`, B = `127.0.0.3:${port}`;
  const hosts = path.join(dir, 'hosts');
  const nss = path.join(dir, 'nsswitch.conf');
  const setHosts = (...ips) =>
    fs.writeFileSync(hosts, ['127.0.0.1 localhost', ...ips.map((ip) => `${ip} rg-static.test`), ''].join('\n'));
  setHosts('127.0.0.2', '127.0.0.3');
  fs.writeFileSync(nss, 'hosts: files\n');
  const file = writeConfig('name.yaml', [`rg-static.test:${port}`]);
  // In place (the same inode) from now on: a bind mount holds the file, not its name.
  const gw = await start('unshare', ['-rm', 'sh', '-c',
    'h=$1; n=$2; shift 2; mount --bind "$h" /etc/hosts && mount --bind "$n" /etc/nsswitch.conf && exec "$@"',
    'sh', hosts, nss, binaries.ringgate, ...gatewayArgs(['--config', file])]);
  live.push(gw);

  await waitFor('both addresses routable', async () => same(await routable(gw), [A, B]), 10000);
  const served = await complete(gw, 30);
  assert.deepEqual([...served].sort(), [A, B], 'requests reach both addresses');

  setHosts('127.0.0.2');
  await waitFor(`${B} leaves the pool`, async () => same(await addresses(gw), [A]), 10000);
  assert.deepEqual([...(await complete(gw, 5))], [A]);

  setHosts('127.0.0.2', '127.0.0.3');
  await waitFor(`${B} joins again`, async () => same(await routable(gw), [A, B]), 10000);

  const before = await failures(gw);
  setHosts();  // the name is gone: the last good addresses stay
  await waitFor('a failed resolution counted', async () => (await failures(gw)) > before, 10000);
  assert.deepEqual(await addresses(gw), [A, B]);
  assert.equal((await complete(gw, 5)).size > 0, true);
  assert.match(gw.stderr(), /rg-static\.test does not resolve/);
});
