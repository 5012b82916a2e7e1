// ringgate-sim's faults and process behaviour: --fail-rate, --startup-delay,
// SIGTERM draining, SIGKILL, and bad command lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { startSim, binaries } from '../lib/procs.mjs';
import { MODEL, sleep, openStream, postCompletion, stopClean } from './sim_helpers.mjs';

test('--fail-rate 1 answers every completion with a vLLM-style 500; 0.5 mixes both', async () => {
  const all = await startSim(['--fail-rate', '1']);
  try {
    const res = await postCompletion(all.url, { model: MODEL, prompt: 'x' });
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error.type, 'InternalServerError');
    assert.equal((await fetch(`${all.url}/health`)).status, 200);  // health is not a completion
  } finally {
    await stopClean(all);
  }
  const half = await startSim(['--fail-rate', '0.5', '--seed', '42']);
  try {
    const statuses = [];
    for (let i = 0; i < 40; ++i) {
      const r = await postCompletion(half.url, { model: MODEL, prompt: 'x', max_tokens: 1 });
      await r.arrayBuffer();
      statuses.push(r.status);
    }
    const failed = statuses.filter((s) => s === 500).length;
    assert.ok(failed > 5 && failed < 35, `${failed} of 40 failed`);
    assert.equal(statuses.filter((s) => s !== 500 && s !== 200).length, 0);
  } finally {
    await stopClean(half);
  }
});

// Whether a TCP connection to 127.0.0.1:port is accepted (false: refused).
function connects(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('--startup-delay: connections are refused until ready (as vLLM loading its model), then it serves', async () => {
  const port = await freePort();
  const t0 = performance.now();
  const starting = startSim(['--port', String(port), '--startup-delay', '1']);
  // The port is bound at once but not listening: refused, never a 503 or an idle-looking /metrics.
  let refusals = 0;
  let listening = false;
  starting.then(() => { listening = true; }, () => {});
  while (!listening && performance.now() - t0 < 700) {
    if (await connects(port)) break;
    refusals++;
    await sleep(50);
  }
  assert.ok(refusals >= 5, `only ${refusals} refused connections during the startup delay`);
  const sim = await starting;  // the "listening" line comes after the delay
  try {
    assert.ok(performance.now() - t0 >= 950, 'listening before the delay was over');
    assert.equal((await fetch(`${sim.url}/health`)).status, 200);
    assert.equal((await postCompletion(sim.url, { model: MODEL, prompt: 'x', max_tokens: 1 })).status, 200);
  } finally {
    await stopClean(sim);
  }
});

test('SIGTERM during the startup delay exits 0 without ever listening', async () => {
  const port = await freePort();
  const proc = spawn(binaries.sim, ['--host', '127.0.0.1', '--port', String(port), '--startup-delay', '30'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  // Its "starting up" line on stderr: the port is bound and SIGTERM is handled from here on.
  const bound = new Promise((resolve) => proc.stderr.on('data', (d) => { err += d; if (err.includes('starting up')) resolve(); }));
  try {
    await bound;
    assert.equal(await connects(port), false);
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    proc.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.equal(out, '');
  } finally {
    proc.kill('SIGKILL');
  }
});

test('SIGTERM: stops accepting, finishes the in-flight stream, exits 0', async () => {
  const sim = await startSim(['--inter-token-latency-ms', '30']);
  const stream = await openStream(sim.url, { model: MODEL, prompt: 'drain me', max_tokens: 20 });
  const exited = sim.stop('SIGTERM');
  const text = await stream.rest();
  assert.ok(text.endsWith('data: [DONE]\n\n'), `stream cut short: ${text.slice(-200)}`);
  assert.equal(text.split('\n\n').filter((e) => e.startsWith('data: {')).length, 20);
  await assert.rejects(fetch(`${sim.url}/health`));  // no longer accepting
  const { code } = await exited;
  assert.equal(code, 0);
});

test('SIGTERM with nothing in flight exits at once; SIGKILL just dies mid-stream', async () => {
  const idle = await startSim([]);
  await fetch(`${idle.url}/health`);  // leaves an idle keep-alive connection
  assert.equal((await idle.stop('SIGTERM')).code, 0);

  const sim = await startSim(['--inter-token-latency-ms', '50']);
  const stream = await openStream(sim.url, { model: MODEL, prompt: 'x', max_tokens: 1000 });
  const { signal } = await sim.stop('SIGKILL');
  assert.equal(signal, 'SIGKILL');
  await assert.rejects(stream.rest());
});

test('command line: unknown flag exits 2 with a message; --help lists flags and exits 0', () => {
  const bad = spawnSync(binaries.sim, ['--no-such-flag'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option --no-such-flag/);
  const badValue = spawnSync(binaries.sim, ['--max-num-seqs', 'lots'], { encoding: 'utf8' });
  assert.equal(badValue.status, 2);
  assert.match(badValue.stderr, /--max-num-seqs: expected a positive integer, got 'lots'/);
  const help = spawnSync(binaries.sim, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const flag of ['--port', '--model', '--served-model-name', '--max-num-seqs', '--block-size', '--kv-blocks',
    '--inter-token-latency-ms', '--prefill-time-per-token-us', '--fail-rate', '--startup-delay', '--lora']) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const busyPort = spawnSync(binaries.sim, ['--host', 'no.such.host.invalid', '--port', '0'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(busyPort.status, 1);
  assert.match(busyPort.stderr, /cannot resolve --host/);
});
