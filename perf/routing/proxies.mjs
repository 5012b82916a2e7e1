// Starts the baseline proxies (nginx round-robin, HAProxy leastconn) on loopback, each
// in the foreground from a temp dir, and ringgate via tests/lib/procs.mjs. Every process
// started here is killed when the Node process exits (also on Ctrl-C / error).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { startGateway, stop as stopProc } from '../../tests/lib/procs.mjs';

const mine = new Set();
const tmpDirs = new Set();
function cleanup() {
  for (const p of mine) { try { p.kill('SIGKILL'); } catch {} }
  for (const d of tmpDirs) { try { rmSync(d, { recursive: true, force: true }); } catch {} }
}
process.on('exit', cleanup);

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves once a TCP connect to port succeeds.
export async function waitPort(port, timeoutMs = 10000, proc) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error(`process exited (${proc.exitCode ?? proc.signalCode})`);
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function spawnTracked(bin, args, label) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  mine.add(proc);
  let err = '';
  proc.stderr.on('data', (d) => { err += d; if (err.length > 65536) err = err.slice(-32768); });
  proc.on('exit', () => mine.delete(proc));
  return { proc, label, stderr: () => err };
}

function handle(t, port, dir) {
  return {
    ...t, port, url: `http://127.0.0.1:${port}`,
    stop: async () => { await stopProc(t.proc, 'SIGTERM'); if (dir) { rmSync(dir, { recursive: true, force: true }); tmpDirs.delete(dir); } },
  };
}

// nginx round-robin with upstream keep-alive; one process (master_process off), no
// response buffering (SSE chunks pass as they come), destination in a response header.
export async function startNginx(endpoints) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rg-nginx-'));
  tmpDirs.add(dir);
  const port = await freePort();
  const conf = `worker_processes 1;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream sims {
${endpoints.map((e) => `    server ${e};`).join('\n')}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    client_max_body_size 16m;
    client_body_buffer_size 64k;
    location / {
      proxy_pass http://sims;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
      add_header x-gateway-destination-endpoint $upstream_addr always;
    }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const t = spawnTracked('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], 'nginx');
  try { await waitPort(port, 10000, t.proc); } catch (e) { throw new Error(`nginx: ${e.message}: ${t.stderr()}`); }
  return handle(t, port, dir);
}

// HAProxy, one thread, keep-alive to the servers, no send delay (SSE), destination
// header. balance: 'leastconn', or 'hash' = consistent hash of the request body's first
// 96 bytes (the load client puts the prompt first): naive prefix affinity, no load guard.
export async function startHaproxy(endpoints, { balance = 'leastconn' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rg-haproxy-'));
  tmpDirs.add(dir);
  const port = await freePort();
  const conf = `global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-request 30s
frontend fe
  bind 127.0.0.1:${port}
  default_backend sims
backend sims
${balance === 'hash' ? '  option http-buffer-request\n  balance hash req.body,bytes(0,96)\n  hash-type consistent' : '  balance leastconn'}
  http-reuse always
  # SSE: forward each chunk at once (without it HAProxy sends with MSG_MORE and the
  # kernel can hold a token chunk ~200 ms, which would be unfair to HAProxy's TTFT).
  option http-no-delay
  http-response set-header x-gateway-destination-endpoint %si:%sp
${endpoints.map((e, i) => `  server s${i} ${e}`).join('\n')}
`;
  writeFileSync(path.join(dir, 'haproxy.cfg'), conf);
  const t = spawnTracked('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], 'haproxy');
  try { await waitPort(port, 10000, t.proc); } catch (e) { throw new Error(`haproxy: ${e.message}: ${t.stderr()}`); }
  return handle(t, port, dir);
}

// ringgate in front of `endpoints`; extra args appended. Waits for /readyz when the
// admin server answers it (any 2xx), else for the first /v1/models answer.
// `endpoints`: host:port strings, or (with a `config` YAML path in extraArgs) none.
export async function startRinggate(endpoints, extraArgs = []) {
  const args = [...endpoints.flatMap((e) => ['--endpoint', e]), ...extraArgs];
  const g = await startGateway(args);
  const until = Date.now() + 10000;
  for (;;) {
    try {
      const r = await fetch(`${g.adminUrl}/readyz`);
      if (r.ok) break;
      if (r.status === 404) { const m = await fetch(`${g.url}/v1/models`); if (m.ok) break; }
    } catch {}
    if (Date.now() > until) throw new Error(`ringgate not ready after 10 s: ${g.stderr()}`);
    await sleep(50);
  }
  return { proc: g.proc, label: 'ringgate', url: g.url, adminUrl: g.adminUrl, port: g.port, stderr: g.stderr, stop: () => g.stop('SIGTERM') };
}

// HAProxy in TCP mode, round robin over `backends` (host:port): how replicas of one
// gateway sit behind a Kubernetes Service (each connection to one replica).
export async function startHaproxyTcp(backends) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rg-haproxy-tcp-'));
  tmpDirs.add(dir);
  const port = await freePort();
  writeFileSync(path.join(dir, 'haproxy.cfg'), `global
  nbthread 1
  maxconn 8192
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend fe
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
${backends.map((e, i) => `  server r${i} ${e}`).join('\n')}
`);
  const t = spawnTracked('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], 'haproxy-tcp');
  try { await waitPort(port, 10000, t.proc); } catch (e) { throw new Error(`haproxy: ${e.message}: ${t.stderr()}`); }
  return handle(t, port, dir);
}

// `count` ringgate replicas (each started as startRinggate would) behind HAProxy TCP
// round robin. The handle's url is HAProxy's; pids lists every process (CPU per
// request counts them all); replicas holds the gateways (their admin URLs).
export async function startReplicas(count, endpoints, extraArgs = []) {
  const replicas = [];
  for (let i = 0; i < count; i++) replicas.push(await startRinggate(endpoints, extraArgs));
  const lb = await startHaproxyTcp(replicas.map((r) => `127.0.0.1:${r.port}`));
  return {
    ...lb, label: `ringgate x${count}`, replicas, pids: [lb.proc.pid, ...replicas.map((r) => r.proc.pid)],
    stderr: () => replicas.map((r) => r.stderr()).join('\n'),
    stop: async () => { await lb.stop(); for (const r of replicas) await r.stop(); },
  };
}

export function helpText(bin) {
  try { return execFileSync(bin, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }); }
  catch (e) { return String(e.stdout || '') + String(e.stderr || ''); }
}
