// A model server written in Node for tests that need an upstream the sim is not:
// it answers the gateway's control polls as vLLM does (GET /v1/models, GET /metrics
// with the vllm: gauges, GET /health) and hands every other request to the test.
//
//   const up = await startFakeVllm({ model: 'm', waiting: 0,
//     onRequest: (req, body, res) => res.end('...') });   // or res.socket.destroy()
//   up.api            "127.0.0.1:PORT" for --endpoint
//   up.requests       [{ method, path, headers, body }] of the data path only
//   up.waiting = 50   changes what the next /metrics scrape reports
//   beforeModels: async () => {}   awaited before GET /v1/models answers (a server still starting)
//   await up.stop()
import http from 'node:http';

export async function startFakeVllm({ model, adapters = [], waiting = 0, running = 0, kvUsage = 0, onRequest, beforeModels } = {}) {
  const handle = { waiting, running, kvUsage, requests: [], api: '', url: '', stop: null };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url.split('?')[0];
      if (req.method === 'GET' && path === '/v1/models') {
        if (beforeModels) await beforeModels();
        const data = [{ id: model, object: 'model', created: 0, owned_by: 'vllm', root: model, parent: null }];
        for (const a of adapters) data.push({ id: a, object: 'model', created: 0, owned_by: 'vllm', root: a, parent: model });
        return json(res, 200, { object: 'list', data });
      }
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return res.end(metricsPage(model, handle));
      }
      if (req.method === 'GET' && path === '/health') return res.end();
      handle.requests.push({ method: req.method, path, headers: req.headers, body });
      if (onRequest) return onRequest(req, body, res);
      json(res, 404, { error: { message: `no handler for ${path}`, type: 'NotFoundError', code: 404 } });
    });
  });
  server.keepAliveTimeout = 5000;  // as vLLM (uvicorn)
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  handle.api = `127.0.0.1:${server.address().port}`;
  handle.url = `http://${handle.api}`;
  handle.stop = () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); };
  return handle;
}

export function json(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// The gauges the gateway reads, in vLLM's exposition format (v0.6+ names).
function metricsPage(model, { waiting, running, kvUsage }) {
  const label = `{model_name="${model}"}`;
  return [
    '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running${label} ${running.toFixed(1)}`,
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting${label} ${waiting.toFixed(1)}`,
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc${label} ${kvUsage}`,
    '',
  ].join('\n');
}
