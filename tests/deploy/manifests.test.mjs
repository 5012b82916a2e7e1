// Holds deploy/ (Kubernetes manifests, Dockerfile, Grafana dashboard) to the code:
//  - the manifests parse, the kustomizations name every file and build (kubectl kustomize);
//  - the ConfigMap's ringgate.yaml passes `ringgate --check-config`;
//  - every flag in the containers' args is one `ringgate --help` / `ringgate-sim --help` lists;
//  - probes, container ports, Service ports and Prometheus annotations match the
//    listeners the config declares, and a gateway started on that config (adapted to
//    loopback) answers the probe paths on its admin listener;
//  - the Role grants exactly what the EndpointSlice watcher asks the API server for
//    (the real watcher against tests/discovery's fake API server), nothing more;
//  - the in-cluster path: the gateway on the ConfigMap's config, with a service-account
//    directory and KUBERNETES_SERVICE_HOST/PORT pointing at a TLS API server, lists and
//    watches EndpointSlices and routes to the sims they name;
//  - the Dockerfile's paths, packages and entrypoint; the dashboard's PromQL (promtool).
// A test that needs a binary or feature that is not built fails and says which.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDocuments, parseOne } from './yaml_subset.mjs';
import { kustomize } from './kustomization.mjs';
import { binaries, start, startSim, stop } from '../lib/procs.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const buildDir = process.env.RINGGATE_BUILD_DIR ?? path.join(root, 'build');
const k8sDir = path.join(root, 'deploy/kubernetes');
const watchProbe = process.env.WATCH_PROBE ?? path.join(buildDir, 'tests/discovery/watch_probe');
const rel = (p) => path.relative(root, p);
const read = (p) => fs.readFileSync(p, 'utf8');

// ---------------------------------------------------------------- manifests

const objectsOf = (dir) => kustomize(dir).map((r) => r.doc);
const find = (objs, kind, name) => {
  const hit = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  assert.equal(hit.length, 1, `expected one ${kind}${name ? ' ' + name : ''}, found ${hit.length}`);
  return hit[0];
};

const base = () => objectsOf(k8sDir);
const eppDir = path.join(root, 'deploy/epp');
const eppObjs = () => objectsOf(eppDir);
const eppConfigText = () => find(eppObjs(), 'ConfigMap', 'ringgate-epp-config').data['ringgate.yaml'];
const eppGatewayDoc = () => find(parseDocuments(eppConfigText(), 'ConfigMap ringgate-epp-config/ringgate.yaml'), 'Gateway');
const simObjs = () => objectsOf(path.join(k8sDir, 'vllm-sim'));
const cpuObjs = () => objectsOf(path.join(k8sDir, 'vllm-cpu'));
const configMapText = () => find(base(), 'ConfigMap', 'ringgate-config').data['ringgate.yaml'];
const ringgateConfig = () => parseDocuments(configMapText(), 'ConfigMap ringgate-config/ringgate.yaml');
const gatewayDoc = () => find(ringgateConfig(), 'Gateway');
const portOf = (hostPort) => Number(String(hostPort).split(':').pop());

function container(deployment) {
  const cs = deployment.spec.template.spec.containers;
  assert.equal(cs.length, 1, `${deployment.metadata.name}: expected one container`);
  return cs[0];
}

// A probe/target port given by name or number, resolved against the container's ports.
function resolvePort(c, port) {
  if (typeof port === 'number') return port;
  const p = (c.ports ?? []).find((x) => x.name === port);
  assert.ok(p, `container ${c.name} has no port named ${port}`);
  return p.containerPort;
}

// ---------------------------------------------------------------- binaries

function requireFile(p, what) {
  if (!fs.existsSync(p)) {
    assert.fail(`${what} not found at ${p}: build it first (meson setup ${rel(buildDir)} && ninja -C ${rel(buildDir)}), ` +
      `or point RINGGATE_BUILD_DIR at a build tree that has it`);
  }
}

// The flags a binary's --help lists (a flag is the first word of a help line).
function helpFlags(bin, name) {
  requireFile(bin, name);
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, `${name} --help exited ${r.status}: ${r.stderr}`);
  return new Set([...r.stdout.matchAll(/^\s*(--[a-z0-9][a-z0-9-]*)/gm)].map((m) => m[1]));
}

function requireGatewayFlags(...flags) {
  const known = helpFlags(binaries.ringgate, 'ringgate');
  const missing = flags.filter((f) => !known.has(f));
  if (missing.length) {
    assert.fail(`ringgate --help lists no ${missing.join(', ')}: this build of the gateway does not have ` +
      `the config file support yet (issue 7); the deployment needs it`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// The ConfigMap's config with the listeners moved to free loopback ports and, if given,
// the discovery replaced. Serialised as JSON, which is YAML (flow style) too.
async function loopbackConfig(dir, { discovery } = {}) {
  const docs = ringgateConfig();
  const gw = find(docs, 'Gateway');
  const apiPort = await freePort();
  const adminPort = await freePort();
  gw.listen = { api: `127.0.0.1:${apiPort}`, admin: `127.0.0.1:${adminPort}` };
  if (discovery) gw.pool.discovery = discovery;
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, docs.map((d) => JSON.stringify(d, null, 2)).join('\n---\n') + '\n');
  return { file, apiPort, adminPort, api: `http://127.0.0.1:${apiPort}`, admin: `http://127.0.0.1:${adminPort}` };
}

// Starts ringgate on loopbackConfig(dir, opts): the config's own fixed ports are the
// point of these tests, and a port found free here can be taken by a test running beside
// this one before ringgate binds it, so a bind that loses that race is tried again on new ports.
async function startOnLoopbackConfig(dir, opts = {}, startOpts = {}) {
  for (let attempt = 1; ; attempt++) {
    const cfg = await loopbackConfig(dir, opts);
    try {
      return { cfg, gw: await start(binaries.ringgate, ['--config', cfg.file], startOpts) };
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(e.message)) throw e;
    }
  }
}

async function waitFor(what, fn, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(50);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last.message})` : ''}`);
}

