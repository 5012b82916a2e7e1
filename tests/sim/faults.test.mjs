// ringgate-sim's faults and process behaviour: --fail-rate, --startup-delay,
// SIGTERM draining, SIGKILL, and bad command lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

test('--startup-delay: /health and the API answer 503 until ready, then 200', async () => {
  const sim = await startSim(['--startup-delay', '1']);
  try {
    assert.equal((await fetch(`${sim.url}/health`)).status, 503);
    const api = await postCompletion(sim.url, { model: MODEL, prompt: 'x' });
    assert.equal(api.status, 503);
    assert.equal((await api.json()).error.code, 503);
    let status = 0;
    const deadline = Date.now() + 10000;
    while (status !== 200 && Date.now() < deadline) {
      await sleep(50);
      status = (await fetch(`${sim.url}/health`)).status;
    }
    assert.equal(status, 200);
    assert.equal((await postCompletion(sim.url, { model: MODEL, prompt: 'x', max_tokens: 1 })).status, 200);
  } finally {
    await stopClean(sim);
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
