// A bad config on reload is rejected and changes nothing, through the real binary and
// under steady traffic: eight kinds of bad file arrive by SIGHUP or by the file watcher;
// for each, stderr names FILE:LINE:COL, ringgate_config_reload_failures_total goes up
// by one, requests are still rewritten the old way, the bad file's new alias is not
// served or listed, and no request fails. Then a good file applies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSim, startGateway, scrape } from '../lib/procs.mjs';
import { keepAliveAgent, openLoop, post } from './model_traffic.mjs';

const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-badreload-'));
const procs = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

const REAL = 'facebook/opt-125m', CANARY = 'opt-125m-v2';

async function counters(adminUrl) {
  const m = await scrape(`${adminUrl}/metrics`);
  return { ok: m.get('ringgate_config_reloads_total'), failed: m.get('ringgate_config_reload_failures_total') };
}

async function until(what, predicate, limitMs = 5000) {
  const give_up = performance.now() + limitMs;
  while (!(await predicate())) {
    if (performance.now() > give_up) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(20);
  }
}

test('eight kinds of bad config on reload are rejected; the old rules keep serving; nothing is dropped', { timeout: 55000 }, async () => {
  // CANARY is a LoRA adapter, so answers name the model that served them (vLLM answers
  // every --served-model-name alias with the first name).
  const sim = await startSim(['--model', REAL, '--lora', CANARY, '--max-num-seqs', '512']);
  procs.push(sim);
  // 4 lines, so the rewrite documents below start on line 5.
  const GW = `apiVersion: ringgate.io/v1\nkind: Gateway\npool: {name: vllm, discovery: {static: ["${sim.api}"]}}\n---\n`;
  const doc = (spec) => `${GW}apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n` +
    `metadata: {name: chat}\nspec:\n${spec}`;
  // The good config maps my-chat to REAL; every bad one would map it to CANARY and add an
  // alias "brand-new", and has one error at [line, column].
  const good = doc(`  rules:\n  - matches: [{model: {value: my-chat}}]\n    targets: [{modelRewrite: ${REAL}}]\n`);
  const wanted = (targets) => `  rules:\n  - matches: [{model: {value: my-chat}}, {model: {value: brand-new}}]\n    targets: ${targets}\n`;
  const BAD = [
    // [kind, how it arrives, text, line, column, message part]
    ['bad YAML', 'sighup', doc(wanted(`[{modelRewrite: ${CANARY}}`)), 12, null, 'invalid YAML'],
    ['unknown field', 'watcher', doc(wanted(`[{modelRewrite: ${CANARY}, wieght: 1}]`)), 11, 43, 'wieght: unknown field'],
    ['weight out of range', 'sighup', doc(wanted(`[{modelRewrite: ${CANARY}, weight: 1000001}]`)), 11, 51,
      'value 1000001 is out of range (1 to 1000000)'],
    ['duplicate rule', 'watcher', doc(wanted(`[{modelRewrite: ${CANARY}}]`) +
      `  - matches: [{model: {value: my-chat}}]\n    targets: [{modelRewrite: ${REAL}}]\n`), 12, 5,
      'model "my-chat" is already matched by the rule at line 10'],
    ['mixed weights', 'sighup', doc(wanted(`[{modelRewrite: ${CANARY}, weight: 9}, {modelRewrite: ${REAL}}]`)), 11, 14,
      'weights must be set on every target or on none'],
    ['unknown kind', 'watcher', doc(wanted(`[{modelRewrite: ${CANARY}}]`)) + '---\napiVersion: v1\nkind: ConfigMap\n', 14, 7,
      'unknown kind "ConfigMap"'],
    ['empty file (a truncating writer)', 'watcher', '', 1, 1, 'no documents'],
    ['missing pool', 'sighup', doc(wanted(`[{modelRewrite: ${CANARY}}]`)).slice(GW.length), 1, 1, 'missing pool'],
  ];

  const config = path.join(dir, 'ringgate.yaml');
  writeFileSync(config, good);
  const gw = await startGateway(['--config', config]);
  procs.push(gw);
  const agent = keepAliveAgent(2);
  const ask = (model) => post(agent, gw.url, '/v1/completions', { model, prompt: 'p', max_tokens: 1 });
  assert.equal((await ask('my-chat')).model, REAL);

  // Steady traffic for the whole sequence, however long this machine takes for it (the
  // sanitized build beside other tests takes seconds longer); 30 s bounds it.
  const t0 = performance.now();
  let sequenceDone = false;
  const load = openLoop({ url: gw.url, rate: 300, durationMs: 30000, stopWhen: () => sequenceDone,
                          body: { model: 'my-chat', prompt: 'q', max_tokens: 1 } });

  const problems = [];
  for (let i = 0; i < BAD.length; i++) {
    const [kind, how, text, line, column, needle] = BAD[i];
    const stderrBefore = gw.stderr().length;
    writeFileSync(config, text);
    if (how === 'sighup') gw.proc.kill('SIGHUP');
    await until(`${kind}: rejection counted`, async () => (await counters(gw.adminUrl)).failed >= i + 1);
    const said = gw.stderr().slice(stderrBefore);
    const at = column === null ? `${config}:${line}:` : `${config}:${line}:${column}: `;
    if (!said.includes('config reload rejected, the running config stays')) problems.push(`${kind}: no rejection notice: ${said}`);
    if (!said.split('\n').some((l) => l.includes(at) && l.includes(needle))) problems.push(`${kind}: wanted "${at}...${needle}" in: ${said}`);
    const r = await ask('my-chat');
    if (r.status !== 200 || r.model !== REAL) problems.push(`${kind}: my-chat answered ${r.status} ${r.model}, wanted ${REAL}`);
    const fresh = await ask('brand-new');
    if (fresh.status !== 404) problems.push(`${kind}: the rejected alias brand-new answered ${fresh.status}`);
    console.log(`rejected (${how}): ${said.split('\n').find((l) => l.includes(config + ':'))}`);
    await sleep(250);  // traffic under the rejected file; and time for a second (wrong) count to show
  }
  assert.deepEqual(problems, []);
  // One rejection per bad file (a SIGHUP'd file is not rejected again when the watcher sees it).
  assert.deepEqual(await counters(gw.adminUrl), { ok: 0, failed: BAD.length });
  const models = JSON.parse((await (await fetch(`${gw.url}/v1/models`)).text())).data.map((m) => m.id);
  assert.ok(models.includes('my-chat') && !models.includes('brand-new'), JSON.stringify(models));

  // A good file applies (by the watcher) and is followed at once.
  const tGood = performance.now() - t0;
  writeFileSync(config, doc(`  rules:\n  - matches: [{model: {value: my-chat}}, {model: {value: brand-new}}]\n    targets: [{modelRewrite: ${CANARY}}]\n`));
  await until('the good file applied', async () => (await counters(gw.adminUrl)).ok === 1);
  const tApplied = performance.now() - t0;
  assert.equal((await ask('my-chat')).model, CANARY);
  assert.equal((await ask('brand-new')).model, CANARY);
  const listed = JSON.parse((await (await fetch(`${gw.url}/v1/models`)).text())).data.map((m) => m.id);
  assert.ok(listed.includes('my-chat') && listed.includes('brand-new'), `the new alias is listed: ${JSON.stringify(listed)}`);
  await sleep(500);  // traffic under the good file
  sequenceDone = true;

  const { tally, records } = await load;
  const s = tally.summary();
  console.log(`background load: ${tally.sent} requests at 300 req/s, ok ${tally.ok}, connection errors ${tally.connErrors}, ` +
              `by model ${JSON.stringify(s.byModel)}; good file sent at ${Math.round(tGood)} ms, applied by ${Math.round(tApplied)} ms`);
  assert.equal(tally.ok, tally.sent, `nothing failed: ${JSON.stringify(s)}`);
  const early = records.filter((r) => r.t < tGood);
  const late = records.filter((r) => r.t > tApplied + 100);
  assert.ok(early.length > 600 && late.length > 50, `${early.length} before, ${late.length} after`);
  assert.deepEqual([...new Set(early.map((r) => r.model))], [REAL], 'the old rule served everything until the good file');
  assert.deepEqual([...new Set(late.map((r) => r.model))], [CANARY], 'the good file serves everything after it applied');
  assert.deepEqual(await counters(gw.adminUrl), { ok: 1, failed: BAD.length });
  agent.destroy();
});
