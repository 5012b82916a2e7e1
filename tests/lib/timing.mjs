// How long an integration test may wait, and which of its bounds depend on speed.
//
// RINGGATE_TEST_TIME_SCALE (default 1) says how much slower than the optimized build the
// binaries under test run: scripts/run-tests.sh sets it to 3 for the ASan+UBSan stage,
// the same factor as meson's --timeout-multiplier there. Every wait below (and a
// process's start in procs.mjs) is stretched by it.
//
// A scheduling-quality bound (what share of requests a scorer keeps off a slow server,
// how many adapter swaps it saves, how close a shared budget holds) assumes the
// gateway's own time is small against the sims' timings. Under the sanitizers, with the
// suite running 2 x nproc files at once, it is not: such a bound is asserted by the
// optimized stage, and the sanitized stage runs the same requests through the same code
// (its memory and UB checks are the point there) and reports the bound as a diagnostic.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';

export const timeScale = Math.max(1, Number(process.env.RINGGATE_TEST_TIME_SCALE) || 1);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls probe() until it returns a truthy value, which it resolves with; throws once
// timeoutMs x timeScale have passed.
export async function waitFor(what, probe, timeoutMs = 5000, stepMs = 10) {
  const limit = timeoutMs * timeScale;
  const t0 = performance.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() - t0 > limit) throw new Error(`timed out waiting for ${what} (${limit} ms)`);
    await sleep(stepMs);
  }
}

// A bound on scheduling quality (see above): asserted at time scale 1, else reported
// through t.diagnostic.
export function qualityBound(t, ok, message) {
  if (ok) return;
  if (timeScale === 1) assert.fail(message);
  t.diagnostic(`quality bound not met (reported only at time scale ${timeScale}): ${message}`);
}
