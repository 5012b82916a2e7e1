// Issue 72 §5: a model server answering every Responses API request with a fresh 256-byte
// response id (ringgate-sim --response-id-bytes 256) must not grow the gateway without
// bound. The id table holds at most responses.maxEntries ids and responses.maxBytes of
// memory (counted as the RSS each entry costs), forgets the least recently used beyond,
// shows it in ringgate_responses_table_{entries,bytes,evictions_total}, and a reload
// changes the bounds at once.
//
// RESPONSES_TABLE_REQUESTS (default 50,000: 9 s here, 16 connections of 32 pipelined
// requests) and RESPONSES_TABLE_MAX_ENTRIES (default a tenth of it) size the flood: the
// table evicts 9 ids in 10. The run (200,000 requests, the default bound of
// 100,000) is `RESPONSES_TABLE_REQUESTS=200000 RESPONSES_TABLE_MAX_ENTRIES=100000
// node --test tests/proxy/responses_table_bounds.test.mjs` (36 s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { startSim, startGateway, waitRoutable, scrape } from '../lib/procs.mjs';
import { rssBytes } from '../lib/proc_stat.mjs';
import { timeScale, waitFor } from '../lib/timing.mjs';

const MODEL = 'facebook/opt-125m';
const ID_BYTES = 256;
const ENTRY_BYTES = 464;  // proxy::ResponseTable::entry_bytes(256): what an entry of a 256-byte id is counted as
const REQUESTS = Number(process.env.RESPONSES_TABLE_REQUESTS ?? 50000);
const MAX_ENTRIES = Number(process.env.RESPONSES_TABLE_MAX_ENTRIES ?? REQUESTS / 10);
// What the gateway's RSS may grow by beside the table, over a flood that starts warm (the
// baseline: 104 MiB, 2 workers): the allocator's pages and the connections' buffers
// (measured: 1-3 MiB at 20,000 requests; at 200,000 and the default bounds, 44.4 MiB in
// all for a table counted at 44.3 MiB).
const RSS_SLACK = 16 << 20;

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-responses-table-'));
const configPath = path.join(dir, 'ringgate.yaml');
let sim, gw;

const config = (responses) => `apiVersion: ringgate.io/v1
kind: Gateway
workers: 2
pool: {name: vllm, discovery: {static: ["${sim.api}"]}}
responses: ${responses}
`;

