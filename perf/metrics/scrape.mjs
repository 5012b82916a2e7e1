#!/usr/bin/env node
// perf/metrics/scrape.mjs — issue 72's /metrics lines: at 2 and 8 workers, the page before
// and after 1,000 requests with 1,000 distinct fairness ids (500 for an unknown model, 404;
// 500 served), and how long a scrape takes, beside its floor: nginx serving the same bytes
// as a static file, fetched by the same client (curl) in the same run.
//
//   node perf/metrics/scrape.mjs [--scrapes N] [--max-label-values N]
//   RINGGATE_BUILD_DIR=build (default); nginx and curl from PATH
//
// Numbers depend on the machine and what runs beside it: a measurement, not a test.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startGateway, startSim, waitRoutable } from '../../tests/lib/procs.mjs';
import { freePort, waitPort } from '../routing/proxies.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const SCRAPES = opt('scrapes', 20);
const MAX_LABEL_VALUES = opt('max-label-values', 0);  // 0: the default (64)

const MODEL = 'facebook/opt-125m';

function post(agent, url, model, fairness) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model, prompt: 'hello', max_tokens: 1 });
    const req = http.request(`${url}/v1/completions`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'x-gateway-inference-fairness-id': fairness },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(body);
  });
}

// curl's total time for one GET, in ms, and the bytes it read.
function curlTime(url) {
  const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', url]).toString();
  const [t, n] = out.split(' ');
  return { ms: Number(t) * 1000, bytes: Number(n) };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`;
}

async function staticFloor(page) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rg-scrape-'));
  writeFileSync(path.join(dir, 'metrics'), page);
  const port = await freePort();
  writeFileSync(path.join(dir, 'nginx.conf'), `worker_processes 1; master_process off; daemon off;
pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${dir}; default_type text/plain; } }
`);
  const nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  try {
    await waitPort(port);
    const times = [];
    for (let i = 0; i < SCRAPES; ++i) times.push(curlTime(`http://127.0.0.1:${port}/metrics`).ms);
    return times;
  } finally {
    nginx.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const workers of [2, 8]) {
  const sim = await startSim(['--model', MODEL, '--inter-token-latency-ms', '0', '--time-to-first-token', '0']);
  const extra = [];
  let config;
  if (MAX_LABEL_VALUES) {
    config = path.join(mkdtempSync(path.join(tmpdir(), 'rg-scrape-cfg-')), 'ringgate.yaml');
    writeFileSync(config, `apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n` +
      `    static: ["127.0.0.1:${sim.port}"]\nmetrics:\n  maxLabelValues: ${MAX_LABEL_VALUES}\n`);
    extra.push('--config', config);
  } else {
    extra.push('--endpoint', `127.0.0.1:${sim.port}`);
  }
  const gw = await startGateway(['--workers', String(workers), ...extra]);
  try {
    await waitRoutable(gw);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    await post(agent, gw.url, MODEL, 'warm');  // every family the page will have exists
    const before = curlTime(`${gw.adminUrl}/metrics`).bytes;
    let next = 0;
    const statuses = {};
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < 1000) {
        const i = next++;
        const s = await post(agent, gw.url, i < 500 ? 'no-such-model' : MODEL, `tenant-${i}`);
        statuses[s] = (statuses[s] ?? 0) + 1;
      }
    }));
    agent.destroy();
    const times = [];
    let bytes = 0;
    for (let i = 0; i < SCRAPES; ++i) ({ ms: times[i], bytes } = curlTime(`${gw.adminUrl}/metrics`));
    const page = execFileSync('curl', ['-s', `${gw.adminUrl}/metrics`], { maxBuffer: 1 << 28 });
    const floor = await staticFloor(page);
    const bound = 2 * before + 256 * 1024;
    console.log(`${workers} workers, maxLabelValues ${MAX_LABEL_VALUES || 64}: answers ${JSON.stringify(statuses)}`);
    console.log(`  /metrics ${before} -> ${bytes} bytes (2x before + 256 KB = ${bound}: ` +
      `${bytes <= bound ? 'within' : `over by ${bytes - bound}`})`);
    console.log(`  scrape (ringgate, ${SCRAPES}x): ${stats(times)}`);
    console.log(`  floor  (nginx, the same ${bytes} bytes as a static file): ${stats(floor)}`);
  } finally {
    await gw.stop();
    await sim.stop();
  }
}