const get = async (url) => { const r = await fetch(url); return { status: r.status, text: await r.text() }; };

async function metricValue(adminUrl, name, labels = {}) {
  const text = (await get(`${adminUrl}/metrics`)).text;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ok = Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
    if (ok) return Number(m[3]);
  }
  return undefined;
}

const tmpDirs = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringgate-deploy-'));
  tmpDirs.push(dir);
  return dir;
};
after(() => { for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true }); });

// ---------------------------------------------------------------- RBAC

// What an API request needs from RBAC: {group, resource, verb, namespace}.
function rbacOf(req) {
  const q = req.query ?? {};
  let group, namespace, resource, name;
  let m = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
  if (m) {
    [, group, namespace, resource, name] = m;
  } else if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(req.path))) {
    group = '';
    [, namespace, resource, name] = m;
  } else {
    return { group: '?', resource: req.path, verb: req.method, namespace: '' };  // cluster-scoped or unknown
  }
  const watch = q.watch === '1' || q.watch === 'true';
  const verb = { GET: watch ? 'watch' : name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection' }[req.method] ?? req.method;
  return { group, resource, verb, namespace };
}

function roleGrants(role) {
  const grants = new Set();
  for (const rule of role.rules) {
    assert.equal(rule.resourceNames, undefined, 'the Role should not narrow by resourceNames (slices have generated names)');
    for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) grants.add(`${g}|${r}|${v}`);
  }
  return grants;
}

async function loadFakeKubeApi() {
  const file = path.join(root, 'tests/discovery/fake_kube_api.mjs');
  requireFile(file, 'the fake Kubernetes API server (tests/discovery/fake_kube_api.mjs)');
  return import(file);
}

// ================================================================= tests

test('manifests parse and kustomizations name every file', () => {
  const dirs = [k8sDir, path.join(k8sDir, 'vllm-sim'), path.join(k8sDir, 'vllm-cpu'),
    path.join(root, 'deploy/kind/sim'), path.join(root, 'deploy/kind/cpu'), eppDir];
  const used = new Set();
  for (const dir of dirs) for (const { file } of kustomize(dir)) used.add(file);
  const helmValues = new Set([path.join(eppDir, 'inferencepool-values.yaml')]);  // for helm, not kustomize
  for (const dir of [k8sDir, path.join(k8sDir, 'vllm-sim'), path.join(k8sDir, 'vllm-cpu'), eppDir]) {
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
      if (helmValues.has(path.join(dir, f))) continue;
      assert.ok(used.has(path.join(dir, f)), `${rel(path.join(dir, f))} is in no kustomization`);
    }
  }
  // Both model-server variants publish the same Service, so the gateway config fits both.
  assert.deepEqual(find(cpuObjs(), 'Service'), find(simObjs(), 'Service'), 'vllm-cpu and vllm-sim Services differ');
  const svc = find(simObjs(), 'Service');
  for (const [variant, objs] of [['vllm-sim', simObjs()], ['vllm-cpu', cpuObjs()]]) {
    const d = find(objs, 'Deployment');
    assert.equal(d.spec.replicas, 3, `${variant}: three replicas`);
    for (const [k, v] of Object.entries(svc.spec.selector)) {
      assert.equal(d.spec.template.metadata.labels[k], v, `${variant} pods do not match the Service selector ${k}=${v}`);
    }
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(d.spec.template.metadata.labels[k], v);
  }

  // `kubectl kustomize` cross-checks the same builds in tests/deploy/kustomize_check.mjs (SKIP without kubectl).
});

test('the ConfigMap declares Kubernetes discovery of vllm-sim and a model rewrite', () => {
  const gw = gatewayDoc();
  const k = gw.pool?.discovery?.kubernetes;
  assert.ok(k, 'pool.discovery.kubernetes is missing');
  const svc = find(simObjs(), 'Service');
  assert.equal(k.service, svc.metadata.name);
  assert.ok(svc.spec.ports.some((p) => p.name === k.port || p.port === k.port), `Service ${svc.metadata.name} has no port ${k.port}`);
  assert.ok(ringgateConfig().some((d) => d.kind === 'InferenceModelRewrite'), 'no InferenceModelRewrite example');
});

test("the ConfigMap's ringgate.yaml passes ringgate --check-config (and a broken copy does not)", () => {
  requireGatewayFlags('--check-config');
  const dir = tmp();
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, configMapText());
  const ok = spawnSync(binaries.ringgate, ['--check-config', file], { encoding: 'utf8', timeout: 10000 });
  assert.equal(ok.status, 0, `ringgate --check-config rejects the ConfigMap's config:\n${ok.stdout}${ok.stderr}`);
  const broken = path.join(dir, 'broken.yaml');
  fs.writeFileSync(broken, configMapText().replace('service: vllm-sim', 'service: Not_A_Service'));
  const bad = spawnSync(binaries.ringgate, ['--check-config', broken], { encoding: 'utf8', timeout: 10000 });
  assert.notEqual(bad.status, 0, 'ringgate --check-config accepted a config with an invalid service name');
});

