// Example of the scenario as a Node integration test (short version, ~30 s in all):
//   RINGGATE_BUILD_DIR=build-perf node --test perf/failover/kill_restart.test.mjs
// To move it under tests/, import runKillRestart from perf/failover/kill_restart.mjs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { runKillRestart } from './kill_restart.mjs';

const short = { rate: 100, duration: 12, killAt: 4, restartAt: 8 };

test('SIGKILL of a sim under load: only its in-flight streams fail, each with an SSE error event', { timeout: 60000 }, async () => {
  const r = await runKillRestart({ ...short, signal: 'SIGKILL' });
  assert.equal(r.nonStreaming.failed, 0, JSON.stringify(r.nonStreaming.failures.slice(0, 5)));
  assert.equal(r.streaming.notExcusable, 0, JSON.stringify(r.streaming.failures.slice(0, 5)));
  assert.equal(r.streaming.sseError, r.streaming.failed, JSON.stringify(r.streaming.failures.slice(0, 5)));
  assert.ok(r.readmitMs.counters !== null && r.readmitMs.counters <= 1000, `readmission ${JSON.stringify(r.readmitMs)}`);
});

test('SIGTERM of a sim under load: no failures', { timeout: 60000 }, async () => {
  const r = await runKillRestart({ ...short, signal: 'SIGTERM' });
  assert.equal(r.sent - r.ok, 0, JSON.stringify(r.outcomes));
  assert.ok(r.readmitMs.counters !== null && r.readmitMs.counters <= 1000, `readmission ${JSON.stringify(r.readmitMs)}`);
});
