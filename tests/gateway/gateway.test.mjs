// The ringgate binary: flags, the listening line, the admin port, --demo, and a
// graceful SIGTERM that lets an in-flight stream finish.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { start, startSim, startGateway, binaries } from '../lib/procs.mjs';

const live = [];
after(async () => { for (const p of live.reverse()) await p.stop(); });
const MODEL = 'facebook/opt-125m';

test('--help prints the flags and exits 0', () => {
  const res = spawnSync(binaries.ringgate, ['--help'], { encoding: 'utf8' });
  assert.equal(res.status, 0);
  for (const flag of ['--listen', '--admin', '--endpoint', '--workers', '--demo', '--max-body-bytes']) {
    assert.match(res.stdout, new RegExp(flag));
  }
});

test('bad flags are clear errors, exit 2', () => {
  const cases = [
    [['--bogus'], /unknown flag: --bogus/],
    [['--endpoint'], /--endpoint needs a value/],
    [['--endpoint', 'nohost'], /bad value for --endpoint/],
    [['--endpoint', '127.0.0.1:1', '--workers', 'x'], /bad value for --workers/],
    [['--endpoint', '127.0.0.1:1', '--listen', '1.2.3:80'], /bad value for --listen/],
    // A body is buffered whole: its limit is bounded like the config file's maxBodyBytes.
    [['--endpoint', '127.0.0.1:1', '--max-body-bytes', '1099511627776'], /bad value for --max-body-bytes.*1073741824/],
    [['--endpoint', '127.0.0.1:1', '--max-body-bytes', '10'], /bad value for --max-body-bytes/],
    [['--endpoint', '127.0.0.1:1', '--metrics-names', 'llmd'], /bad value for --metrics-names.*gaie, llm-d or both/],
    [[], /no upstream/],
    // No --mode: the config's mode decides, and in gateway mode an unknown flag is still an error.
    [['--config', path.join(import.meta.dirname, '../../deploy/examples/ringgate.yaml'), '--listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0', '--bogus'], /unknown flag: --bogus/],
  ];
  for (const [args, message] of cases) {
    const res = spawnSync(binaries.ringgate, args, { encoding: 'utf8', timeout: 5000 });
    assert.equal(res.status, 2, args.join(' '));
    assert.match(res.stderr, message);
  }
});

test('a busy admin port is a clear start-up error', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const res = spawnSync(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', sim.api, '--endpoint', sim.api],
    { encoding: 'utf8', timeout: 5000 });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /admin listener: bind .*Address already in use/);
});

test('listening line, /healthz on the admin port, 404 elsewhere there', async () => {
  const sim = await startSim(['--model', MODEL]);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api]);
  live.push(gw);
  assert.match(gw.api, /^127\.0\.0\.1:\d+$/);
  assert.match(gw.admin, /^127\.0\.0\.1:\d+$/);
  const health = await fetch(`${gw.adminUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await fetch(`${gw.adminUrl}/nope`)).status, 404);
});

test('--demo 2 starts two sims, routes to them, and stops them on exit', async () => {
  const gw = await start(binaries.ringgate, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--demo', '2',
    '--sim-bin', binaries.sim], { timeoutMs: 20000 });
  const models = await (await fetch(`${gw.url}/v1/models`)).json();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 4 }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).usage.completion_tokens, 4);
  const children = spawnSync('pgrep', ['-P', String(gw.proc.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.equal(children.length, 2);
  const exit = await gw.stop('SIGTERM');
  assert.equal(exit.code, 0);
  for (const pid of children) {
    assert.throws(() => process.kill(Number(pid), 0), /ESRCH/, `sim ${pid} still running`);
  }
});

test('SIGTERM: the in-flight stream completes, then exit 0', async () => {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '30']);
  live.push(sim);
  const gw = await startGateway(['--endpoint', sim.api]);
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 30, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  const exited = gw.stop('SIGTERM');
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  assert.match(text, /data: \[DONE\]/);
  const { code } = await exited;
  assert.equal(code, 0);
});