test('every flag in the containers\' args is one the binary lists in --help', () => {
  const argFlags = (c) => [...(c.command ?? []).slice(1), ...(c.args ?? [])]
    .filter((a) => typeof a === 'string' && a.startsWith('--')).map((a) => a.split('=')[0]);
  const sim = container(find(simObjs(), 'Deployment'));
  assert.deepEqual(sim.command, ['/usr/local/bin/ringgate-sim']);
  const simFlags = helpFlags(binaries.sim, 'ringgate-sim');
  for (const f of argFlags(sim)) assert.ok(simFlags.has(f), `ringgate-sim --help has no ${f} (used by vllm-sim/deployment.yaml)`);
  // The sim listens where its Service and probes point.
  const args = sim.args;
  const port = Number(args[args.indexOf('--port') + 1]);
  assert.equal(port, resolvePort(sim, 'http'));
  assert.equal(args[args.indexOf('--host') + 1], '0.0.0.0', 'the sim must listen on all interfaces in a pod');
  const gw = container(find(base(), 'Deployment', 'ringgate'));
  assert.equal(gw.command, undefined, 'the gateway container should use the image entrypoint (ringgate)');
  const gwFlags = helpFlags(binaries.ringgate, 'ringgate');
  for (const f of argFlags(gw)) assert.ok(gwFlags.has(f), `ringgate --help has no ${f} (used by deploy/kubernetes/deployment.yaml)`);
});

test('probes, container ports, Service ports and scrape annotations match the config\'s listeners', () => {
  const gw = gatewayDoc();
  const apiPort = portOf(gw.listen?.api ?? ':8080');
  const adminPort = portOf(gw.listen?.admin ?? ':9090');
  const dep = find(base(), 'Deployment', 'ringgate');
  const c = container(dep);
  assert.equal(resolvePort(c, 'api'), apiPort, 'container port "api" is not listen.api');
  assert.equal(resolvePort(c, 'admin'), adminPort, 'container port "admin" is not listen.admin');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(resolvePort(c, c.livenessProbe.httpGet.port), adminPort, 'liveness probe is not on the admin listener');
  assert.equal(resolvePort(c, c.readinessProbe.httpGet.port), adminPort, 'readiness probe is not on the admin listener');

  const svc = find(base(), 'Service', 'ringgate');
  const byName = Object.fromEntries(svc.spec.ports.map((p) => [p.name, p]));
  assert.equal(byName.api?.port, 8080);
  assert.equal(resolvePort(c, byName.api.targetPort), apiPort, 'Service port api does not reach listen.api');
  assert.equal(byName.metrics?.port, 9090);
  assert.equal(resolvePort(c, byName.metrics.targetPort), adminPort, 'Service port metrics does not reach listen.admin');
  const ann = svc.metadata.annotations;
  assert.equal(ann['prometheus.io/scrape'], 'true');
  assert.equal(Number(ann['prometheus.io/port']), adminPort);
  assert.equal(ann['prometheus.io/path'], '/metrics');
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(dep.spec.template.metadata.labels[k], v);

  // Config, mounted as a directory (no subPath) so ConfigMap updates reach the pod.
  assert.deepEqual(c.args, ['--config', '/etc/ringgate/ringgate.yaml']);
  const mount = c.volumeMounts.find((m) => m.mountPath === '/etc/ringgate');
  assert.ok(mount && mount.subPath === undefined, 'the config must be mounted as a directory at /etc/ringgate, without subPath');
  const vol = dep.spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.equal(vol.configMap?.name, 'ringgate-config');

  // Shutdown: the grace period covers preStop + the drain timeout.
  const drain = String(gw.timeouts?.drain ?? '30s');
  const m = /^(\d+)s$/.exec(drain);
  assert.ok(m, `timeouts.drain ${drain}: expected whole seconds`);
  const preStop = Number(c.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
  assert.ok(dep.spec.template.spec.terminationGracePeriodSeconds > Number(m[1]) + preStop,
    `terminationGracePeriodSeconds ${dep.spec.template.spec.terminationGracePeriodSeconds} is not above drain ${drain} + preStop ${preStop}s`);

  // Hardening and io_uring.
  const pod = dep.spec.template.spec;
  assert.equal(dep.spec.replicas, 2);
  assert.equal(pod.serviceAccountName, find(base(), 'ServiceAccount').metadata.name);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory);
  const sp = pod.securityContext.seccompProfile;
  assert.equal(sp.type, 'Localhost');
  const profileFile = path.join(k8sDir, 'seccomp', path.basename(sp.localhostProfile));
  assert.equal(sp.localhostProfile, `profiles/${path.basename(profileFile)}`);
  const profile = JSON.parse(read(profileFile));
  const refused = profile.syscalls.filter((s) => s.action !== 'SCMP_ACT_ALLOW').flatMap((s) => s.names);
  for (const call of ['io_uring_setup', 'io_uring_enter', 'io_uring_register']) assert.ok(!refused.includes(call), `the profile refuses ${call}`);
  assert.equal(profile.defaultAction, 'SCMP_ACT_ALLOW');
  for (const call of ['ptrace', 'bpf', 'mount', 'unshare', 'keyctl', 'init_module']) assert.ok(refused.includes(call), `the profile allows ${call}`);
  const kind = parseOne(read(path.join(root, 'deploy/kind/kind-config.yaml')), 'kind-config.yaml');
  const em = kind.nodes[0].extraMounts.find((x) => x.containerPath === '/var/lib/kubelet/seccomp/profiles');
  assert.ok(em && path.resolve(root, em.hostPath) === path.dirname(profileFile), 'kind-config does not mount the seccomp profile directory');

  // The sim's probes and Service.
  const sim = container(find(simObjs(), 'Deployment'));
  assert.equal(sim.readinessProbe.httpGet.path, '/health');
  const simSvcPort = find(simObjs(), 'Service').spec.ports.find((p) => p.name === 'http');
  assert.equal(resolvePort(sim, simSvcPort.targetPort), resolvePort(sim, sim.readinessProbe.httpGet.port));
  const cpu = container(find(cpuObjs(), 'Deployment'));
  assert.equal(cpu.readinessProbe.httpGet.path, '/health');
  assert.equal(resolvePort(cpu, simSvcPort.targetPort), 8000);
  assert.ok(cpu.args.includes('facebook/opt-125m'));
});

