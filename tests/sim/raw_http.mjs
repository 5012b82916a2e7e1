// Raw-socket HTTP helpers for the sim's integration tests: what fetch cannot
// do (pipelining, hand-made chunked bodies, malformed requests, hanging up mid-stream).
import net from 'node:net';

// Opens a connection to 127.0.0.1:port and returns {socket, received(), waitFor(pred), close()}.
export async function connect(port) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let data = '';
  let closed = false;
  const waiters = new Set();
  const wake = () => { for (const w of [...waiters]) w(); };
  socket.on('data', (d) => { data += d.toString('utf8'); wake(); });
  socket.on('close', () => { closed = true; wake(); });
  socket.on('error', () => {});
  return {
    socket,
    received: () => data,
    isClosed: () => closed,
    // Resolves once pred(data, closed) is true; rejects after timeoutMs.
    waitFor(pred, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(data, closed)) { waiters.delete(check); clearTimeout(timer); resolve(data); return true; }
          return false;
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out; got: ${data.slice(0, 2000)}`)); }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close() { socket.destroy(); },
  };
}

// Sends `raw` on a fresh connection and resolves with everything received until the server closes.
export async function exchange(port, raw, timeoutMs = 10000) {
  const c = await connect(port);
  c.socket.write(raw);
  return c.waitFor((_, closed) => closed, timeoutMs);
}

// Splits a buffer of HTTP/1.1 responses (Content-Length bodies) into [{status, headers, body}].
export function parseResponses(text) {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
    const len = Number(headers['content-length'] ?? 0);
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

export function postJson(path, body, extraHeaders = '') {
  const json = typeof body === 'string' ? body : JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extraHeaders}` +
    `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}
