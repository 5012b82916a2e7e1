"""Issues 14 and 15 together: the precise prefix scorer (vLLM KV-cache events) in EPP mode.
Real ringgate-sims publish KVEventBatches (ZMQ PUB + replay ROUTER, sha256_cbor block
hashes with PYTHONHASHSEED=0); `ringgate --mode epp` with `prefix.mode: precise`
subscribes to them, and a prompt that one sim served directly (never through ringgate)
is picked for that sim over ext-proc, driven as Envoy's ext_proc filter drives GAIE's
EPP. One sim is warmed before ringgate starts: its history arrives by replay."""
import json
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'
SIM_ENV = {'PYTHONHASHSEED': '0'}  # what vLLM's sha256_cbor hashing of the root block is seeded with


def kv_events(host='127.0.0.1', port='*', replay_port='*'):
    """vLLM's --kv-events-config spelling."""
    return json.dumps({'enable_kv_cache_events': True, 'publisher': 'zmq', 'endpoint': 'tcp://%s:%s' % (host, port),
                       'topic': 'kv', 'replay_endpoint': 'tcp://%s:%s' % (host, replay_port)})


KV_EVENTS = kv_events()


def text(seed, size):
    """A prompt of `size` bytes, distinct per seed (as tests/sched/precise_prefix.test.mjs)."""
    x = (seed * 2654435761) % 4294967296
    out = ''
    while len(out) < size:
        x = (x * 1103515245 + 12345) % 2147483648
        out += 'w%x ' % (x % 9973)
    return out[:size]


def complete_direct(sim, prompt):
    """The sim serves the prompt itself: ringgate never sees this request."""
    body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 1}).encode()
    conn, resp = h.send_to(sim.info['api'], '/v1/completions', body)
    resp.read()
    conn.close()
    assert resp.status == 200, resp.status


def pick(address, prompt, mode):
    """One ext-proc exchange up to the decision, as Envoy sends it; returns the picked endpoint."""
    body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 1}).encode()
    s = h.ExtProcStream(address)
    s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
           protocol_config=ep.ProtocolConfiguration(request_body_mode=mode))
    if mode == Mode.BUFFERED:
        assert s.recv().WhichOneof('response') == 'request_headers'
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        common = r.request_body.response
    else:
        for i in range(0, len(body), 1000):  # streamed in parts, as Envoy forwards them
            s.send(request_body=ep.HttpBody(body=body[i:i + 1000], end_of_stream=i + 1000 >= len(body)))
        r = s.recv()
        common = r.request_headers.response
    dest = h.header_map(common.header_mutation)['x-gateway-destination-endpoint']
    assert h.destination_metadata(r) == dest
    assert s.close() == h.grpc.StatusCode.OK  # released before any response
    return dest


def prefix_source(admin, api):
    for e in h.debug_endpoints(admin):
        if e['address'] == api:
            return e['prefix_source']
    return None


def until_source(admin, sim, pred, what, salt):
    """Until the subscription is live a batch can go unseen: the sim serves fresh prompts
    (each one a new batch) until ringgate reports the state awaited."""
    for seed in range(50):
        complete_direct(sim, text(10000 + 100 * salt + seed, 100))
        try:
            return h.wait_for(lambda: pred(prefix_source(admin, sim.info['api'])), timeout=0.3, what=what)
        except AssertionError:
            pass
    raise AssertionError('%s: %s not reached: %s' % (sim.info['api'], what, prefix_source(admin, sim.info['api'])))