test('the discovery code builds API paths only for EndpointSlices and the generic namespaced list/watch, with GET', () => {
  const srcDir = path.join(root, 'src/discovery');
  const paths = new Set();
  const methods = new Set();
  for (const f of fs.readdirSync(srcDir)) {
    const text = read(path.join(srcDir, f));
    for (const m of text.matchAll(/"(\/apis?\/[^"]*)"/g)) paths.add(m[1]);
    for (const m of text.matchAll(/"(GET|POST|PUT|PATCH|DELETE) "/g)) methods.add(m[1]);
  }
  // '/api/' and '/apis/' are collection_path() (object_watch.cpp): the namespaced list + watch that
  // the InferencePool, Pod and rule watches use; the EPP Role test below holds their requests to deploy/epp/role.yaml.
  assert.deepEqual([...paths].sort(), ['/api/', '/apis/', '/apis/discovery.k8s.io/v1/namespaces/'],
    'API paths built in src/discovery changed: review deploy/kubernetes/role.yaml and deploy/epp/role.yaml');
  assert.deepEqual([...methods], ['GET'], 'HTTP methods used in src/discovery changed: review deploy/kubernetes/role.yaml');
});

test('the Role grants exactly what the real EndpointSlice watcher requests (list, watch, relist, reconnect)', async () => {
  requireFile(watchProbe, 'watch_probe (tests/discovery; runs the real EndpointSliceWatch)');
  const { FakeKubeApi, endpoint } = await loadFakeKubeApi();
  const { startProbe, routableAre } = await import(path.join(root, 'tests/discovery/watch_probe.mjs'));
  const k = gatewayDoc().pool.discovery.kubernetes;
  const ns = 'ringgate-test';
  const api = await new FakeKubeApi({ namespace: ns }).start();
  const probe = startProbe(['--api-url', api.url, '--namespace', ns, '--service', k.service, '--port', String(k.port),
    '--watch-timeout', '5', '--backoff-initial-ms', '20', '--backoff-max-ms', '200'], { env: { WATCH_PROBE: watchProbe } });
  try {
    api.createSlice('s1', { service: k.service, ports: [{ name: 'http', protocol: 'TCP', port: 8000 }], endpoints: [endpoint('10.0.0.1', { namespace: ns })] });
    await probe.waitFor(routableAre(['10.0.0.1:8000']));
    api.bookmark();
    api.updateSlice('s1', (s) => { s.endpoints.push(endpoint('10.0.0.2', { namespace: ns })); });
    await probe.waitFor(routableAre(['10.0.0.1:8000', '10.0.0.2:8000']));
    const lists = api.listRequests().length;
    api.expire();                                 // 410 Gone: relist
    await waitFor('relist after 410', () => api.listRequests().length > lists);
    api.dropWatches();                            // connection lost: watch again
    const watches = api.watchRequests().length;
    await waitFor('re-watch after a dropped connection', () => api.watchRequests().length > watches);
    api.deleteSlice('s1');
    await probe.waitFor(routableAre([]));
  } finally {
    await probe.stop();
    await api.close();
  }
  const role = find(base(), 'Role');
  const used = new Set();
  for (const r of api.requests) {
    const need = rbacOf(r);
    assert.equal(need.namespace, ns, `request outside the pod's namespace needs more than a Role: ${r.method} ${r.path}`);
    used.add(`${need.group}|${need.resource}|${need.verb}`);
  }
  assert.deepEqual([...used].sort(), [...roleGrants(role)].sort(),
    `the watcher needs ${[...used].sort().join(', ')}; the Role grants ${[...roleGrants(role)].sort().join(', ')}`);
});

test('in-cluster watcher: the pod\'s service-account files + KUBERNETES_SERVICE_HOST/PORT reach a TLS API server with the token', async (t) => {
  requireFile(watchProbe, 'watch_probe (tests/discovery; runs the real EndpointSliceWatch)');
  const { FakeKubeApi, endpoint, makeTestCerts } = await loadFakeKubeApi();
  const { startProbe, routableAre } = await import(path.join(root, 'tests/discovery/watch_probe.mjs'));
  const dir = tmp();
  const ns = 'ringgate-test';
  const token = 'deploy-test-token';
  const certs = makeTestCerts(path.join(dir, 'certs'), { ips: ['127.0.0.1'] });
  const api = await new FakeKubeApi({ token, tls: { key: certs.key, cert: certs.cert }, namespace: ns }).start();
  t.after(() => api.close());
  // What Kubernetes mounts at /var/run/secrets/kubernetes.io/serviceaccount.
  const sa = path.join(dir, 'serviceaccount');
  fs.mkdirSync(sa);
  fs.writeFileSync(path.join(sa, 'token'), token);
  fs.copyFileSync(certs.caCert, path.join(sa, 'ca.crt'));
  fs.writeFileSync(path.join(sa, 'namespace'), ns);
  const k = gatewayDoc().pool.discovery.kubernetes;
  assert.equal(k.namespace, undefined, 'the ConfigMap leaves the namespace to the pod (service-account namespace file)');
  api.createSlice(`${k.service}-a`, { service: k.service, ports: [{ name: k.port, protocol: 'TCP', port: 8000 }],
    endpoints: [endpoint('10.1.0.1', { namespace: ns })] });
  const probe = startProbe(['--in-cluster', '--sa-dir', sa, '--service', k.service, '--port', String(k.port)], {
    env: { WATCH_PROBE: watchProbe, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) } });
  t.after(() => probe.stop());
  await probe.waitFor(routableAre(['10.1.0.1:8000']));
  api.updateSlice(`${k.service}-a`, (s) => { s.endpoints[0].conditions.ready = false; });
  await probe.waitFor(routableAre([]));
  const grants = roleGrants(find(base(), 'Role'));
  assert.ok(api.requests.length >= 2);
  for (const r of api.requests) {
    assert.equal(r.authorization, `Bearer ${token}`);
    const need = rbacOf(r);
    assert.equal(need.namespace, ns, `not the service account's namespace: ${r.path}`);
    assert.ok(grants.has(`${need.group}|${need.resource}|${need.verb}`), `the Role does not grant ${need.verb} ${need.resource}`);
  }
});

