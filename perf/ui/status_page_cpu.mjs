// What an open status page costs the gateway: CPU of the control thread (which serves
// the admin port) and of the whole process, over the same load, with the page (GET
// :9090/ in Debian's chromium, refreshing once a second) open and closed, interleaved.
//   node perf/ui/status_page_cpu.mjs [--seconds 30] [--rounds 3] [--rate 60] [--screenshot FILE]
// Needs a built tree (RINGGATE_BUILD_DIR, default build/) and tests/node_modules (setup.sh).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '../../tests/node_modules/playwright-core/index.mjs';
import { startSim, startGateway, waitRoutable } from '../../tests/lib/procs.mjs';
import { runLoad } from '../loadgen/loadgen.mjs';

const { values: opt } = parseArgs({ options: {
  seconds: { type: 'string', default: '30' }, rounds: { type: 'string', default: '3' },
  rate: { type: 'string', default: '60' }, screenshot: { type: 'string' },
} });
const seconds = Number(opt.seconds), rounds = Number(opt.rounds), rate = Number(opt.rate);
const MODEL = 'facebook/opt-125m';
const ticks = (stat) => { const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); return Number(f[11]) + Number(f[12]); };
const cpu = (file) => ticks(fs.readFileSync(file, 'utf8')) / 100;  // USER_HZ
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-page-cpu-'));
const stopLoad = new AbortController();
let context;
try {
  const sims = await Promise.all([0, 1, 2].map(() => startSim(['--model', MODEL, '--inter-token-latency-ms', '10',
    '--prefill-overhead-ms', '20'])));
  live.push(...sims);
  const gw = await startGateway([...sims.flatMap((s) => ['--endpoint', s.api]), '--workers', '2']);
  live.push(gw);
  await waitRoutable(gw, 3);
  const pid = gw.proc.pid;
  const control = fs.readdirSync(`/proc/${pid}/task`).find((t) =>
    fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'rg-control');
  if (!control) throw new Error('no rg-control thread');
  const load = runLoad({ url: gw.url, model: MODEL, rate, duration: 900, streamFraction: 0.5, maxTokens: 16,
    workload: 'A', workloadOptions: { minBytes: 256, maxBytes: 2048, prompts: 16 }, signal: stopLoad.signal });
  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1440, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  await sleep(3000);  // load under way
  const results = { closed: [], open: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['closed', 'open']) {
      let page;
      if (mode === 'open') {
        page = await context.newPage();
        await page.goto(`${gw.adminUrl}/`);
        await page.waitForSelector('#endpoints tbody tr[data-health]');
      }
      const c0 = cpu(`/proc/${pid}/task/${control}/stat`), p0 = cpu(`/proc/${pid}/stat`), t0 = performance.now();
      await sleep(seconds * 1000);
      const wall = (performance.now() - t0) / 1000;
      const c = (cpu(`/proc/${pid}/task/${control}/stat`) - c0) / wall, p = (cpu(`/proc/${pid}/stat`) - p0) / wall;
      results[mode].push({ control: c, process: p });
      console.log(`round ${round + 1} page ${mode}: control thread ${(100 * c).toFixed(2)}% of a core, process ${(100 * p).toFixed(1)}%`);
      if (page) {
        if (opt.screenshot && round === rounds - 1) await page.screenshot({ path: opt.screenshot });
        await page.close();
      }
    }
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  for (const mode of ['closed', 'open'])
    console.log(`median page ${mode}: control thread ${(100 * median(results[mode].map((r) => r.control))).toFixed(2)}%` +
      ` of a core, process ${(100 * median(results[mode].map((r) => r.process))).toFixed(1)}% (${rate} req/s, ${seconds} s x ${rounds})`);
  stopLoad.abort();
  const s = (await load);
  console.log(`load: ${JSON.stringify(s.counts ?? s.outcomes ?? {})}`);
} finally {
  stopLoad.abort();
  await context?.close();
  await Promise.all(live.map((p) => p.stop('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
}
