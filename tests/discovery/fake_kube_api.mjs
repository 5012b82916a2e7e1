// A fake Kubernetes API server for EndpointSlices, Pods and the Gateway API
// Inference Extension objects (InferencePool inference.networking.k8s.io/v1,
// InferenceModelRewrite and InferenceObjective inference.networking.x-k8s.io/v1alpha2),
// speaking the real wire format: LIST (kind EndpointSliceList, metadata.resourceVersion, items without
// kind/apiVersion), WATCH (200, Transfer-Encoding: chunked, one JSON event per
// line: {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}), replay
// from a resourceVersion, BOOKMARK events, an ERROR event carrying a 410
// Expired Status for a compacted resourceVersion, timeoutSeconds, bearer-token
// check (401 Status), over HTTP or HTTPS.
//
// Module use (tests):
//   const api = await new FakeKubeApi({ token: 's3cret', tls: { key, cert } }).start();
//   api.createSlice('vllm-a', { service: 'vllm', endpoints: [endpoint('10.0.0.1', { pod: 'vllm-0' })] });
//   api.updateSlice('vllm-a', (s) => { s.endpoints[0].conditions.ready = false; });
//   api.deleteSlice('vllm-a');  api.bookmark();  api.dropWatches();  api.expire();
//   await api.waitForWatches(1);   // before bookmark()/sendRaw(), which only reach open watches
//   await api.close();
// Other resources (one resourceVersion sequence for all, as etcd):
//   api.createPod('vllm-0', { labels: { app: 'vllm' }, ip: '127.0.0.2', ready: true });
//   api.setPodReady('vllm-0', false);  api.terminatePod('vllm-0');  api.deletePod('vllm-0');
//   api.createObject('inferencemodelrewrites', { metadata: { name: 'alias' }, spec: {…} });
//   api.updateObject('inferencemodelrewrites', 'alias', (o) => { … });  api.deleteObject(resource, name);
// Watches and lists honour labelSelector (k=v[,k=v]) and fieldSelector (metadata.name=N).
// Every mutation returns { resourceVersion, at } where `at` is performance.now()
// just after the event was written to every open watch.
//
// CLI:  node fake_kube_api.mjs [--port N] [--token T] [--tls-dir DIR] [--namespace NS] [--pool-group GROUP]
//   prints {"event":"listening","api":"127.0.0.1:PORT","url":"…"} and then takes
//   one JSON command per stdin line: {"op":"create|update|delete","name":…,"slice":{…}},
//   {"op":"bookmark"}, {"op":"drop"}, {"op":"expire"}, and for any resource
//   {"op":"createObject|updateObject|deleteObject","resource":…,"name":…,"object":{…}},
//   {"op":"createPod","name":…,"options":{labels,ip,ready,port,annotations}}, {"op":"setPodReady","name":…,"ready":…}.
//   Each answer is one line {"ok":true,…} or {"ok":false,"error":…}.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVICE_LABEL = 'kubernetes.io/service-name';
const LIST_PATH = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([a-z]+)$/;
// resource → where it is served and what its objects are called.
export const RESOURCES = {
  endpointslices: { prefix: '/apis/discovery.k8s.io/v1', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  pods: { prefix: '/api/v1', apiVersion: 'v1', kind: 'Pod' },
  inferencepools: { prefix: '/apis/inference.networking.k8s.io/v1', apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool' },
  inferencemodelrewrites: { prefix: '/apis/inference.networking.x-k8s.io/v1alpha2', apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferenceModelRewrite' },
  inferenceobjectives: { prefix: '/apis/inference.networking.x-k8s.io/v1alpha2', apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferenceObjective' },
};
const LABEL_TERM = /^([A-Za-z0-9][-A-Za-z0-9_./]*)==?([-A-Za-z0-9_.]*)$/;

// labelSelector "k=v,k2=v2" (equality terms only) → { k: v, … }, or null if unparsable.
function parseLabelSelector(text) {
  const out = {};
  for (const term of text.split(',')) {
    const m = LABEL_TERM.exec(term.trim());
    if (!m) return null;
    out[m[1]] = m[2];
  }
  return out;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

// A Pod as the kubelet reports it: Ready condition, podIP (absent until networked).
export function podObject(name, { labels = {}, ip = null, ready = true, port = 8000, namespace = 'default', annotations } = {}) {
  const status = { phase: ip ? 'Running' : 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }] };
  if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }];
    status.hostIP = '10.0.0.100';
    status.conditions.push({ type: 'Initialized', status: 'True', lastTransitionTime: now() },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now() },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now() });
  }
  return {
    kind: 'Pod', apiVersion: 'v1',
    metadata: { name, namespace, uid: randomUUID(), labels, ...(annotations ? { annotations } : {}), creationTimestamp: now() },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:latest', ports: [{ containerPort: port, name: 'http', protocol: 'TCP' }] }], nodeName: 'node-1' },
    status,
  };
}