test('a gateway on the ConfigMap\'s config (loopback, static endpoints) serves the probe paths on its admin listener', async (t) => {
  requireGatewayFlags('--config');
  const sims = await Promise.all([0, 1, 2].map(() => startSim(['--model', 'facebook/opt-125m'])));
  t.after(() => Promise.all(sims.map((s) => s.stop())));
  const dir = tmp();
  const { cfg, gw } = await startOnLoopbackConfig(dir, { discovery: { static: sims.map((s) => `127.0.0.1:${s.port}`) } });
  t.after(() => gw.stop('SIGKILL'));
  assert.equal(gw.adminPort, cfg.adminPort, 'the gateway did not take listen.admin from the config');
  assert.equal(gw.port, cfg.apiPort, 'the gateway did not take listen.api from the config');
  assert.equal((await get(`${cfg.admin}/healthz`)).status, 200, '/healthz');
  await waitFor('/readyz 200 with three static endpoints', async () => (await get(`${cfg.admin}/readyz`)).status === 200);
  const metrics = await get(`${cfg.admin}/metrics`);
  assert.equal(metrics.status, 200, '/metrics');
  await waitFor('inference_pool_ready_pods = 3', async () => (await metricValue(cfg.admin, 'inference_pool_ready_pods')) === 3);
  assert.notEqual((await get(`${cfg.api}/readyz`)).status, 200, 'the probe paths belong to the admin listener, not the API port');
  assert.equal((await get(`${cfg.admin}/debug/endpoints`)).status, 200, '/debug/endpoints');
  // The guide-4 request through the ConfigMap's rewrite.
  const r = await fetch(`${cfg.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'opt-stable', prompt: 'The future of AI is', max_tokens: 5 }) });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(body.model, 'facebook/opt-125m', 'the alias was not rewritten to the served model');
  // SIGTERM: exit 0 within the drain timeout.
  const t0 = Date.now();
  const exit = await gw.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `gateway exit on SIGTERM: ${gw.stderr()}`);
  assert.ok(Date.now() - t0 < 20000);
});

test('in-cluster: service-account files + KUBERNETES_SERVICE_HOST/PORT → TLS API server; lists, watches, routes to the sims the slices name', async (t) => {
  requireGatewayFlags('--config');
  const { FakeKubeApi, endpoint, makeTestCerts } = await loadFakeKubeApi();
  const dir = tmp();
  const ns = 'ringgate-test';
  const token = 'deploy-test-token';
  const certs = makeTestCerts(path.join(dir, 'certs'), { ips: ['127.0.0.1'] });
  const api = await new FakeKubeApi({ token, tls: { key: certs.key, cert: certs.cert }, namespace: ns }).start();
  t.after(() => api.close());
  const sa = path.join(dir, 'serviceaccount');
  fs.mkdirSync(sa);
  fs.writeFileSync(path.join(sa, 'token'), token);
  fs.copyFileSync(certs.caCert, path.join(sa, 'ca.crt'));
  fs.writeFileSync(path.join(sa, 'namespace'), ns);

  const sims = await Promise.all([0, 1, 2].map(() => startSim(['--model', 'facebook/opt-125m'])));
  t.after(() => Promise.all(sims.map((s) => s.stop())));
  const k = gatewayDoc().pool.discovery.kubernetes;
  // One slice per sim: they share 127.0.0.1, so each needs its own port.
  sims.forEach((s, i) => api.createSlice(`${k.service}-${i}`, {
    service: k.service, ports: [{ name: k.port, protocol: 'TCP', port: s.port }],
    endpoints: [endpoint('127.0.0.1', { pod: `${k.service}-${i}`, namespace: ns })],
  }));

  const { cfg, gw } = await startOnLoopbackConfig(dir, {}, {  // discovery exactly as in the ConfigMap
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port), RINGGATE_SA_DIR: sa },
  });
  t.after(() => gw.stop('SIGKILL'));
  await waitFor('/readyz 200 once the EndpointSlices are synced', async () => (await get(`${cfg.admin}/readyz`)).status === 200);
  await waitFor('inference_pool_ready_pods = 3', async () => (await metricValue(cfg.admin, 'inference_pool_ready_pods')) === 3);

  const served = new Set();
  for (let i = 0; i < 30; i++) {
    const r = await fetch(`${cfg.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'opt-stable', prompt: `request ${i} ${'x'.repeat(i * 40)}`, max_tokens: 3 }) });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.model, 'facebook/opt-125m');
    const dest = r.headers.get('x-gateway-destination-endpoint');
    if (dest) served.add(dest);
  }
  if (served.size) assert.ok([...served].every((d) => sims.some((s) => d.endsWith(`:${s.port}`))), `routed outside the slices: ${[...served]}`);

  const servedBy = async (sim) => {
    const text = (await get(`http://127.0.0.1:${sim.port}/metrics`)).text;
    return [...text.matchAll(/^vllm:request_success_total\{[^}]*\} (\S+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  };
  const counts = await Promise.all(sims.map(servedBy));
  assert.equal(counts.reduce((a, b) => a + b, 0), 30, `the sims served ${counts} requests, not the 30 sent`);

  // A pod leaves (its slice is deleted): the pool follows, and it gets no more requests.
  api.deleteSlice(`${k.service}-2`);
  await waitFor('inference_pool_ready_pods = 2 after a slice is deleted', async () => (await metricValue(cfg.admin, 'inference_pool_ready_pods')) === 2, 3000);
  const before = await servedBy(sims[2]);
  for (let i = 0; i < 12; i++) {
    const r = await fetch(`${cfg.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'facebook/opt-125m', prompt: `after ${i}`, max_tokens: 2 }) });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  assert.equal(await servedBy(sims[2]), before, 'the gateway still routes to the endpoint whose slice was deleted');

  // Everything the gateway asked the API server is covered by the Role, with its token.
  const grants = roleGrants(find(base(), 'Role'));
  assert.ok(api.requests.length >= 2, 'the gateway made no list + watch requests');
  for (const r of api.requests) {
    assert.equal(r.authorization, `Bearer ${token}`, 'request without the service-account token');
    const need = rbacOf(r);
    assert.equal(need.namespace, ns, `the gateway left its namespace: ${r.path}`);
    assert.ok(grants.has(`${need.group}|${need.resource}|${need.verb}`), `the Role does not grant ${need.verb} ${need.resource}: ${r.method} ${r.path}`);
  }
  assert.ok(api.requests.some((r) => rbacOf(r).verb === 'list') && api.requests.some((r) => rbacOf(r).verb === 'watch'));
  const exit = await gw.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `gateway exit on SIGTERM: ${gw.stderr()}`);
});

test('Dockerfile: Debian 12 stages, paths that exist, build packages from setup.sh, runtime libraries owned by packages', () => {
  const text = read(path.join(root, 'deploy/Dockerfile')).replace(/\\\n/g, ' ');
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/.test(l)).map((l) => l.split(/\s+/)[1]);
  assert.deepEqual(froms, ['debian:12', 'debian:12-slim']);
  const entry = lines.find((l) => l.startsWith('ENTRYPOINT'));
  assert.ok(entry, 'no ENTRYPOINT');
  const entryArgs = JSON.parse(entry.slice('ENTRYPOINT'.length));  // exec form: a JSON array
  assert.deepEqual(entryArgs, ['/usr/local/bin/ringgate']);
  const user = lines.filter((l) => l.startsWith('USER')).at(-1);
  assert.match(user, /^USER\s+[1-9][0-9]*:[1-9][0-9]*\s*$/, 'the runtime user must be numeric and not root');
  const uid = Number(user.split(/\s+/)[1].split(':')[0]);
  for (const d of [find(base(), 'Deployment', 'ringgate'), find(simObjs(), 'Deployment')]) {
    assert.equal(d.spec.template.spec.securityContext.runAsUser, uid, `${d.metadata.name}: runAsUser is not the image user`);
    assert.equal(container(d).image, 'ringgate:0.1.0');
  }
  assert.deepEqual(lines.find((l) => l.startsWith('EXPOSE')).split(/\s+/).slice(1).sort(), ['8080', '9090']);
  // COPY sources exist.
  for (const l of lines.filter((l) => l.startsWith('COPY') && !l.includes('--from'))) {
    for (const src of l.split(/\s+/).slice(1, -1)) assert.ok(fs.existsSync(path.join(root, src)), `COPY source ${src} does not exist`);
  }
  // Build packages are setup.sh's (plus nodejs, which setup.sh adds when node is absent).
  const setup = read(path.join(root, 'scripts/setup.sh'));
  const setupPkgs = new Set(setup.slice(setup.indexOf('packages=('), setup.indexOf(')', setup.indexOf('packages=('))).split(/\s+/).slice(1));
  setupPkgs.add('nodejs');
  const install = lines.find((l) => l.includes('apt-get install') && l.includes('build-essential'));
  const pkgs = install.slice(install.indexOf('--no-install-recommends') + 23).split('&&')[0].trim().split(/\s+/);
  for (const p of pkgs) assert.ok(setupPkgs.has(p), `the Dockerfile installs ${p}, which scripts/setup.sh does not`);
  // The binaries the image copies are the build tree's targets, and every library they
  // load belongs to a Debian package (what the runtime stage installs).
  assert.ok(text.includes('src/gateway/ringgate') && text.includes('src/sim/ringgate-sim'));
  requireFile(binaries.ringgate, 'ringgate');
  requireFile(binaries.sim, 'ringgate-sim');
  const ldd = execFileSync('ldd', [binaries.ringgate, binaries.sim], { encoding: 'utf8' });
  assert.ok(!ldd.includes('not found'), ldd);
  // One dpkg -S for every path a library may be listed under (usrmerge: /lib or /usr/lib, or
  // its symlink's target): each call reads dpkg's whole database, ~1 s of CPU here.
  const libs = [...new Set([...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]))];
  const names = (lib) => [lib, `/usr${lib}`, fs.realpathSync(lib)];
  const owned = new Set(spawnSync('dpkg', ['-S', ...libs.flatMap(names)], { encoding: 'utf8' }).stdout
    .split('\n').filter((l) => l.includes(': ')).map((l) => l.slice(l.lastIndexOf(': ') + 2)));
  for (const lib of libs) {
    assert.ok(names(lib).some((p) => owned.has(p)), `no Debian package owns ${lib}: the runtime stage could not install it`);
  }
});

test('Grafana dashboard: valid JSON, ${DS_PROMETHEUS} input, llm-d and ringgate metric names, every expression parses (promtool)', () => {
  const dash = JSON.parse(read(path.join(root, 'deploy/grafana/ringgate-dashboard.json')));
  assert.ok(dash.schemaVersion >= 36, 'schemaVersion');
  assert.ok(dash.__inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.pluginId === 'prometheus'));
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const exprs = [];
  const ids = new Set();
  for (const p of panels) {
    if (p.type === 'row') continue;
    assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
    ids.add(p.id);
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `panel ${p.title}: datasource`);
    for (const t of p.targets ?? []) exprs.push({ panel: p.title, expr: t.expr });
  }
  const wanted = ['inference_pool_ready_pods', 'inference_pool_average_kv_cache_utilization', 'inference_pool_average_queue_size',
    'inference_pool_per_pod_queue_size', 'inference_objective_request_total', 'inference_objective_request_error_total',
    'inference_objective_request_duration_seconds_bucket', 'inference_objective_request_ttft_seconds_bucket',
    'inference_extension_scheduler_e2e_duration_seconds_bucket', 'inference_extension_prefix_indexer_hit_ratio_bucket',
    'inference_extension_model_rewrite_decisions_total', 'ringgate_retries_total', 'ringgate_endpoint_ejections_total',
    'ringgate_upstream_connects_total', 'ringgate_upstream_reuses_total', 'ringgate_connections_open', 'ringgate_io_uring_cq_overflows_total'];
  const all = exprs.map((e) => e.expr).join('\n');
  for (const m of wanted) assert.match(all, new RegExp(`\\b${m}\\b`), `no panel uses ${m}`);
  const used = new Set([...all.matchAll(/\b(inference_[a-z_]+|ringgate_[a-z_]+)\b/g)].map((m) => m[1]));
  // Every metric the dashboard reads is one the gateway's code emits.
  const emitted = fs.readdirSync(path.join(root, 'src/control')).map((f) => read(path.join(root, 'src/control', f))).join('\n');
  for (const m of used) {
    const family = m.replace(/_(bucket|sum|count)$/, '');
    assert.ok(emitted.includes(`"${family}"`) || emitted.includes(`"${m}"`), `the dashboard reads ${m}, which src/control does not emit`);
  }
  // Grafana's variables are not PromQL; give them values before promtool reads the rules.
  const promql = (e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');
  for (const v of dash.templating?.list ?? []) if (v.type === 'query') exprs.push({ panel: `variable ${v.name}`, expr: String(v.query?.query ?? v.query).replace(/^label_values\((.*),\s*\w+\)$/, '$1') });
  const rules = ['groups:', '- name: dashboard', '  rules:'];
  exprs.forEach((e, i) => rules.push(`  - record: dashboard:expr_${i}`, `    expr: ${JSON.stringify(promql(e.expr))}`));
  const file = path.join(tmp(), 'dashboard-rules.yml');
  fs.writeFileSync(file, rules.join('\n') + '\n');
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  if (r.error) assert.fail('promtool not found: install the prometheus package (scripts/setup.sh does)');
  assert.equal(r.status, 0, `promtool check rules:\n${r.stdout}${r.stderr}\n${exprs.map((e, i) => `${i}: [${e.panel}] ${e.expr}`).join('\n')}`);
});

// ---------------------------------------------------------------- EPP mode (deploy/epp)

test('deploy/epp: ringgate --mode epp in place of the inferencepool chart\'s EPP (names, ports, probes, values)', () => {
  const objs = eppObjs();
  const gw = eppGatewayDoc();
  assert.equal(gw.mode, 'epp');
  const k = gw.pool.discovery.kubernetes;
  const values = parseOne(read(path.join(eppDir, 'inferencepool-values.yaml')), 'inferencepool-values.yaml');
  // The chart names its InferencePool after the release and its EPP <release>-epp.
  const release = k.inferencePool;
  assert.equal(release, 'vllm-pool');
  const d = find(objs, 'Deployment', `${release}-epp`);
  const svc = find(objs, 'Service', `${release}-epp`);
  find(objs, 'ServiceAccount', `${release}-epp`);
  assert.equal(d.spec.template.spec.serviceAccountName, `${release}-epp`);
  const c = container(d);
  assert.equal(c.name, 'epp', 'the chart\'s container is called epp: kubectl apply must patch it, not add a second one');
  assert.deepEqual(d.spec.selector.matchLabels, { inferencepool: `${release}-epp` }, 'the chart\'s selector labels');
  // Ports: the config's listeners, the chart's container port names, the endpointPickerRef port.
  assert.equal(resolvePort(c, 'grpc'), portOf(gw.listen.epp));
  assert.equal(resolvePort(c, 'grpc-health'), portOf(gw.listen.eppHealth));
  assert.equal(resolvePort(c, 'metrics'), portOf(gw.listen.admin));
  assert.equal(values.inferenceExtension.extProcPort, portOf(gw.listen.epp));
  const grpcPort = svc.spec.ports.find((p) => p.port === values.inferenceExtension.extProcPort);
  assert.ok(grpcPort, `Service ${svc.metadata.name} has no port ${values.inferenceExtension.extProcPort} (endpointPickerRef)`);
  assert.equal(resolvePort(c, grpcPort.targetPort), portOf(gw.listen.epp));
  for (const [kk, v] of Object.entries(svc.spec.selector)) assert.equal(d.spec.template.metadata.labels[kk], v);
  // gRPC probes on the health listener: readiness on the chart's service name, liveness on
  // "liveness" (always SERVING while the process runs: no restart loop while the pool has no ready pod).
  for (const probe of [c.livenessProbe, c.readinessProbe]) assert.equal(probe.grpc.port, portOf(gw.listen.eppHealth));
  assert.equal(c.readinessProbe.grpc.service, 'inference-extension');
  assert.equal(c.livenessProbe.grpc.service, 'liveness');
  // (What each name answers is tested against the running EPP in tests/epp: ext_proc_kube, ext_proc_acceptance.)
  const server = read(path.join(root, 'src/epp/grpc_health.cpp'));
  for (const name of ['inference-extension', 'liveness']) {
    assert.ok(server.includes(`service == "${name}"`), `ringgate's gRPC health server does not answer service "${name}"`);
  }
  // The config is mounted where the args point, from the ConfigMap in this kustomization.
  const mount = c.volumeMounts.find((m) => c.args.includes(path.posix.join(m.mountPath, 'ringgate.yaml')));
  assert.ok(mount, 'no volume mounted where --config points');
  const volume = d.spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.equal(volume.configMap.name, 'ringgate-epp-config');
  // The chart's pool selects the pods of deploy/kubernetes/vllm-sim at their port.
  const sim = find(simObjs(), 'Deployment');
  const simPort = container(sim).ports.find((p) => p.name === 'http' || p.containerPort === 8000).containerPort;
  for (const pool of [values.inferencePool, values.global.inferencePool]) {
    assert.deepEqual(pool.targetPorts, [{ number: simPort }]);
    for (const [kk, v] of Object.entries(pool.modelServers.matchLabels)) {
      assert.equal(sim.spec.template.metadata.labels[kk], v, `vllm-sim pods lack the pool's label ${kk}=${v}`);
    }
  }
});

test("deploy/epp: the ConfigMap's ringgate.yaml passes ringgate --check-config", () => {
  requireGatewayFlags('--check-config');
  const dir = tmp();
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, eppConfigText());
  const ok = spawnSync(binaries.ringgate, ['--check-config', file], { encoding: 'utf8', timeout: 10000 });
  assert.equal(ok.status, 0, `ringgate --check-config rejects deploy/epp's config:\n${ok.stdout}${ok.stderr}`);
  fs.writeFileSync(file, eppConfigText().replace('inferencePool: vllm-pool', 'inferencePool: Not_A_Pool'));
  const bad = spawnSync(binaries.ringgate, ['--check-config', file], { encoding: 'utf8', timeout: 10000 });
  assert.notEqual(bad.status, 0, 'ringgate --check-config accepted an invalid InferencePool name');
});

