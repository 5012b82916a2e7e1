// Starts real ringgate / ringgate-sim processes for integration tests and stops
// every one of them when the test process ends.
//
// Contract with the binaries: once listening, each prints one JSON line on stdout,
//   {"event":"listening","api":"127.0.0.1:PORT"}                 (ringgate-sim)
//   {"event":"listening","api":"127.0.0.1:PORT","admin":"..."}   (ringgate)
// so tests can ask for port 0 and learn the port the kernel gave.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { timeScale, waitFor } from './timing.mjs';

const buildDir = process.env.RINGGATE_BUILD_DIR ?? path.resolve(import.meta.dirname, '../../build');
export const binaries = {
  ringgate: process.env.RINGGATE_BIN ?? path.join(buildDir, 'src/gateway/ringgate'),
  sim: process.env.RINGGATE_SIM_BIN ?? path.join(buildDir, 'src/sim/ringgate-sim'),
};

const live = new Set();
function stopAll() { for (const p of live) { try { p.kill('SIGKILL'); } catch {} } }
process.on('exit', stopAll);

// ---- [tests] sanitizer reports ----
// Under the ASan+UBSan build (scripts/run-tests.sh) a report in any child's stderr
// fails the test file, even when the test itself passed and even when the process
// was later killed: the report is looked for in everything the process wrote.
const sanitizerPattern = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer/;
const sanitizerReports = [];
export function checkSanitizerReport(name, stderrText) {
  const at = stderrText.search(sanitizerPattern);
  if (at >= 0) sanitizerReports.push(`${name}: ${stderrText.slice(Math.max(0, at - 200), at + 3000)}`);
}
// A process run out of descriptors on purpose (RLIMIT_NOFILE tests) starves UBSan's
// vptr check, which then reports every virtual call: see the suppressions file.
const fdStarvedSuppressions = path.resolve(import.meta.dirname, '../support/ubsan_fd_starved.supp');
process.on('exit', () => {
  if (sanitizerReports.length === 0) return;
  process.stderr.write(`\n# ${sanitizerReports.length} sanitizer report(s) from child processes:\n${sanitizerReports.join('\n---\n')}\n`);
  process.exitCode = 1;
});
// ---- [tests] end sanitizer reports ----
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopAll(); process.exit(130); });

// ---- [tests] no process outlives its test file ----
// A test that fails between starting processes and handing them to its own after hook
// (one start of a Promise.all times out, an assertion between two starts) leaves them
// running, and their pipes would keep this process alive until meson's timeout. This
// hook runs once the file's tests have ended, before the file's own after hooks: what
// is still running a grace period later (time for those hooks to stop theirs, SIGTERM
// and drain included) is killed and fails the file. Only under the test runner: perf/
// scripts import this module too, and node:test would report on them.
const leftoverGraceMs = 60000;
if (process.env.NODE_TEST_CONTEXT) {
  const { after } = await import('node:test');
  after(() => {
    setTimeout(() => {
      if (live.size === 0) return;
      process.stderr.write(`\n# ${live.size} process(es) still running ${leftoverGraceMs / 1000} s after the tests ended: killed\n`);
      process.exitCode = 1;
      stopAll();
    }, leftoverGraceMs).unref();
  });
}

// Spawns `bin args`, resolves once the "listening" line arrives:
// { proc, api, admin, port, adminPort, stderr(): string, stop(signal) }.
// timeoutMs is stretched by the binaries' slowness (timing.mjs).
export function start(bin, args, { timeoutMs = 10000, env } = {}) {
  timeoutMs *= timeScale;
  return new Promise((resolve, reject) => {
    const fdLimited = path.basename(bin) === 'prlimit' || args.some((a) => /ulimit -n/.test(a));
    const ubsan = fdLimited ? { UBSAN_OPTIONS: `${process.env.UBSAN_OPTIONS ?? ''}:suppressions=${fdStarvedSuppressions}` } : {};
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, ...ubsan } });
    live.add(proc);
    let err = '';
    proc.stderr.on('data', (d) => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
    proc.on('close', () => checkSanitizerReport(path.basename(bin), err));
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${bin} did not start within ${timeoutMs} ms: ${err}`)); }, timeoutMs);
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      clearTimeout(timer);
      reject(new Error(`${path.basename(bin)} exited (${code ?? signal}) before listening: ${err}`));
    });
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      if (msg.event !== 'listening') return;
      clearTimeout(timer);
      const port = Number(msg.api.split(':').pop());
      const adminPort = msg.admin ? Number(msg.admin.split(':').pop()) : undefined;
      resolve({
        proc, ...msg, port, adminPort,
        url: `http://127.0.0.1:${port}`,
        adminUrl: adminPort ? `http://127.0.0.1:${adminPort}` : undefined,
        stderr: () => err,
        stop: (signal = 'SIGTERM') => stop(proc, signal),
      });
    });
  });
}

// Sends `signal` and resolves with {code, signal} once the process has exited
// (SIGKILL after 10 s if it has not).
export function stop(proc, signal = 'SIGTERM') {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', (code, sig) => { clearTimeout(force); resolve({ code, signal: sig }); });
    proc.kill(signal);
  });
}

// Resolves once a TCP connect to 127.0.0.1:`port` is refused. A ringgate SIGKILLed with an
// io_uring accept pending keeps its listening socket for a few milliseconds after the
// process is reaped (the kernel tears the ring down afterwards, in a worker): connects made
// then are accepted and dropped unanswered, as by a live server that resets them (measured:
// 4 of 10 kills here accepted connects up to 7.5 ms after the reap). A test whose claim is
// "the server is gone" waits for this first.
export async function waitRefused(port, timeoutMs = 5000) {
  const attempt = () => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
  await waitFor(`127.0.0.1:${port} refusing connects`, attempt, timeoutMs, 1);
}

export const startSim = (args = [], opts) => start(binaries.sim, ['--host', '127.0.0.1', '--port', '0', ...args], opts);
// RINGGATE_GATEWAY_ARGS (space-separated) is appended to every gateway's flags, so a
// suite can run again on another configuration (e.g. "--io-backend epoll"); with
// RINGGATE_BIN pointing at a wrapper, again under other conditions (seccomp).
export const extraGatewayArgs = (process.env.RINGGATE_GATEWAY_ARGS ?? '').split(' ').filter(Boolean);
export const gatewayArgs = (args = []) => ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...args, ...extraGatewayArgs];
export const startGateway = (args = [], opts) => start(binaries.ringgate, gatewayArgs(args), opts);

// Resolves once the gateway (from startGateway) routes to `count` endpoints (0: to all it
// knows, at least one); throws after timeoutMs (stretched, as start's).
export async function waitRoutable(gw, count = 0, timeoutMs = 5000) {
  timeoutMs *= timeScale;
  let d = null;
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    d = await (await fetch(`${gw.adminUrl}/debug/endpoints`)).json();
    const routable = d.endpoints.filter((e) => e.routable).length;
    if (count > 0 ? routable >= count : routable > 0 && routable === d.endpoints.length) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gateway not routing to ${count || 'all'} endpoints within ${timeoutMs} ms: ${JSON.stringify(d?.endpoints)}`);
}

// Scrapes a Prometheus text endpoint into Map(name{labels} -> number).
export async function scrape(url) {
  const text = await (await fetch(url)).text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