// An endpoint entry as the EndpointSlice controller writes it.
// Pass ready/serving/terminating as undefined to leave the field out.
export function endpoint(address, { ready = true, serving, terminating = false, pod, zone = 'zone-a', node = 'node-1', namespace = 'default' } = {}) {
  const conditions = {};
  if (ready !== undefined) conditions.ready = ready;
  const servingValue = serving === undefined ? ready : serving;
  if (servingValue !== undefined) conditions.serving = servingValue;
  if (terminating !== undefined) conditions.terminating = terminating;
  const out = { addresses: [address], conditions };
  if (pod) out.targetRef = { kind: 'Pod', namespace, name: pod, uid: randomUUID() };
  if (node) out.nodeName = node;
  if (zone) out.zone = zone;
  return out;
}

export function statusObject(code, reason, message) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

// Makes a CA and a server certificate for `ips` / `dnsNames` with openssl in `dir`.
// Returns paths { caCert, caKey, cert, key }. `name` prefixes the files (several sets per dir).
export function makeTestCerts(dir, { ips = ['127.0.0.1'], dnsNames = [], name = 'kube' } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f) => path.join(dir, `${name}-${f}`);
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', `/CN=${name}-test-ca`]);
  run(['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=kube-apiserver']);
  const san = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  fs.writeFileSync(p('ext.cnf'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.crt'), '-days', '2', '-extfile', p('ext.cnf')]);
  return { caCert: p('ca.crt'), caKey: p('ca.key'), cert: p('server.crt'), key: p('server.key') };
}

export class FakeKubeApi {
  // token: required bearer token (null: no auth). tls: { key, cert } PEM paths or contents.
  // chunking: 'line' (one chunk per event) or 'split' (each event cut into three chunks).
  // expiredAs: 'event' (200 + ERROR 410 event, as the watch cache does) or 'http' (HTTP 410).
  // poolGroup: the API group InferencePools are served under: inference.networking.k8s.io
  // (v1) or, as older GAIE installs, inference.networking.x-k8s.io (v1alpha2).
  constructor({ token = null, tls = null, namespace = 'default', chunking = 'line', expiredAs = 'event',
    poolGroup = 'inference.networking.k8s.io' } = {}) {
    this.resources = poolGroup === 'inference.networking.x-k8s.io'
      ? { ...RESOURCES, inferencepools: { ...RESOURCES.inferencemodelrewrites, kind: 'InferencePool' } }
      : RESOURCES;
    this.token = token;
    this.tls = tls;
    this.namespace = namespace;
    this.chunking = chunking;
    this.expiredAs = expiredAs;
    this.resourceVersion = 1000;
    this.compactedBelow = 0;   // a watch from an older resourceVersion gets 410
    this.slices = new Map();   // "ns/name" -> object (with kind/apiVersion)
    this.stores = {};          // resource -> Map("ns/name" -> object)
    for (const r of Object.keys(RESOURCES)) this.stores[r] = r === 'endpointslices' ? this.slices : new Map();
    this.history = [];         // { rv, type, object }
    this.watches = new Set();
    this.requests = [];        // { at, method, path, query (object), authorization, kind: 'list'|'watch'|'other', status }
    this.failures = [];        // queued modes for the next watch requests: 'drop' | 500
    this.sockets = new Set();
  }

  get url() { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }
  listRequests() { return this.requests.filter((r) => r.kind === 'list'); }
  watchRequests() { return this.requests.filter((r) => r.kind === 'watch'); }
  openWatches() { return this.watches.size; }
  openWatchesOf(resource) { return [...this.watches].filter((w) => w.resource === resource && !w.silent).length; }

  // Resolves once at least `count` watches of `resource` are open.
  async waitForWatchesOf(resource, count = 1, timeoutMs = 5000) {
    const deadline = performance.now() + timeoutMs;
    while (this.openWatchesOf(resource) < count) {
      if (performance.now() > deadline) throw new Error(`fewer than ${count} open ${resource} watches after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // Resolves once at least `count` watches are open (rejects after timeoutMs).
  async waitForWatches(count = 1, timeoutMs = 5000) {
    const deadline = performance.now() + timeoutMs;
    while (this.watches.size < count) {
      if (performance.now() > deadline) throw new Error(`fewer than ${count} open watches after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  start(port = 0, host = '127.0.0.1') {
    const handler = (req, res) => this.#handle(req, res);
    const pem = (v) => (v.includes('-----BEGIN') ? v : fs.readFileSync(v));
    this.server = this.tls
      ? https.createServer({ key: pem(this.tls.key), cert: pem(this.tls.cert) }, handler)
      : http.createServer(handler);
    this.server.on(this.tls ? 'secureConnection' : 'connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('tlsClientError', () => {});  // a client rejecting our cert: expected in tests
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.port = this.server.address().port;
        resolve(this);
      });
    });
  }

  close() {
    for (const w of this.watches) w.res.destroy();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  // --- state changes (each is one event to matching watches) ---

  // spec: { service, namespace, addressType, ports, endpoints }
  createSlice(name, spec = {}) {
    const ns = spec.namespace ?? this.namespace;
    const key = `${ns}/${name}`;
    if (this.slices.has(key)) throw new Error(`slice ${key} exists`);
    const object = {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: {
        name, namespace: ns, uid: randomUUID(), generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        labels: { [SERVICE_LABEL]: spec.service ?? 'vllm', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: spec.service ?? 'vllm', uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
      },
      addressType: spec.addressType ?? 'IPv4',
      endpoints: spec.endpoints ?? [],
      ports: spec.ports === undefined ? [{ name: 'http', protocol: 'TCP', port: 8000 }] : spec.ports,
    };
    return this.#commit('ADDED', key, object, spec.silent);
  }

  // --- any resource (RESOURCES) ---

  // `object` needs metadata.name; kind/apiVersion, namespace, uid, creationTimestamp are filled in.
  createObject(resource, object, { silent = false } = {}) {
    const info = this.resources[resource];
    if (!info) throw new Error(`unknown resource ${resource}`);
    const o = structuredClone(object);
    o.kind ??= info.kind;
    o.apiVersion ??= info.apiVersion;
    o.metadata = { namespace: this.namespace, uid: randomUUID(), generation: 1, creationTimestamp: now(), ...o.metadata };
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (this.stores[resource].has(key)) throw new Error(`${resource} ${key} exists`);
    return this.#commit('ADDED', key, o, silent, resource);
  }

  // change: a function mutating a copy of the stored object, or a replacement object.
  updateObject(resource, name, change, { namespace = this.namespace, silent = false } = {}) {
    const key = `${namespace}/${name}`;
    const current = this.stores[resource]?.get(key);
    if (!current) throw new Error(`no ${resource} ${key}`);
    let object = structuredClone(current);
    if (typeof change === 'function') change(object);
    else object = { ...structuredClone(change), kind: current.kind, apiVersion: current.apiVersion, metadata: { ...current.metadata, ...(change.metadata ?? {}) } };
    object.metadata.generation = (object.metadata.generation ?? 1) + 1;
    return this.#commit('MODIFIED', key, object, silent, resource);
  }

  deleteObject(resource, name, { namespace = this.namespace, silent = false } = {}) {
    const key = `${namespace}/${name}`;
    const current = this.stores[resource]?.get(key);
    if (!current) throw new Error(`no ${resource} ${key}`);
    return this.#commit('DELETED', key, structuredClone(current), silent, resource);
  }

  createPod(name, options = {}) { return this.createObject('pods', podObject(name, { namespace: this.namespace, ...options })); }
  setPodReady(name, ready) {
    return this.updateObject('pods', name, (p) => {
      for (const c of p.status.conditions) if (c.type === 'Ready' || c.type === 'ContainersReady') { c.status = ready ? 'True' : 'False'; c.lastTransitionTime = now(); }
    });
  }
  setPodLabels(name, labels) { return this.updateObject('pods', name, (p) => { p.metadata.labels = labels; }); }
  // Graceful deletion starts: deletionTimestamp set, the pod still there.
  terminatePod(name) {
    return this.updateObject('pods', name, (p) => { p.metadata.deletionTimestamp = now(); p.metadata.deletionGracePeriodSeconds = 30; });
  }
  deletePod(name) { return this.deleteObject('pods', name); }

  // change: a function mutating the stored object, or a partial { endpoints, ports, addressType }.
  // { silent: true } changes the state without telling open watches (as if the event was lost).
  updateSlice(name, change, { namespace = this.namespace, silent = false } = {}) {
    const key = `${namespace}/${name}`;
    const current = this.slices.get(key);
    if (!current) throw new Error(`no slice ${key}`);
    const object = structuredClone(current);
    if (typeof change === 'function') change(object);
    else Object.assign(object, change);
    object.metadata.generation += 1;
    return this.#commit('MODIFIED', key, object, silent);
  }

  deleteSlice(name, { namespace = this.namespace, silent = false } = {}) {
    const key = `${namespace}/${name}`;
    const current = this.slices.get(key);
    if (!current) throw new Error(`no slice ${key}`);
    return this.#commit('DELETED', key, structuredClone(current), silent);
  }

  // Sends a BOOKMARK at the current resourceVersion to watches that allowed bookmarks.
  bookmark() {
    for (const w of this.watches) {
      if (!w.bookmarks) continue;
      const info = this.resources[w.resource];
      const object = { kind: info.kind, apiVersion: info.apiVersion,
        metadata: { resourceVersion: String(this.resourceVersion), creationTimestamp: null } };
      if (w.resource === 'endpointslices') Object.assign(object, { addressType: '', endpoints: null });
      else object.spec = {};
      this.#send(w, { type: 'BOOKMARK', object });
    }
    return { resourceVersion: String(this.resourceVersion), at: performance.now() };
  }

  // Cuts every open watch connection abruptly (no final chunk).
  dropWatches() {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
  }

  // Ends every open watch cleanly, as the server does when timeoutSeconds expires.
  endWatches() {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  // Compacts history: every resourceVersion up to now becomes too old. Open
  // watches get an ERROR event with a 410 Expired Status and are closed.
  expire() {
    this.compactedBelow = this.resourceVersion;  // watching from the current version stays valid
    this.history = [];
    for (const w of this.watches) {
      this.#send(w, { type: 'ERROR', object: this.#expiredStatus(w.fromRv) });
      w.res.end();
    }
    this.watches.clear();
    return { at: performance.now() };
  }

  // Writes raw bytes to every open watch (to test garbage handling).
  sendRaw(text) { for (const w of this.watches) w.res.write(text); }

  // Sends an ERROR event carrying a Status with `code` (e.g. 500) to every open
  // watch and ends it, as the API server does for errors other than 410.
  sendError(code = 500, reason = 'InternalError', message = 'injected watch error') {
    for (const w of this.watches) {
      this.#send(w, { type: 'ERROR', object: statusObject(code, reason, message) });
      w.res.end();
    }
    this.watches.clear();
    return { at: performance.now() };
  }

  // The open watches stay open but go dead: nothing more is written to them
  // (no event, no bookmark, no end), as after a lost peer or a stuck proxy.
  // Watches opened later work normally.
  silenceWatches() { for (const w of this.watches) w.silent = true; }

  // Resolves once a watch opened as request number >= `serial` (0-based over
  // watchRequests()) is open: "a new watch since then".
  async waitForWatchSince(serial, timeoutMs = 5000) {
    const deadline = performance.now() + timeoutMs;
    while (![...this.watches].some((w) => w.serial >= serial && !w.silent)) {
      if (performance.now() > deadline) throw new Error(`no watch opened since request ${serial} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // The next `count` watch requests fail: 'drop' (connection closed before a
  // response) or an HTTP status number (e.g. 500, answered with a Status; 410
  // answered with the Expired Status).
  failNextWatches(count, mode = 'drop') { for (let i = 0; i < count; i++) this.failures.push(mode); }

  // --- internals ---

  #expiredStatus(rv) {
    return statusObject(410, 'Expired', `too old resource version: ${rv} (${this.compactedBelow})`);
  }

  #commit(type, key, object, silent, resource = 'endpointslices') {
    const store = this.stores[resource];
    const previous = type === 'MODIFIED' ? structuredClone(store.get(key)) : undefined;
    this.resourceVersion += 1;
    object.metadata.resourceVersion = String(this.resourceVersion);
    if (type === 'DELETED') store.delete(key);
    else store.set(key, object);
    const event = { rv: this.resourceVersion, type, object: structuredClone(object), previous, resource };
    this.history.push(event);
    if (!silent) for (const w of this.watches) { const e = this.#eventFor(w, event); if (e) this.#send(w, e); }
    return { resourceVersion: String(this.resourceVersion), at: performance.now() };
  }

  // What a watch with this filter sees of an event. As the API server's watch
  // cache does for a label selector: an object whose labels move it out of the
  // selection is DELETED for that watch (its previous content at the new
  // resourceVersion), one that moves in is ADDED.
  #eventFor(filter, { type, object, previous, resource }) {
    if (filter.resource !== resource) return null;
    const now = this.#matches(filter, object);
    const before = previous !== undefined && this.#matches(filter, previous);
    if (type !== 'MODIFIED' || previous === undefined) return now ? { type, object } : null;
    if (now && before) return { type, object };
    if (now) return { type: 'ADDED', object };
    if (before) {
      const gone = structuredClone(previous);
      gone.metadata.resourceVersion = object.metadata.resourceVersion;
      return { type: 'DELETED', object: gone };
    }
    return null;
  }

  #matches(filter, object) {
    if (object.metadata.namespace !== filter.namespace) return false;
    if (filter.name !== null && object.metadata.name !== filter.name) return false;
    const labels = object.metadata.labels ?? {};
    return Object.entries(filter.labels).every(([k, v]) => (labels[k] ?? '') === v && (v !== '' || k in labels));
  }

  #send(watch, event) {
    if (watch.silent) return;
    const line = JSON.stringify(event) + '\n';
    if (this.chunking === 'split' && line.length > 8) {
      const a = Math.floor(line.length / 3);
      const b = Math.floor((2 * line.length) / 3);
      watch.res.write(line.slice(0, a));
      watch.res.write(line.slice(a, b));
      watch.res.write(line.slice(b));
    } else {
      watch.res.write(line);
    }
  }

  #reply(res, code, body) {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  #handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query.watch === '1' || query.watch === 'true';
    const record = {
      at: performance.now(), method: req.method, path: url.pathname, query,
      authorization: req.headers.authorization ?? null, kind: 'other', status: 0,
    };
    this.requests.push(record);
    const reply = (code, body) => { record.status = code; this.#reply(res, code, body); };

    if (this.token !== null && req.headers.authorization !== `Bearer ${this.token}`) {
      return reply(401, statusObject(401, 'Unauthorized', 'Unauthorized'));
    }
    const match = LIST_PATH.exec(url.pathname);
    const resource = match?.[3];
    const info = this.resources[resource];
    if (!match || !info || info.prefix !== match[1]) {
      return reply(404, statusObject(404, 'NotFound', 'the server could not find the requested resource'));
    }
    if (req.method !== 'GET') return reply(405, statusObject(405, 'MethodNotAllowed', `${req.method} not allowed`));
    const namespace = decodeURIComponent(match[2]);
    let labels = {};
    if (query.labelSelector !== undefined) {
      labels = parseLabelSelector(query.labelSelector);
      if (!labels) return reply(400, statusObject(400, 'BadRequest', `unable to parse requirement: ${query.labelSelector}`));
    }
    let name = null;
    if (query.fieldSelector !== undefined) {
      const sel = /^metadata\.name==?([a-z0-9.-]+)$/.exec(query.fieldSelector);
      if (!sel) return reply(400, statusObject(400, 'BadRequest', `field label not supported: ${query.fieldSelector}`));
      name = sel[1];
    }
    const filter = { namespace, resource, labels, name, service: labels[SERVICE_LABEL] ?? null };
    record.kind = isWatch ? 'watch' : 'list';
    record.resource = resource;
    const store = this.stores[resource];

    if (!isWatch) {
      const items = [...store.values()].filter((o) => this.#matches(filter, o)).map((o) => {
        const { kind, apiVersion, ...rest } = o;  // list items carry no kind/apiVersion
        return rest;
      });
      return reply(200, {
        kind: `${info.kind}List`, apiVersion: info.apiVersion,
        metadata: { resourceVersion: String(this.resourceVersion) }, items,
      });
    }

    const failure = this.failures.shift();
    if (failure === 'drop') { record.status = -1; req.socket.destroy(); return; }
    if (failure === 410) return reply(410, this.#expiredStatus(query.resourceVersion ?? ''));
    if (typeof failure === 'number') return reply(failure, statusObject(failure, 'InternalError', 'injected failure'));

    const fromRv = query.resourceVersion ?? '';
    if (fromRv !== '' && fromRv !== '0' && !/^\d+$/.test(fromRv)) {
      return reply(400, statusObject(400, 'BadRequest', `invalid resource version: ${fromRv}`));
    }
    if (fromRv !== '' && fromRv !== '0' && Number(fromRv) < this.compactedBelow && this.expiredAs === 'http') {
      return reply(410, this.#expiredStatus(fromRv));
    }
    record.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const watch = { res, ...filter, fromRv, bookmarks: query.allowWatchBookmarks === 'true',
      serial: this.watchRequests().length - 1, silent: false };
    if (fromRv !== '' && fromRv !== '0' && Number(fromRv) < this.compactedBelow) {
      this.#send(watch, { type: 'ERROR', object: this.#expiredStatus(fromRv) });
      res.end();
      return;
    }
    if (fromRv === '' || fromRv === '0') {
      // "Start at any": synthetic ADDED events for the current state.
      for (const o of store.values()) if (this.#matches(filter, o)) this.#send(watch, { type: 'ADDED', object: o });
    } else {
      for (const e of this.history) {
        if (e.rv <= Number(fromRv)) continue;
        const seen = this.#eventFor(filter, e);
        if (seen) this.#send(watch, seen);
      }
    }
    this.watches.add(watch);
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => { if (watch.silent) return; this.watches.delete(watch); res.end(); }, timeout * 1000) : null;
    res.on('close', () => { clearTimeout(timer); this.watches.delete(watch); });
  }
}

// CLI
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
  let tls = null;
  const tlsDir = flag('--tls-dir');
  if (tlsDir) {
    const certs = makeTestCerts(tlsDir);
    tls = { key: certs.key, cert: certs.cert };
  }
  const api = await new FakeKubeApi({ token: flag('--token', null), tls, namespace: flag('--namespace', 'default'),
    poolGroup: flag('--pool-group', 'inference.networking.k8s.io') })
    .start(Number(flag('--port', '0')));
  console.log(JSON.stringify({ event: 'listening', api: `127.0.0.1:${api.port}`, url: api.url }));
  createInterface({ input: process.stdin }).on('line', (line) => {
    try {
      const cmd = JSON.parse(line);
      let out;
      if (cmd.op === 'create') out = api.createSlice(cmd.name, cmd.slice);
      else if (cmd.op === 'update') out = api.updateSlice(cmd.name, cmd.slice);
      else if (cmd.op === 'delete') out = api.deleteSlice(cmd.name);
      else if (cmd.op === 'bookmark') out = api.bookmark();
      else if (cmd.op === 'drop') out = api.dropWatches();
      else if (cmd.op === 'expire') out = api.expire();
      else if (cmd.op === 'createObject') out = api.createObject(cmd.resource, cmd.object);
      else if (cmd.op === 'updateObject') out = api.updateObject(cmd.resource, cmd.name, cmd.object);
      else if (cmd.op === 'deleteObject') out = api.deleteObject(cmd.resource, cmd.name);
      else if (cmd.op === 'createPod') out = api.createPod(cmd.name, cmd.options ?? {});
      else if (cmd.op === 'setPodReady') out = api.setPodReady(cmd.name, cmd.ready);
      else throw new Error(`unknown op ${cmd.op}`);
      console.log(JSON.stringify({ ok: true, ...out }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e.message) }));
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => api.close().then(() => process.exit(0)));
}