test('deploy/epp: the Role grants exactly what the real ringgate --mode epp requests (pool, pods, rules; relist, reconnect)', { timeout: 60000 }, async () => {
  const { FakeKubeApi } = await loadFakeKubeApi();
  const ns = 'ringgate-epp-test';
  const api = await new FakeKubeApi({ namespace: ns }).start();
  const dir = tmp();
  const docs = parseDocuments(eppConfigText(), 'deploy/epp ConfigMap');
  const gw = find(docs, 'Gateway');
  gw.pool.discovery.kubernetes.apiServer = api.url;
  gw.pool.discovery.kubernetes.namespace = ns;
  const file = path.join(dir, 'ringgate.yaml');
  fs.writeFileSync(file, docs.map((d) => JSON.stringify(d, null, 2)).join('\n---\n') + '\n');
  const sim = await startSim(['--model', 'facebook/opt-125m']);
  let epp;
  try {
    const pool = gw.pool.discovery.kubernetes.inferencePool;
    api.createObject('inferencepools', { metadata: { name: pool }, spec: {
      selector: { matchLabels: { app: 'vllm-sim' } }, targetPorts: [{ number: sim.port }],
      endpointPickerRef: { name: `${pool}-epp`, port: { number: 9002 } } } });
    api.createPod('vllm-sim-0', { labels: { app: 'vllm-sim' }, ip: '127.0.0.1', port: sim.port });
    api.createObject('inferencemodelrewrites', { metadata: { name: 'opt-stable' }, spec: {
      poolRef: { group: 'inference.networking.k8s.io', name: pool },
      rules: [{ matches: [{ model: { type: 'Exact', value: 'opt-stable' } }], targets: [{ modelRewrite: 'facebook/opt-125m' }] }] } });
    api.createObject('inferenceobjectives', { metadata: { name: 'batch' }, spec: { priority: -1, poolRef: { name: pool } } });
    // Ephemeral ports (flags: the file's must be 1-65535): a free port picked here could be
    // taken by a test running beside this one before ringgate binds it. The listening line names the admin port.
    epp = await start(binaries.ringgate, ['--config', file, '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0']);
    const admin = `http://127.0.0.1:${epp.adminPort}`;
    await waitFor('the pod is routable', async () => (await (await fetch(`${admin}/debug/endpoints`)).json())
      .endpoints.some((e) => e.routable && e.address === `127.0.0.1:${sim.port}`));
    for (const r of ['inferencepools', 'pods', 'inferencemodelrewrites', 'inferenceobjectives']) await api.waitForWatchesOf(r, 1);
    api.bookmark();
    const lists = api.listRequests().length;
    api.expire();                                 // 410 Gone: every watch relists
    await waitFor('relists after 410', () => api.listRequests().length >= lists + 4);
    const watches = api.watchRequests().length;
    api.dropWatches();                            // connections lost: watch again
    await waitFor('re-watches after dropped connections', () => api.watchRequests().length >= watches + 4);
  } finally {
    if (epp) await epp.stop();
    await stop(sim.proc);
    await api.close();
  }
  const role = find(eppObjs(), 'Role');
  const used = new Set();
  for (const r of api.requests) {
    const need = rbacOf(r);
    assert.equal(need.namespace, ns, `request outside the pod's namespace needs more than a Role: ${r.method} ${r.path}`);
    used.add(`${need.group}|${need.resource}|${need.verb}`);
  }
  assert.deepEqual([...used].sort(), [...roleGrants(role)].sort(),
    `ringgate --mode epp needs ${[...used].sort().join(', ')}; the Role grants ${[...roleGrants(role)].sort().join(', ')}`);
});