class EppPrecise(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sims = [h.start_sim('--model', MODEL, '--kv-blocks', '256', '--block-size', '16',
                                '--kv-events-config', KV_EVENTS, env=SIM_ENV) for _ in range(3)]
        cls.early = text(999, 2048)
        complete_direct(cls.sims[2], cls.early)  # before ringgate subscribes: comes by replay
        endpoints = '\n'.join('    - {endpoint: "%s", address: "%s", replay: "%s"}' %
                              (s.info['api'], s.info['kv_events'], s.info['kv_replay']) for s in cls.sims)
        config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool: {name: vllm, discovery: {static: [%s]}}
scheduler:
  scorers:
    queue: 1
    kv-cache: 1
    prefix: {weight: 5, mode: precise, tokenizer: sim-bytes, blockSize: 16, hashSeed: "0"}
kvEvents:
  topic: kv
  endpoints:
%s
''' % (', '.join('"%s"' % s.info['api'] for s in cls.sims), endpoints))
        cls.epp = h.start_epp_with_config(config)
        cls.admin = cls.epp.info['admin']
        h.wait_for(lambda: h.health_status(cls.epp.info['eppHealth']) == h.SERVING, what='EPP health SERVING')
        h.wait_for(lambda: len(h.debug_endpoints(cls.admin)) == 3 and
                   all(e['routable'] for e in h.debug_endpoints(cls.admin)), what='three sims routable')

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        for s in cls.sims:
            s.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def prefix_source(self, sim):
        return prefix_source(self.admin, sim.info['api'])

    def until_source(self, sim, pred, what):
        return until_source(self.admin, sim, pred, what, self.sims.index(sim))

    def pick(self, prompt, mode):
        return pick(self.epp.info['epp'], prompt, mode)

    def test_1_prompt_cached_on_a_sim_by_its_events_is_picked_for_it(self):
        a, b, c = self.sims
        for s in (a, b):
            self.until_source(s, lambda p: p and p['source'] == 'precise', 'precise')
        # c's first batch (seq 0, the early prompt) went out before ringgate subscribed.
        self.until_source(c, lambda p: p and p['source'] == 'precise' and p['last_seq'] >= 1,
                          'precise after replay')

        targets = [a, b, c, a, b, c, c]
        prompts = [text(100 + i, 3000) for i in range(6)] + [self.early]
        for sim, prompt in list(zip(targets, prompts))[:6]:
            before = self.prefix_source(sim)['blocks']
            complete_direct(sim, prompt)
            h.wait_for(lambda: self.prefix_source(sim)['blocks'] > before, timeout=5, what='blocks announced')
        for i, (sim, prompt) in enumerate(zip(targets, prompts)):
            mode = Mode.BUFFERED if i % 2 else Mode.FULL_DUPLEX_STREAMED
            got = self.pick(prompt, mode)
            self.assertEqual(got, sim.info['api'], 'prompt %d warmed on %s was picked for %s' %
                             (i, sim.info['api'], got))

        self.assert_metrics()

    def test_2_blocks_a_sim_evicts_stop_counting_for_it(self):
        # After test 1 (a's cache is not yet full, so a's new blocks show in its count).
        # The pick follows BlockRemoved too: a prompt evicted from a's cache no longer
        # draws it, and a sim holding only its first half wins. Were the removals lost,
        # a's full match (47 blocks) would beat b's half (23) every time.
        a, b, _ = self.sims
        for s in (a, b):
            self.until_source(s, lambda p: p and p['source'] == 'precise', 'precise')
        prompt = text(500, 3000)
        before = self.prefix_source(a)['blocks']
        complete_direct(a, prompt)
        h.wait_for(lambda: self.prefix_source(a)['blocks'] > before, timeout=5, what='blocks announced')
        self.assertEqual(self.pick(prompt, Mode.BUFFERED), a.info['api'])
        # 7 fresh prompts of ~47 blocks each through a's 256 blocks: LRU evicts every older one.
        for seed in range(7):
            complete_direct(a, text(600 + seed, 3000))
        complete_direct(b, prompt[:1500])
        h.wait_for(lambda: self.pick(prompt, Mode.FULL_DUPLEX_STREAMED) == b.info['api'], timeout=5,
                   what='the pick to follow a\'s evictions to b')

    def assert_metrics(self):
        metrics = h.scrape(self.admin)
        self.assertEqual(metrics['ringgate_kv_events_endpoints_precise'], 3)
        self.assertGreaterEqual(metrics['ringgate_kv_events_replayed_batches_total'], 1)
        self.assertGreater(metrics['ringgate_kv_events_index_blocks'], 0)


class EppPreciseKubernetes(unittest.TestCase):
    """As GAIE deploys an EPP: the pool is an InferencePool's pods (fake API server). One
    pod's event stream is found at its own address and kvEvents.port / replayPort, one
    from a kvEvents.endpoints entry, and the third only through its pod's annotations
    (kv-events.ringgate.io/port, /replay-port: its ports are not the configured ones).
    The first pod's bad annotation (an address elsewhere) is ignored, with its reason in
    /debug/endpoints. (All at one port would need two binds of a concrete port, and a
    concrete endpoint makes vLLM's publisher, and the sim's, connect rather than bind:
    only an endpoint with '*' binds.)"""

    def test_pod_event_streams_by_port_by_entry_and_by_annotation(self):
        from ext_proc_kube import FakeApi
        a = h.start_sim('--model', MODEL, '--host', '127.0.0.2', '--kv-blocks', '256', '--block-size', '16',
                        '--kv-events-config', kv_events('127.0.0.2'), env=SIM_ENV)
        port = a.info['api'].rsplit(':', 1)[1]
        kv_port = a.info['kv_events'].rsplit(':', 1)[1]
        replay_port = a.info['kv_replay'].rsplit(':', 1)[1]
        b = h.start_sim('--model', MODEL, '--host', '127.0.0.3', '--port', port, '--kv-blocks', '256',
                        '--block-size', '16', '--kv-events-config', kv_events('127.0.0.3'), env=SIM_ENV)
        c = h.start_sim('--model', MODEL, '--host', '127.0.0.4', '--port', port, '--kv-blocks', '256',
                        '--block-size', '16', '--kv-events-config', kv_events('127.0.0.4'), env=SIM_ENV)
        c_kv_port = c.info['kv_events'].rsplit(':', 1)[1]
        c_replay_port = c.info['kv_replay'].rsplit(':', 1)[1]
        self.assertNotEqual(c_kv_port, kv_port)  # else the configured port would find it too
        api = FakeApi()
        epp = None
        try:
            api.do(op='createObject', resource='inferencepools', object={
                'metadata': {'name': 'vllm-pool'},
                'spec': {'selector': {'matchLabels': {'app': 'vllm'}}, 'targetPorts': [{'number': int(port)}],
                         'endpointPickerRef': {'name': 'vllm-pool-epp', 'port': {'number': 9002}}}})
            annotations = {
                # Hostile: an annotation naming another host is refused; kvEvents.replayPort stays.
                'vllm-0': {'kv-events.ringgate.io/replay-port': 'tcp://203.0.113.9:%s' % replay_port},
            }
            for name, ip in (('vllm-0', '127.0.0.2'), ('vllm-1', '127.0.0.3'), ('vllm-2', '127.0.0.4')):
                options = {'labels': {'app': 'vllm'}, 'ip': ip, 'port': int(port)}
                if name in annotations:
                    options['annotations'] = annotations[name]
                api.do(op='createPod', name=name, options=options)
            config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool:
  discovery:
    kubernetes: {namespace: default, inferencePool: vllm-pool, apiServer: "%s"}
scheduler:
  scorers:
    queue: 1
    kv-cache: 1
    prefix: {weight: 5, mode: precise, tokenizer: sim-bytes, blockSize: 16, hashSeed: "0"}
kvEvents:
  topic: kv
  port: %s
  replayPort: %s
  endpoints: [{endpoint: "%s", address: "%s", replay: "%s"}]
''' % (api.info['url'], kv_port, replay_port, b.info['api'], b.info['kv_events'], b.info['kv_replay']))
            epp = h.start_epp_with_config(config)
            admin = epp.info['admin']
            h.wait_for(lambda: len(h.debug_endpoints(admin)) == 3 and
                       all(e['routable'] for e in h.debug_endpoints(admin)), what='three pods routable')
            # vllm-2 unannotated: followed at kvEvents.port, where nothing publishes. Annotated
            # afterwards (its membership unchanged), it is followed at its own ports.
            self.assertEqual(prefix_source(admin, c.info['api'])['events_address'], 'tcp://127.0.0.4:%s' % kv_port)
            api.do(op='updateObject', resource='pods', name='vllm-2', object={
                'metadata': {'annotations': {'kv-events.ringgate.io/port': c_kv_port,
                                             'kv-events.ringgate.io/replay-port': c_replay_port}},
                'spec': {'containers': [{'name': 'vllm'}]},
                'status': {'phase': 'Running', 'podIP': '127.0.0.4', 'conditions': [{'type': 'Ready', 'status': 'True'}]}})
            h.wait_for(lambda: prefix_source(admin, c.info['api'])['events_address'] == c.info['kv_events'],
                       what='the annotated ports followed')
            for salt, sim in enumerate((a, b, c)):
                until_source(admin, sim, lambda p: p and p['source'] == 'precise', 'precise', salt)
            src_a, src_c = prefix_source(admin, a.info['api']), prefix_source(admin, c.info['api'])
            self.assertEqual(src_c['events_address'], c.info['kv_events'])
            self.assertEqual(src_c['replay_address'], c.info['kv_replay'])
            self.assertEqual(src_c['annotation_problem'], '')
            self.assertEqual(src_a['events_address'], a.info['kv_events'])
            self.assertEqual(src_a['replay_address'], a.info['kv_replay'])
            self.assertIn('kv-events.ringgate.io/replay-port', src_a['annotation_problem'])
            self.assertIn('ignored', src_a['annotation_problem'])
            prompts = [(a, text(700, 3000)), (b, text(701, 3000)), (c, text(704, 3000)), (a, text(702, 3000)),
                       (b, text(703, 3000)), (c, text(705, 3000))]
            for sim, prompt in prompts:
                before = prefix_source(admin, sim.info['api'])['blocks']
                complete_direct(sim, prompt)
                h.wait_for(lambda: prefix_source(admin, sim.info['api'])['blocks'] > before, timeout=5,
                           what='blocks announced')
            for i, (sim, prompt) in enumerate(prompts):
                self.assertEqual(pick(epp.info['epp'], prompt, Mode.BUFFERED if i % 2 else Mode.FULL_DUPLEX_STREAMED),
                                 sim.info['api'], 'prompt %d' % i)
        finally:
            code = epp.stop() if epp else 0
            api.stop()
            a.stop()
            b.stop()
            c.stop()
        self.assertEqual(code, 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
