// The event loop's backends (issue 11 §1): `--io-backend io_uring` refuses to start
// where io_uring is refused (a seccomp filter as the container runtimes install),
// naming io_uring and seccomp; `auto` falls back to epoll there, says so once in the
// log and in the metric ringgate_io_backend_info{backend="..."} 1, and serves.
// The filter: tests/support/no_io_uring (RINGGATE_NO_IO_URING_BIN).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { start, binaries, startSim, scrape } from '../lib/procs.mjs';

const noIoUring = process.env.RINGGATE_NO_IO_URING_BIN;
const MODEL = 'facebook/opt-125m';
const live = [];
after(async () => { for (const p of live.reverse()) await p.stop(); });
let sim;
const simApi = async () => (sim ??= (live.push(await startSim(['--model', MODEL])), live.at(-1))).api;
// Gateway flags, without RINGGATE_GATEWAY_ARGS: each test here picks its backend itself.
const flags = async (backend) => ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1',
  '--model', MODEL, '--endpoint', await simApi(), '--io-backend', backend];

async function serves(gw) {
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 2 }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

const backendInfo = async (gw) => {
  const samples = await scrape(`${gw.adminUrl}/metrics`);
  return [...samples].filter(([k, v]) => k.startsWith('ringgate_io_backend_info{') && v === 1)
    .map(([k]) => /backend="([^"]+)"/.exec(k)?.[1]);
};

test('the seccomp wrapper really refuses io_uring', () => {
  assert.ok(noIoUring, 'RINGGATE_NO_IO_URING_BIN is set by meson');
  const res = spawnSync(noIoUring, ['--self-test'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
});

test('under the filter, --io-backend io_uring fails to start and says why', async () => {
  const res = spawnSync(noIoUring, [binaries.ringgate, ...await flags('io_uring')], { encoding: 'utf8', timeout: 10000 });
  assert.notEqual(res.status, 0, 'it must not start');
  assert.notEqual(res.status, null, `it exits by itself (signal ${res.signal})`);
  assert.match(res.stderr, /io_uring/);
  assert.match(res.stderr, /seccomp|EPERM|not permitted|refused/i, res.stderr);
  assert.match(res.stderr, /--io-backend (epoll|auto)/, 'it tells the operator what to do');
});

test('under the filter, --io-backend auto serves through epoll and says so once', async () => {
  const gw = await start(noIoUring, [binaries.ringgate, ...await flags('auto')]);
  live.push(gw);
  await serves(gw);
  assert.deepEqual(await backendInfo(gw), ['epoll']);
  const lines = gw.stderr().split('\n').filter((l) => /io_uring/.test(l) && /epoll/.test(l));
  assert.equal(lines.length, 1, `one log line about the fallback:\n${gw.stderr()}`);
});

test('without the filter: auto and io_uring use io_uring, epoll uses epoll; a bad value is a clear error', async () => {
  for (const [backend, expected] of [['auto', 'io_uring'], ['io_uring', 'io_uring'], ['epoll', 'epoll']]) {
    const gw = await start(binaries.ringgate, await flags(backend));
    live.push(gw);
    await serves(gw);
    assert.deepEqual(await backendInfo(gw), [expected], `--io-backend ${backend}`);
    await gw.stop();
  }
  const res = spawnSync(binaries.ringgate, await flags('kqueue'), { encoding: 'utf8', timeout: 5000 });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /bad value for --io-backend/);
});
