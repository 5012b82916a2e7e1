// The real EndpointSliceWatch (through watch_probe) against the fake API server
// over plain HTTP: every change reaches the published set, within 100 ms
// (median; 1 s each), and bookmarks, 410, drops, backoff and 401 behave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeKubeApi, endpoint } from './fake_kube_api.mjs';
import { startProbe, isEndpoints, endpointsAre, routableAre, median } from './watch_probe.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const probeArgs = (api, extra = []) => ['--api-url', api.url, '--service', 'vllm', '--port', 'http', ...extra];

// Makes a change, waits for the probe line that shows it, returns the latency in ms.
async function observe(probe, change, pred) {
  const from = probe.mark();
  const { at } = change();
  const line = await probe.waitFor(pred, { from, timeoutMs: 5000 });
  return line.at - at;
}

function assertFast(latencies) {
  assert.ok(median(latencies) < 100, `median latency ${median(latencies).toFixed(1)} ms ≥ 100 ms: ${latencies}`);
  for (const l of latencies) assert.ok(l < 1000, `a change took ${l.toFixed(1)} ms: ${latencies}`);
}

test('add, ready → not ready, terminating, delete: each reaches the routable set fast', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1', { pod: 'vllm-0' })] });
  const probe = startProbe(probeArgs(api));
  try {
    const first = await probe.waitFor(isEndpoints);
    assert.deepEqual(first.msg.endpoints, [{
      address: '10.0.0.1', port: 8000, ready: true, serving: true, terminating: false, routable: true, pod: 'vllm-0', zone: 'zone-a',
    }]);
    const latencies = [];
    latencies.push(await observe(probe,
      () => api.updateSlice('vllm-a', (s) => { s.endpoints.push(endpoint('10.0.0.2', { pod: 'vllm-1' })); }),
      routableAre(['10.0.0.1:8000', '10.0.0.2:8000'])));
    latencies.push(await observe(probe,
      () => api.updateSlice('vllm-a', (s) => { s.endpoints[0].conditions = { ready: false, serving: false, terminating: false }; }),
      routableAre(['10.0.0.2:8000'])));
    // Terminating: ready false, still serving (graceful shutdown) → out of the routable set at once.
    const terminating = await observe(probe,
      () => api.updateSlice('vllm-a', (s) => { s.endpoints[1].conditions = { ready: false, serving: true, terminating: true }; }),
      (m) => isEndpoints(m) && m.endpoints.some((e) => e.address === '10.0.0.2' && e.terminating && e.serving && !e.routable));
    latencies.push(terminating);
    // Absent conditions mean ready.
    latencies.push(await observe(probe,
      () => api.updateSlice('vllm-a', (s) => { s.endpoints.push({ addresses: ['10.0.0.3'] }); }),
      routableAre(['10.0.0.3:8000'])));
    latencies.push(await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([])));
    assertFast(latencies);
    // Only the initial LIST: every change came through the watch.
    assert.equal(api.listRequests().length, 1);
    assert.deepEqual(await probe.stop(), { code: 0, signal: null });
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('several slices merge, duplicates collapse, IPv6 works, events split across chunks', async () => {
  const api = await new FakeKubeApi({ chunking: 'split' }).start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(endpointsAre(['10.0.0.1:8000']));
    const latencies = [];
    latencies.push(await observe(probe,
      () => api.createSlice('vllm-b', { endpoints: [endpoint('10.0.0.2'), endpoint('10.0.0.1', { ready: false })] }),
      routableAre(['10.0.0.1:8000', '10.0.0.2:8000'])));
    latencies.push(await observe(probe,
      () => api.createSlice('vllm-v6', { addressType: 'IPv6', endpoints: [endpoint('fd00::7')] }),
      routableAre(['10.0.0.1:8000', '10.0.0.2:8000', 'fd00::7:8000'])));
    // The ready copy of 10.0.0.1 goes away: the not-ready copy in vllm-b remains.
    latencies.push(await observe(probe, () => api.deleteSlice('vllm-a'),
      (m) => routableAre(['10.0.0.2:8000', 'fd00::7:8000'])(m) && m.endpoints.length === 3));
    // Another service's slice is not ours.
    api.createSlice('other-a', { service: 'other', endpoints: [endpoint('10.9.9.9')] });
    latencies.push(await observe(probe, () => api.deleteSlice('vllm-v6'), endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000'])));
    assertFast(latencies);
    assert.ok(!probe.lines.some((l) => JSON.stringify(l.msg).includes('10.9.9.9')));
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('target port by name and by number, per slice', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { ports: [{ name: 'http', port: 8000, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }],
    endpoints: [endpoint('10.0.0.1')] });
  // Same named port, another number (slices group endpoints by port mapping).
  api.createSlice('vllm-b', { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [endpoint('10.0.0.2')] });
  const byName = startProbe(probeArgs(api));
  const byNumber = startProbe(['--api-url', api.url, '--service', 'vllm', '--port', '8000']);
  const metrics = startProbe(['--api-url', api.url, '--service', 'vllm', '--port', 'metrics']);
  try {
    await byName.waitFor(endpointsAre(['10.0.0.1:8000', '10.0.0.2:8080']));
    await byNumber.waitFor(endpointsAre(['10.0.0.1:8000']));
    await metrics.waitFor(endpointsAre(['10.0.0.1:9100']));
  } finally {
    await Promise.all([byName.stop(), byNumber.stop(), metrics.stop()]);
    await api.close();
  }
});

test('bookmarks move the resourceVersion the next watch starts from', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(isEndpoints);
    await api.waitForWatches(1);
    const from = probe.mark();
    // A MODIFIED that leaves the endpoint set as it was: the last event our watch sees.
    const touched = api.updateSlice('vllm-a', (s) => { s.metadata.annotations = { touched: 'yes' }; });
    // Other services' changes advance the global resourceVersion unseen by our
    // watch: only the bookmark carries the newer version to it.
    for (let i = 0; i < 3; i++) api.createSlice(`other-${i}`, { service: 'other', endpoints: [endpoint(`10.1.0.${i}`)] });
    const { resourceVersion } = api.bookmark();
    assert.ok(Number(resourceVersion) > Number(touched.resourceVersion), 'the bookmark is newer than every event');
    assert.equal(api.watchRequests().at(-1).query.allowWatchBookmarks, 'true');
    // A clean end (everything written is delivered first), then the re-watch.
    const serial = api.watchRequests().length;
    api.endWatches();
    await api.waitForWatchSince(serial);
    assert.equal(api.watchRequests()[serial].query.resourceVersion, resourceVersion, 'the re-watch starts at the bookmark');
    assert.equal(api.listRequests().length, 1, 'a re-watch, not a relist');
    // Neither the bookmark nor the no-op MODIFIED was published: the next line is the next real change.
    await observe(probe, () => api.updateSlice('vllm-a', (s) => { s.endpoints.push(endpoint('10.0.0.2')); }),
      endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    const published = probe.lines.slice(from).filter((l) => isEndpoints(l.msg));
    assert.equal(published.length, 1, `no publication without a change: ${JSON.stringify(published.map((l) => l.msg))}`);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('410 Expired: an ERROR event on the open watch, then a relist catches up on missed changes', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.2')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(routableAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    await api.waitForWatches(1);
    // A change the watch never hears about, then the history is compacted.
    api.updateSlice('vllm-a', (s) => { s.endpoints[1].conditions.ready = false; }, { silent: true });
    const latency = await observe(probe, () => api.expire(), routableAre(['10.0.0.1:8000']));
    assert.ok(latency < 1000, `relist took ${latency} ms`);
    await probe.waitFor((m) => m.status === 410 && /410 Expired/.test(m.error));
    assert.equal(api.listRequests().length, 2);
    // The watch after the relist works.
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('410 as the answer to a re-watch (HTTP 410 and ERROR event) → relist', async () => {
  for (const expiredAs of ['event', 'http']) {
    const api = await new FakeKubeApi({ expiredAs }).start();
    api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
    const probe = startProbe(probeArgs(api));
    try {
      await probe.waitFor(isEndpoints);
      await api.waitForWatches(1);
      api.dropWatches();
      api.updateSlice('vllm-a', (s) => { s.endpoints.push(endpoint('10.0.0.5')); });
      api.expire();  // the re-watch from the old resourceVersion gets 410
      await probe.waitFor(routableAre(['10.0.0.1:8000', '10.0.0.5:8000']));
      assert.ok(api.listRequests().length >= 2, `${expiredAs}: relisted`);
    } finally {
      await probe.stop();
      await api.close();
    }
  }
});

test('dropped connection: re-watch from the last resourceVersion, no relist, no lost change', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(isEndpoints);
    const { resourceVersion } = api.updateSlice('vllm-a', (s) => { s.endpoints.push(endpoint('10.0.0.2')); });
    await probe.waitFor(endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    await api.waitForWatches(1);
    api.dropWatches();
    // A change while no watch is open: the re-watch replays it from history.
    const latency = await observe(probe, () => api.updateSlice('vllm-a', (s) => { s.endpoints.shift(); }),
      endpointsAre(['10.0.0.2:8000']));
    assert.ok(latency < 1000, `re-watch took ${latency} ms`);
    assert.equal(api.watchRequests()[1].query.resourceVersion, resourceVersion);
    assert.equal(api.listRequests().length, 1);
    // Clean end of a watch (timeoutSeconds) is handled the same way.
    await api.waitForWatches(1);
    api.endWatches();
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('failing watches are retried with growing, capped backoff, then recover', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api, ['--backoff-initial-ms', '50', '--backoff-max-ms', '400']));
  try {
    await probe.waitFor(isEndpoints);
    await api.waitForWatches(1);
    api.failNextWatches(3, 'drop');
    api.failNextWatches(3, 500);
    const before = api.watchRequests().length;
    api.dropWatches();
    const deadline = performance.now() + 15000;
    while (api.watchRequests().length < before + 7 && performance.now() < deadline) await sleep(20);
    const attempts = api.watchRequests().slice(before, before + 7).map((r) => r.at);
    assert.equal(attempts.length, 7, 'seven attempts: six failures, then a working watch');
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    // Nominal delays 50, 100, 200, 400, 400, 400 ms; jitter only adds (≤ 20%),
    // so each is a hard lower bound. The cap keeps every gap far below 2 s.
    const nominal = [50, 100, 200, 400, 400, 400];
    const shown = gaps.map((g) => g.toFixed(0)).join(',');
    nominal.forEach((n, i) => assert.ok(gaps[i] >= n * 0.95, `gap ${i} below ${n} ms: ${shown}`));
    assert.ok(Math.max(...gaps) < 2000, `backoff capped: ${shown}`);
    assert.ok(probe.lines.some((l) => l.msg.status === 500), 'the 500 is reported');
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('a server that answers 410 even right after a LIST is not hammered: relists back off', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api, ['--backoff-initial-ms', '50', '--backoff-max-ms', '400']));
  try {
    await probe.waitFor(isEndpoints);
    await api.waitForWatches(1);
    api.failNextWatches(4, 410);
    const t0 = performance.now();
    api.dropWatches();
    await api.waitForWatches(1, 10000);
    const elapsed = performance.now() - t0;
    // The first 410 (a resumed watch) relists at once; the three after fresh
    // LISTs wait 50 + 100 + 200 ms (nominal).
    assert.equal(api.listRequests().length, 5);
    assert.ok(elapsed >= 300, `relists backed off: ${elapsed.toFixed(0)} ms`);
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('watches end at timeoutSeconds and are resumed without a relist', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api, ['--watch-timeout', '1']));
  try {
    await probe.waitFor(isEndpoints);
    const deadline = performance.now() + 10000;
    while (api.watchRequests().length < 2 && performance.now() < deadline) await sleep(20);
    const watches = api.watchRequests();
    assert.ok(watches.length >= 2, `${watches.length} watch requests`);
    assert.equal(watches[0].query.timeoutSeconds, '1');
    assert.equal(api.listRequests().length, 1);
    await api.waitForWatches(1);
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('401: a clear error, retried, and a rotated token file is picked up', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-token-'));
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'wrong-token\n');
  const api = await new FakeKubeApi({ token: 'right-token' }).start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api, ['--token-file', tokenFile, '--backoff-initial-ms', '50', '--backoff-max-ms', '200']));
  try {
    const error = await probe.waitFor((m) => m.status === 401);
    assert.match(error.msg.error, /HTTP 401 Unauthorized/);
    assert.ok(!probe.lines.some((l) => isEndpoints(l.msg)), 'nothing published without a successful LIST');
    assert.equal(api.requests[0].authorization, 'Bearer wrong-token');
    fs.writeFileSync(tokenFile, 'right-token\n');
    await probe.waitFor(endpointsAre(['10.0.0.1:8000']));
    assert.equal(api.requests.at(-1).authorization, 'Bearer right-token');
  } finally {
    await probe.stop();
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage in the watch stream: reported, then a relist (each time)', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(isEndpoints);
    await api.waitForWatches(1);
    for (const [raw, error] of [
      ['{"type":"ADDED","object":{"metadata":{"name":7}}}\n', /metadata\.name/],
      ['<html>oops</html>\n', /./],
    ]) {
      const lists = api.listRequests().length;
      const serial = api.watchRequests().length;
      const from = probe.mark();
      api.sendRaw(raw);
      await probe.waitFor((m) => typeof m.error === 'string' && error.test(m.error), { from });
      // The next watch opens only after the relist that follows the bad event.
      await api.waitForWatchSince(serial);
      assert.equal(api.listRequests().length, lists + 1, `relisted after ${raw.trim()}`);
    }
    await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]));
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('a slice whose labels move it out of the Service takes its endpoints away (and back)', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  api.createSlice('vllm-b', { endpoints: [endpoint('10.0.0.2')] });
  const probe = startProbe(probeArgs(api));
  try {
    await probe.waitFor(endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    await api.waitForWatches(1);
    const relabel = (service) => (s) => { s.metadata.labels['kubernetes.io/service-name'] = service; };
    assertFast([
      await observe(probe, () => api.updateSlice('vllm-b', relabel('other')), endpointsAre(['10.0.0.1:8000'])),
      await observe(probe, () => api.updateSlice('vllm-b', relabel('vllm')), endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000'])),
    ]);
    // Also when the move happens while no watch is open (replayed from history on the re-watch).
    api.dropWatches();
    api.updateSlice('vllm-a', relabel('other'));
    await probe.waitFor(endpointsAre(['10.0.0.2:8000']));
    assert.equal(api.listRequests().length, 1, 'all through the watch');
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('watch ERROR events other than 410 (a 500 Status): reported, then a relist catches up', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.2')] });
  const probe = startProbe(probeArgs(api, ['--backoff-initial-ms', '50', '--backoff-max-ms', '200']));
  try {
    await probe.waitFor(routableAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    await api.waitForWatches(1);
    // A change the watch never hears about: only a relist can find it.
    api.updateSlice('vllm-a', (s) => { s.endpoints[1].conditions.ready = false; }, { silent: true });
    const from = probe.mark();
    api.sendError(500, 'InternalError', 'etcd is sad');
    const error = await probe.waitFor((m) => m.status === 500, { from });
    assert.match(error.msg.error, /watch ERROR event: 500 InternalError: etcd is sad/);
    await probe.waitFor(routableAre(['10.0.0.1:8000']), { from });
    assert.equal(api.listRequests().length, 2);
    await api.waitForWatches(1);
    assertFast([await observe(probe, () => api.deleteSlice('vllm-a'), endpointsAre([]))]);
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('a watch that stays open but goes dead is replaced after the idle timeout, without a relist', async () => {
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const probe = startProbe(probeArgs(api, ['--watch-idle-timeout-ms', '700']));
  try {
    await probe.waitFor(isEndpoints);
    await api.waitForWatches(1);
    const serial = api.watchRequests().length;
    api.silenceWatches();
    // Lost on the dead connection; the new watch replays it from history.
    const { resourceVersion } = api.updateSlice('vllm-a', (s) => { s.endpoints.push(endpoint('10.0.0.2')); });
    await probe.waitFor(endpointsAre(['10.0.0.1:8000', '10.0.0.2:8000']), { timeoutMs: 10000 });
    assert.ok(api.watchRequests().length > serial, 'a new watch');
    assert.equal(Number(api.watchRequests()[serial].query.resourceVersion), Number(resourceVersion) - 1);
    assert.equal(api.listRequests().length, 1, 'no relist');
    assert.ok(probe.lines.some((l) => typeof l.msg.error === 'string' && /tim/i.test(l.msg.error)), 'the dead watch is reported');
  } finally {
    await probe.stop();
    await api.close();
  }
});

test('unreachable API server: errors, no publication; SIGTERM stops promptly mid-watch', async () => {
  const unreachable = startProbe(['--api-url', 'http://127.0.0.1:1', '--service', 'vllm', '--port', 'http']);
  const api = await new FakeKubeApi().start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1')] });
  const watching = startProbe(probeArgs(api));
  try {
    const error = await unreachable.waitFor((m) => typeof m.error === 'string');
    assert.match(error.msg.error, /connect to 127\.0\.0\.1:1: Connection refused/);
    await watching.waitFor(isEndpoints);
    for (const probe of [unreachable, watching]) {
      const t0 = performance.now();
      const exit = await probe.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(performance.now() - t0 < 2000, 'stopped promptly');
    }
  } finally {
    await unreachable.stop('SIGKILL');
    await watching.stop('SIGKILL');
    await api.close();
  }
});

test('bad flags are clear errors', async () => {
  for (const [args, message] of [
    [['--service', 'vllm', '--port', 'http'], /exactly one of --api-url and --in-cluster/],
    [['--api-url', 'ftp://x', '--service', 'vllm', '--port', 'http'], /must start with http/],
    [['--api-url', 'http://127.0.0.1:1', '--service', 'Bad_Name', '--port', 'http'], /service "Bad_Name" is not a valid name/],
    [['--api-url', 'http://127.0.0.1:1', '--service', 'vllm', '--port', '0'], /out of range/],
  ]) {
    const probe = startProbe(args);
    const exit = await new Promise((resolve) => probe.proc.on('exit', (code) => resolve(code)));
    assert.equal(exit, 2);
    assert.match(probe.stderr(), message);
  }
});
