// Raw-socket HTTP helpers for the proxy's integration tests: send exact bytes, read
// back everything until the server closes (or a quiet period passes), and split the
// bytes into responses.
import net from 'node:net';
import http from 'node:http';

// Sends `chunks` (strings/Buffers, with optional {delayMs} objects between them) and
// resolves {text, closed, error} once the peer closes or `idleMs` pass without bytes.
export function rawExchange(port, chunks, { idleMs = 1500, maxMs = 15000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts = [];
    let closed = false;
    let idle;
    const finish = (error) => {
      clearTimeout(idle);
      clearTimeout(overall);
      socket.destroy();
      resolve({ text: Buffer.concat(parts).toString('latin1'), closed, error });
    };
    const overall = setTimeout(() => finish('max time'), maxMs);
    const rearm = () => { clearTimeout(idle); idle = setTimeout(() => finish(), idleMs); };
    socket.on('data', (d) => { parts.push(d); rearm(); });
    socket.on('end', () => { closed = true; finish(); });
    socket.on('error', (e) => { closed = true; finish(e.code); });
    socket.on('connect', async () => {
      rearm();
      for (const chunk of chunks) {
        if (chunk && typeof chunk === 'object' && 'delayMs' in chunk) {
          await new Promise((r) => setTimeout(r, chunk.delayMs));
          rearm();
          continue;
        }
        if (socket.destroyed) return;
        socket.write(chunk);
      }
    });
  });
}

// The status codes of every response in `text`, in order (100 Continue included).
export function statuses(text) {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

// One request through node's http client; resolves {status, headers, body}.
export function request(port, { method = 'POST', path = '/v1/completions', headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(typeof body === 'string' ? body : JSON.stringify(body));
    else req.end();
  });
}

export const jsonHeaders = { 'content-type': 'application/json' };
export const MODEL = 'facebook/opt-125m';

// Finds a sample by metric name (labels ignored) in a scrape() map; summed.
export function metric(samples, name) {
  let total = 0;
  let found = false;
  for (const [key, value] of samples) {
    if (key === name || key.startsWith(name + '{')) { total += value; found = true; }
  }
  return found ? total : undefined;
}
