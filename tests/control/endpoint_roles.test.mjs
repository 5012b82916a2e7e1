// Issue 31 (prefill/decode disaggregation), the pool side: each endpoint's role from a
// static pool entry ({address, role}; a plain "host:port" is both) or from the
// --endpoint HOST:PORT=ROLE flag, shown in /debug/endpoints as "role"; a reloaded file
// that gives an existing endpoint another role changes it in place.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSim, startGateway, waitRoutable } from '../lib/procs.mjs';

const MODEL = 'facebook/opt-125m';
const live = [];
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-roles-'));
after(async () => {
  for (const p of live.reverse()) await p.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function sims(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sim = await startSim(['--model', MODEL]);
    live.push(sim);
    out.push(sim.api);
  }
  return out;
}

// address -> role, from /debug/endpoints.
async function roles(gw) {
  const d = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
  return Object.fromEntries(d.endpoints.map((e) => [e.address, e.role]));
}

// Polls /debug/endpoints until its roles are `want`; throws with the last answer after timeoutMs.
async function untilRoles(gw, want, timeoutMs = 5000) {
  let last;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    last = await roles(gw);
    try {
      assert.deepEqual(last, want);
      return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(last, want);
}

const config = (entries) => `apiVersion: ringgate.io/v1
kind: Gateway
pool:
  discovery:
    static:
${entries.map((e) => `    - ${e}`).join('\n')}
`;

test('static pool entries of each role show in /debug/endpoints; a reload changes a role in place', async () => {
  const [A, B, C, D] = await sims(4);
  const file = path.join(dir, 'roles.yaml');
  writeFileSync(file, config([`"${A}"`, `{address: "${B}", role: prefill}`, `{address: "${C}", role: decode}`,
    `{address: "${D}", role: both}`]));
  const gw = await startGateway(['--config', file, '--workers', '1']);
  live.push(gw);
  await waitRoutable(gw, 4);
  assert.deepEqual(await roles(gw), { [A]: 'both', [B]: 'prefill', [C]: 'decode', [D]: 'both' });
  const before = (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;

  // The same endpoints, roles swapped: the same ids (not removed and added again), new roles.
  writeFileSync(file, config([`{address: "${A}", role: decode}`, `"${B}"`, `{address: "${C}", role: prefill}`,
    `{address: "${D}", role: both}`]));
  gw.proc.kill('SIGHUP');
  await untilRoles(gw, { [A]: 'decode', [B]: 'both', [C]: 'prefill', [D]: 'both' });
  const after = (await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json()).endpoints;
  const ids = (list) => Object.fromEntries(list.map((e) => [e.address, e.id]));
  assert.deepEqual(ids(after), ids(before));

  // A file with a bad role is rejected whole: the running roles stay.
  writeFileSync(file, config([`{address: "${A}", role: prefil}`]));
  gw.proc.kill('SIGHUP');
  const t0 = performance.now();
  while (!/config reload rejected/.test(gw.stderr())) {
    assert.ok(performance.now() - t0 < 5000, 'the bad file was not rejected');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(gw.stderr(), /pool\.discovery\.static\[0\]\.role: must be prefill, decode or both \(got "prefil"\)/);
  assert.deepEqual(await roles(gw), { [A]: 'decode', [B]: 'both', [C]: 'prefill', [D]: 'both' });
});

test('--endpoint HOST:PORT=ROLE gives the role; plain HOST:PORT is both', async () => {
  const [A, B, C] = await sims(3);
  const gw = await startGateway(['--workers', '1', '--endpoint', A, '--endpoint', `${B}=prefill`,
    '--endpoint', `${C}=decode`]);
  live.push(gw);
  await waitRoutable(gw, 3);
  assert.deepEqual(await roles(gw), { [A]: 'both', [B]: 'prefill', [C]: 'decode' });
});
