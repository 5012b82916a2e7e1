// A misbehaving upstream for the proxy's integration tests: a raw TCP server on
// 127.0.0.1 (or ::1) whose data-path requests are handled by `onRequest(socket, head,
// state)` once a whole request (head + Content-Length body) has arrived. The gateway's
// control plane polls GET /metrics and /v1/models on connections of its own: those get
// a 404 and are not counted, so `connections` and `requests` count the data path only.
import net from 'node:net';

const controlPoll = /^GET \/(metrics|v1\/models) /;

export async function rawUpstream(onRequest, { host = '127.0.0.1' } = {}) {
  const sockets = new Set();
  const handle = { connections: 0, requests: 0, heads: [], closedSockets: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const state = { requests: 0, buffer: Buffer.alloc(0), kind: null, id: 0 };
    socket.on('data', (d) => {
      state.buffer = Buffer.concat([state.buffer, d]);
      for (;;) {
        const end = state.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = state.buffer.subarray(0, end + 4).toString('latin1');
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        const length = m ? Number(m[1]) : 0;
        if (state.buffer.length < end + 4 + length) return;
        const body = state.buffer.subarray(end + 4, end + 4 + length).toString('latin1');
        state.buffer = state.buffer.subarray(end + 4 + length);
        if (state.kind === null) {
          state.kind = controlPoll.test(head) ? 'control' : 'proxy';
          if (state.kind === 'proxy') state.id = ++handle.connections;
        }
        if (state.kind === 'control') {
          socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
          continue;
        }
        state.requests++;
        handle.requests++;
        handle.heads.push(head);
        onRequest(socket, head, state, body);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => { sockets.delete(socket); if (state.kind === 'proxy') handle.closedSockets++; });
  });
  await new Promise((r) => server.listen(0, host, r));
  const { port } = server.address();
  handle.port = port;
  handle.api = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  handle.openSockets = () => [...sockets].length;
  handle.stop = () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); };
  return handle;
}

export const jsonReply = (text, extra = '') =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;

// Resolves once `cond()` (sync or async) is truthy; rejects after `timeoutMs`.
export async function waitFor(cond, { timeoutMs = 5000, stepMs = 25, what = 'condition' } = {}) {
  const started = Date.now();
  for (;;) {
    const value = await cond();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