before(async () => {
  sim = await startSim(['--model', MODEL, '--response-id-bytes', String(ID_BYTES), '--max-num-seqs', '512']);
  writeFileSync(configPath, config(`{maxEntries: ${MAX_ENTRIES}}`));
  gw = await startGateway(['--config', configPath]);
  await waitRoutable(gw, 1);
});
after(async () => {
  await Promise.all([gw, sim].filter(Boolean).map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

const table = async () => {
  const m = await scrape(`${gw.adminUrl}/metrics`);
  return {
    entries: m.get('ringgate_responses_table_entries'),
    bytes: m.get('ringgate_responses_table_bytes'),
    evictions: m.get('ringgate_responses_table_evictions_total'),
    maxEntries: m.get('ringgate_responses_table_max_entries'),
    maxBytes: m.get('ringgate_responses_table_max_bytes'),
    learned: m.get('ringgate_responses_learned_total'),
  };
};

// `count` creates over CONNECTIONS keep-alive connections, PIPELINE at a time on each
// (fetch's one request per connection at a time made 20,000 take 25 s); every answer is a
// 200 naming a fresh id of ID_BYTES.
const CONNECTIONS = 16, PIPELINE = 32;
const CREATE = (() => {
  const body = JSON.stringify({ model: MODEL, input: 'hi', max_output_tokens: 1 });
  return 'POST /v1/responses HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n' +
    `content-length: ${body.length}\r\n\r\n${body}`;
})();

async function lane(count) {
  const socket = net.connect(gw.port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let buffered = '', answered = 0, bad = 0, wake = null;
  socket.setEncoding('latin1');
  socket.on('data', (d) => {
    buffered += d;
    for (;;) {
      const head = buffered.indexOf('\r\n\r\n');
      if (head < 0) break;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, head))?.[1] ?? NaN);
      if (buffered.length < head + 4 + length) break;
      const body = buffered.slice(head + 4, head + 4 + length);
      if (!buffered.startsWith('HTTP/1.1 200') || /^\{"id":"([^"]*)"/.exec(body)?.[1].length !== ID_BYTES) bad++;
      buffered = buffered.slice(head + 4 + length);
      answered++;
    }
    wake?.();
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  for (let sent = 0; sent < count;) {
    const n = Math.min(PIPELINE, count - sent);
    socket.write(CREATE.repeat(n));
    sent += n;
    await Promise.race([new Promise((resolve) => { wake = () => answered >= sent && resolve(); }), closed]);
    assert.equal(answered, sent, `the connection closed after ${answered} of ${sent} answers`);
  }
  socket.destroy();
  return bad;
}

async function flood(count) {
  const lanes = Math.min(CONNECTIONS, count);
  const bad = (await Promise.all(Array.from({ length: lanes }, (_, i) =>
    lane(Math.floor(count / lanes) + (i < count % lanes ? 1 : 0))))).reduce((a, b) => a + b, 0);
  assert.equal(bad, 0, `${bad} of ${count} answers were not a 200 with a ${ID_BYTES}-byte id`);
}

test(`${REQUESTS} fresh 256-byte ids: entries stay at maxEntries (${MAX_ENTRIES}), the rest evicted, RSS bounded`,
  { timeout: 170000 }, async (t) => {
    const warm = 1000;
    await flood(warm);
    const baseline = rssBytes(gw.proc.pid);
    const t0 = performance.now();
    await flood(REQUESTS - warm);
    const seconds = (performance.now() - t0) / 1000;
    const s = await table();
    const rss = rssBytes(gw.proc.pid);
    const mib = (n) => (n / 2 ** 20).toFixed(1);
    t.diagnostic(`${REQUESTS} requests in ${seconds.toFixed(1)} s; table ${JSON.stringify(s)}; ` +
      `RSS ${mib(baseline)} MiB warm -> ${mib(rss)} MiB`);
    assert.equal(s.learned, REQUESTS);
    assert.equal(s.maxEntries, MAX_ENTRIES);
    assert.equal(s.entries, Math.min(MAX_ENTRIES, Math.floor(s.maxBytes / ENTRY_BYTES)));
    assert.equal(s.evictions, REQUESTS - s.entries);
    assert.equal(s.bytes, s.entries * ENTRY_BYTES);
    assert.ok(s.bytes <= s.maxBytes);
    // RSS: the table's bound over the warm baseline. The sanitizers' allocator keeps freed
    // memory in quarantine: there the figure is reported, not bounded.
    const bound = baseline + Math.min(MAX_ENTRIES * ENTRY_BYTES, s.maxBytes) + RSS_SLACK;
    if (timeScale === 1) assert.ok(rss <= bound, `RSS ${rss} > ${bound}`);
  });

test('the least recently used goes first: an id in use survives the flood', async () => {
  const body = JSON.stringify({ model: MODEL, input: 'keep', max_output_tokens: 1 });
  const create = async () => (await (await fetch(`${gw.url}/v1/responses`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()).id;
  const kept = await create();
  const first = await create();
  // A GET of a known id goes to its server (the sim answers 404: it stores nothing; the
  // gateway's own 404 for an unknown id says response_not_found with its message).
  const known = async (id) => {
    const r = await fetch(`${gw.url}/v1/responses/${id}`);
    const answer = await r.json();
    return !/no model server is known to hold this response/.test(answer.error?.message ?? '');
  };
  // Use `kept` once every MAX_ENTRIES / 4 new ids: it stays recent, `first` does not.
  for (let round = 0; round < 6; round++) {
    assert.ok(await known(kept), `round ${round}: the id in use was evicted`);
    await flood(Math.ceil(MAX_ENTRIES / 4));
  }
  assert.ok(await known(kept));
  assert.ok(!(await known(first)), 'the unused id outlived 1.5 x maxEntries newer ones');
});

test('a reload changes the bounds at once: maxEntries, then maxBytes', async () => {
  const before = await table();
  const fewer = Math.floor(MAX_ENTRIES / 4);
  writeFileSync(configPath, config(`{maxEntries: ${fewer}}`));
  gw.proc.kill('SIGHUP');
  // The bound shows at once; the evictions down to it take a moment (75,000 at the full run).
  await waitFor('maxEntries reloaded', async () => {
    const now = await table();
    return now.maxEntries === fewer && now.entries <= fewer;
  });
  let s = await table();
  assert.equal(s.entries, fewer);
  assert.equal(s.evictions, before.evictions + (before.entries - fewer));
  // maxBytes binds now: 100 entries' worth.
  writeFileSync(configPath, config(`{maxEntries: ${MAX_ENTRIES}, maxBytes: ${100 * ENTRY_BYTES}}`));
  gw.proc.kill('SIGHUP');
  await waitFor('maxBytes reloaded', async () => {
    const now = await table();
    return now.maxBytes === 100 * ENTRY_BYTES && now.bytes <= now.maxBytes;
  });
  s = await table();
  assert.equal(s.entries, 100);
  assert.equal(s.bytes, 100 * ENTRY_BYTES);
  // One byte less holds 99; new ids keep it there.
  writeFileSync(configPath, config(`{maxEntries: ${MAX_ENTRIES}, maxBytes: ${100 * ENTRY_BYTES - 1}}`));
  gw.proc.kill('SIGHUP');
  await waitFor('maxBytes reloaded again', async () => (await table()).maxBytes === 100 * ENTRY_BYTES - 1);
  await flood(50);
  s = await table();
  assert.equal(s.entries, 99);
  assert.equal(s.bytes, 99 * ENTRY_BYTES);
});
