// Runs the watch_probe binary and lets a test wait for the lines it prints:
// {"endpoints":[…]} per published change, {"error":"…","status":N} per error.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { checkSanitizerReport } from '../lib/procs.mjs';

const buildDir = process.env.RINGGATE_BUILD_DIR ?? path.resolve(import.meta.dirname, '../../build');
export const probeBinary = process.env.WATCH_PROBE ?? path.join(buildDir, 'tests/discovery/watch_probe');

const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch {} } });

export function startProbe(args, { env } = {}) {
  const proc = spawn(probeBinary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(proc);
  const lines = [];      // { at, msg }
  const waiters = [];    // { pred, from, resolve }
  let stderr = '';
  let exited = null;
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.on('close', () => checkSanitizerReport('watch_probe', stderr));
  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      const hit = lines.slice(w.from).find((l) => w.pred(l.msg));
      if (hit) { waiters.splice(i, 1); clearTimeout(w.timer); w.resolve(hit); }
    }
  };
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const at = performance.now();
    let msg;
    try { msg = JSON.parse(line); } catch { msg = { unparsed: line }; }
    lines.push({ at, msg });
    settle();
  });
  proc.on('exit', (code, signal) => {
    live.delete(proc);
    exited = { code, signal };
    for (const w of waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(`watch_probe exited (${code ?? signal}): ${stderr}`)); }
  });
  return {
    proc,
    lines,
    stderr: () => stderr,
    mark: () => lines.length,
    // Resolves with the first line at index >= from (default: any) matching pred.
    waitFor(pred, { from = 0, timeoutMs = 5000 } = {}) {
      return new Promise((resolve, reject) => {
        const hit = lines.slice(from).find((l) => pred(l.msg));
        if (hit) return resolve(hit);
        if (exited) return reject(new Error(`watch_probe exited (${exited.code ?? exited.signal}): ${stderr}`));
        const w = { pred, from, resolve, reject };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching probe line within ${timeoutMs} ms; lines:\n${lines.map((l) => JSON.stringify(l.msg)).join('\n')}\nstderr: ${stderr}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    stop(signal = 'SIGTERM') {
      if (exited) return Promise.resolve(exited);
      return new Promise((resolve) => {
        const force = setTimeout(() => proc.kill('SIGKILL'), 10000);
        proc.once('exit', (code, sig) => { clearTimeout(force); resolve({ code, signal: sig }); });
        proc.kill(signal);
      });
    },
  };
}

// Predicates on {"endpoints":[…]} lines.
export const isEndpoints = (m) => Array.isArray(m.endpoints);
export const routable = (m) => m.endpoints.filter((e) => e.routable).map((e) => `${e.address}:${e.port}`).sort();
export const endpointsAre = (list) => (m) => isEndpoints(m) &&
  JSON.stringify(m.endpoints.map((e) => `${e.address}:${e.port}`).sort()) === JSON.stringify([...list].sort());
export const routableAre = (list) => (m) => isEndpoints(m) && JSON.stringify(routable(m)) === JSON.stringify([...list].sort());

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
