// The in-cluster path: KUBERNETES_SERVICE_HOST/PORT, a service-account
// directory (token, ca.crt, namespace), TLS verified against that CA and the
// host IP/name — against the fake API server over HTTPS with openssl-made certs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeKubeApi, endpoint, makeTestCerts } from './fake_kube_api.mjs';
import { startProbe, isEndpoints, endpointsAre, routableAre } from './watch_probe.mjs';

let dir;
let certs;
let otherCa;
let api;

function serviceAccountDir(name, { ca = certs.caCert, token = 'sa-token', namespace = 'llm' } = {}) {
  const sa = path.join(dir, name);
  fs.mkdirSync(sa);
  fs.copyFileSync(ca, path.join(sa, 'ca.crt'));
  fs.writeFileSync(path.join(sa, 'token'), token);
  fs.writeFileSync(path.join(sa, 'namespace'), namespace);
  return sa;
}

const inCluster = (sa, host = '127.0.0.1') => ({
  env: { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: String(api.port), RINGGATE_SA_DIR: sa },
});
const probeArgs = ['--in-cluster', '--service', 'vllm', '--port', 'http', '--backoff-initial-ms', '50', '--backoff-max-ms', '200'];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-incluster-'));
  certs = makeTestCerts(dir, { ips: ['127.0.0.1'] });
  otherCa = makeTestCerts(dir, { name: 'other' });
  api = await new FakeKubeApi({ token: 'sa-token', namespace: 'llm', tls: { key: certs.key, cert: certs.cert } }).start();
  api.createSlice('vllm-a', { endpoints: [endpoint('10.0.0.1', { pod: 'vllm-0', namespace: 'llm' })] });
  api.createSlice('vllm-a', { namespace: 'default', endpoints: [endpoint('10.5.5.5')] });  // another namespace
});

after(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('in-cluster over TLS: lists and watches the namespace from the service-account dir', async () => {
  const probe = startProbe(probeArgs, inCluster(serviceAccountDir('good')));
  try {
    await probe.waitFor(endpointsAre(['10.0.0.1:8000']));
    api.updateSlice('vllm-a', (s) => { s.endpoints[0].conditions.ready = false; s.endpoints.push(endpoint('10.0.0.2')); }, { namespace: 'llm' });
    await probe.waitFor(routableAre(['10.0.0.2:8000']));
    const watch = api.watchRequests().at(-1);
    assert.equal(watch.path, '/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices');
    assert.equal(watch.authorization, 'Bearer sa-token');
    assert.ok(!probe.lines.some((l) => JSON.stringify(l.msg).includes('10.5.5.5')), 'other namespace not seen');
    // A clean exit (and, under ASan, no leak) after a TLS session.
    assert.deepEqual(await probe.stop(), { code: 0, signal: null });
  } finally {
    await probe.stop();
  }
});

test('a CA that did not sign the server certificate: clear error, nothing published', async () => {
  const probe = startProbe(probeArgs, inCluster(serviceAccountDir('wrong-ca', { ca: otherCa.caCert })));
  try {
    const error = await probe.waitFor((m) => typeof m.error === 'string');
    assert.match(error.msg.error, /certificate of 127\.0\.0\.1:\d+ failed verification against .*ca\.crt: unable to get local issuer certificate/);
    // Retried (a second error after the backoff), and still nothing published.
    await probe.waitFor((m) => typeof m.error === 'string', { from: probe.lines.indexOf(error) + 1 });
    assert.ok(!probe.lines.some((l) => isEndpoints(l.msg)));
  } finally {
    await probe.stop();
  }
});

test('the certificate must name the host: "localhost" is not in its IP-only SAN', async () => {
  const probe = startProbe(probeArgs, inCluster(serviceAccountDir('by-name'), 'localhost'));
  try {
    const error = await probe.waitFor((m) => typeof m.error === 'string');
    assert.match(error.msg.error, /failed verification.*(hostname mismatch|Hostname mismatch)/i);
    assert.ok(!probe.lines.some((l) => isEndpoints(l.msg)));
  } finally {
    await probe.stop();
  }
});

test('a wrong service-account token: 401 reported', async () => {
  const probe = startProbe(probeArgs, inCluster(serviceAccountDir('bad-token', { token: 'stale' })));
  try {
    const error = await probe.waitFor((m) => m.status === 401);
    assert.match(error.msg.error, /HTTP 401 Unauthorized/);
  } finally {
    await probe.stop();
  }
});

test('missing in-cluster setup: clear start-up errors', async () => {
  const cases = [
    [{ KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' }, /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set/],
    [{ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '443', RINGGATE_SA_DIR: path.join(dir, 'nope') }, /service account token: cannot read .*nope\/token/],
  ];
  for (const [env, message] of cases) {
    const probe = startProbe(probeArgs, { env });
    const code = await new Promise((resolve) => probe.proc.on('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(probe.stderr(), message);
  }
});
