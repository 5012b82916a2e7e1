// A real redis-server (Debian's) on a free loopback port, for the shared-state tests,
// and a few raw RESP commands to look inside it.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { freePort } from './prometheus.mjs';

// Starts redis-server on `port` (a free one by default); resolves once it accepts
// connections: { port, proc, stop(signal) }. No persistence, no config file.
export async function startRedis({ port, password } = {}) {
  port ??= await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  if (password) args.push('--requirepass', password);
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const stop = (signal = 'SIGTERM') => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
  for (const t0 = Date.now(); ;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    try {
      const pong = await redisCommand(port, password ? [['AUTH', password], ['PING']] : [['PING']]);
      if (pong.at(-1) === 'PONG') break;
    } catch { /* not yet listening */ }
    if (Date.now() - t0 > 10000) { await stop('SIGKILL'); throw new Error(`redis-server did not start: ${out}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, proc, stop };
}

// Sends each command of `commands` (arrays of strings or Buffers) on one connection; resolves with
// their replies (strings, numbers, arrays; errors as Error objects).
export function redisCommand(port, commands) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const replies = [];
    s.on('error', reject);
    s.on('connect', () => {
      for (const c of commands) {
        const args = c.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))));
        s.write(Buffer.concat([Buffer.from(`*${args.length}\r\n`),
          ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')])]));
      }
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parse(buf, 0);
        if (!r) break;
        replies.push(r.value);
        buf = buf.subarray(r.end);
      }
      if (replies.length === commands.length) { s.destroy(); resolve(replies); }
    });
  });
}

function parse(b, i) {
  const eol = b.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = b.toString('utf8', i + 1, eol);
  switch (String.fromCharCode(b[i])) {
    case '+': return { value: line, end: eol + 2 };
    case '-': return { value: new Error(line), end: eol + 2 };
    case ':': return { value: Number(line), end: eol + 2 };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (b.length < eol + 2 + n + 2) return null;
      return { value: b.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      const out = [];
      let at = eol + 2;
      for (let k = 0; k < n; ++k) {
        const r = parse(b, at);
        if (!r) return null;
        out.push(r.value);
        at = r.end;
      }
      return { value: out, end: at };
    }
    default: throw new Error(`bad RESP byte ${b[i]}`);
  }
}
