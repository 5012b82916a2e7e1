"""Issue 31 in EPP mode: with prefill and decode pods in the pool, `ringgate --mode epp` picks
the decode pod as always and, for a prompt long enough to split, names the prefill pod in
x-prefiller-host-port for llm-d's routing sidecar on the decode pod; for a short prompt the
header is absent (and a client's own is removed). Real sims playing vLLM with NixlConnector;
the test then does what the sidecar does with the decision (the prefill leg to the named pod,
the decode leg with its kv_transfer_params to the destination) and checks both sims' counters."""
import json
import os
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'
NIXL = json.dumps({'kv_connector': 'NixlConnector', 'kv_role': 'kv_both'})
# What every endpoint's in-flight count must be once idle (issue 53). Set to 1 to see the
# assertion that reads it fail.
IDLE_INFLIGHT = int(os.environ.get('RINGGATE_INFLIGHT_EXPECT', '0'))
# What a routed leg's ticket holds at an endpoint (issue 71), raw from /debug/endpoints: the
# slot, the token load, the pending prefill tokens and the requests awaiting a first token.
HELD = ('inflight', 'inflight_tokens', 'inflight_prefill_tokens', 'awaiting')


def held(admin, addresses):
    by_address = {e['address']: e for e in h.debug_endpoints(admin)}
    return {a: {k: by_address[a][k] for k in HELD} for a in addresses}


def idle(addresses):
    return {a: {k: IDLE_INFLIGHT for k in HELD} for a in addresses}


def start_pd_epp(cls):
    """An EPP over `cls.prefill` (role prefill) and `cls.decode` (role decode): cls.epp, cls.admin."""
    config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool:
  name: vllm
  discovery:
    static:
    - {address: "%s", role: prefill}
    - {address: "%s", role: decode}
disaggregation: {nonCachedTokens: 512}
''' % (cls.prefill.info['api'], cls.decode.info['api']))
    cls.epp = h.start_epp_with_config(config)
    cls.admin = cls.epp.info['admin']


def duplex_pick(tc, body):
    """A full-duplex ext-proc stream on tc.epp sending a completion `body` whole: the stream and
    its headers' answer (the pick's header mutation)."""
    s = h.ExtProcStream(tc.epp.info['epp'])
    tc.addCleanup(s.close)
    s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
           protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                    response_body_mode=Mode.FULL_DUPLEX_STREAMED))
    s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
    r = s.recv()
    tc.assertEqual(r.WhichOneof('response'), 'request_headers')
    return s, h.header_map(r.request_headers.response.header_mutation)


def stop_pd_epp(cls):
    code = cls.epp.stop()
    for s in (cls.prefill, cls.decode):
        s.stop()
    assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())


class EppDisaggregation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefill = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL)
        cls.decode = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL)
        start_pd_epp(cls)
        h.wait_for(lambda: len([e for e in h.debug_endpoints(cls.admin) if e['routable']]) == 2,
                   what='both sims routable')

    @classmethod
    def tearDownClass(cls):
        stop_pd_epp(cls)

    def decide(self, prompt):
        """The headers' answer of a duplex exchange (a client's own x-prefiller-host-port sent)."""
        body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 4}).encode()
        s = h.ExtProcStream(self.epp.info['epp'])
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body),
                                                        extra=[('x-prefiller-host-port', '10.9.9.9:1')])),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                        response_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        self.assertEqual(r.WhichOneof('response'), 'request_headers')
        mutation = r.request_headers.response.header_mutation
        s.close()
        return body, h.header_map(mutation), list(mutation.remove_headers)

    def metric(self, sim, name):
        return sum(v for k, v in h.scrape(sim.info['api']).items() if k.startswith(name + '{'))

    def test_long_prompt_names_the_prefill_pod(self):
        body, headers, removed = self.decide('lorem ipsum dolor sit amet ' * 120)  # ~800 tokens
        self.assertEqual(headers['x-gateway-destination-endpoint'], self.decode.info['api'])
        self.assertEqual(headers['x-prefiller-host-port'], self.prefill.info['api'])
        self.assertEqual(removed, ['x-data-parallel-rank'])  # not a data-parallel rank: a client's own is dropped
        # What llm-d's sidecar then does: the prefill leg, then the decode leg with its params.
        request = json.loads(body)
        prefill_leg = dict(request, stream=False, max_tokens=1, kv_transfer_params={
            'do_remote_decode': True, 'do_remote_prefill': False, 'remote_engine_id': None,
            'remote_block_ids': None, 'remote_host': None, 'remote_port': None})
        conn, resp = h.send_to(headers['x-prefiller-host-port'], '/v1/completions', json.dumps(prefill_leg).encode())
        params = json.loads(resp.read())['kv_transfer_params']
        conn.close()
        conn, resp = h.send_to(headers['x-gateway-destination-endpoint'], '/v1/completions',
                               json.dumps(dict(request, kv_transfer_params=params)).encode())
        self.assertEqual(resp.status, 200)
        resp.read()
        conn.close()
        self.assertEqual(self.metric(self.decode, 'ringgate_sim_kv_transfer_pulls_total'), 1)
        m = h.scrape(self.admin)
        self.assertGreaterEqual(m.get('llm_d_inference_scheduler_disagg_decision_total{decision_type="prefill-decode",'
                                      'model_name="%s"}' % MODEL, 0), 1)

    def test_split_exchange_leaves_no_inflight(self):
        # Issue 53: a split request relayed whole through ext-proc, as Envoy and llm-d's
        # sidecar would (the prefill leg to x-prefiller-host-port, the decode leg to the
        # destination, the decode pod's streamed answer back through the EPP): while it
        # runs the decode pod counts it; once the ext-proc stream ends, both the prefill
        # and the decode pods' in-flight counts are 0. Three at once, streamed and not.
        # The EPP only names the prefill pod (the sidecar runs that leg), and counts it
        # there from the pick until the decode pod's answer begins, as the gateway counts
        # its own prefill leg.
        addresses = [self.prefill.info['api'], self.decode.info['api']]
        self.assertEqual({a: h.inflight(self.admin)[a] for a in addresses}, {a: 0 for a in addresses})
        pulls = self.metric(self.decode, 'ringgate_sim_kv_transfer_pulls_total')
        exchanges = []
        for i in range(3):
            body = json.dumps({'model': MODEL, 'prompt': ('%d lorem ipsum dolor sit amet ' % i) * 120,
                               'max_tokens': 4, 'stream': i != 1}).encode()
            s, headers = duplex_pick(self, body)
            self.assertEqual(headers['x-gateway-destination-endpoint'], self.decode.info['api'])
            self.assertEqual(headers['x-prefiller-host-port'], self.prefill.info['api'])
            forwarded = b''
            while True:
                part = s.recv().request_body.response.body_mutation.streamed_response
                forwarded += part.body
                if part.end_of_stream:
                    break
            exchanges.append((s, json.loads(forwarded)))
        # Mid-run: all three picked, none answered yet.
        h.wait_for(lambda: h.inflight(self.admin)[self.decode.info['api']] == 3, what='3 in flight on the decode pod')
        mid = {a: h.inflight(self.admin)[a] for a in addresses}
        self.assertEqual(mid, {a: 3 for a in addresses})
        for n, (s, request) in enumerate(exchanges):
            prefill_leg = dict(request, stream=False, max_tokens=1, kv_transfer_params={
                'do_remote_decode': True, 'do_remote_prefill': False, 'remote_engine_id': None,
                'remote_block_ids': None, 'remote_host': None, 'remote_port': None})
            prefill_leg.pop('stream_options', None)
            conn, resp = h.send_to(self.prefill.info['api'], '/v1/completions', json.dumps(prefill_leg).encode())
            self.assertEqual(resp.status, 200)
            params = json.loads(resp.read())['kv_transfer_params']
            conn.close()
            conn, resp = h.send_to(self.decode.info['api'], '/v1/completions',
                                   json.dumps(dict(request, kv_transfer_params=params)).encode())
            self.assertEqual(resp.status, 200)
            self.assertEqual(h.inflight(self.admin)[self.prefill.info['api']], 3 - n)
            s.send(response_headers=h.headers([(':status', '200'), ('content-type', resp.getheader('content-type'))]))
            self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
            self.assertEqual(h.inflight(self.admin)[self.prefill.info['api']], 2 - n)  # its answer began
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                s.send(response_body=ep.HttpBody(body=data, end_of_stream=False))
                s.recv()
            conn.close()
            s.send(response_body=ep.HttpBody(body=b'', end_of_stream=True))
            s.recv()
            self.assertEqual(s.close(), h.grpc.StatusCode.OK)
        self.assertEqual(self.metric(self.decode, 'ringgate_sim_kv_transfer_pulls_total'), pulls + 3)
        try:
            h.wait_for(lambda: held(self.admin, addresses) == idle(addresses),
                       what='in-flight %d on the prefill and decode pods' % IDLE_INFLIGHT)
        except AssertionError:
            pass
        self.assertEqual(held(self.admin, addresses), idle(addresses), 'mid-run they were %s' % mid)

    def test_a_split_stream_cancelled_before_the_answer_gives_the_prefill_pod_back(self):
        # Envoy resets the stream after the pick (its client left while the sidecar's prefill
        # ran): the prefill pod's count goes as the decode pod's does.
        addresses = [self.prefill.info['api'], self.decode.info['api']]
        body = json.dumps({'model': MODEL, 'prompt': 'cancelled lorem ipsum dolor sit amet ' * 120,
                           'max_tokens': 4}).encode()
        s = h.ExtProcStream(self.epp.info['epp'])
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                        response_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        headers = h.header_map(s.recv().request_headers.response.header_mutation)
        self.assertEqual(headers['x-prefiller-host-port'], self.prefill.info['api'])
        h.wait_for(lambda: {a: h.inflight(self.admin)[a] for a in addresses} == {a: 1 for a in addresses},
                   what='the prefill and decode pods counting the pick')
        self.assertGreater(held(self.admin, addresses)[self.prefill.info['api']]['inflight_tokens'], 0)
        s.responses.cancel()
        s.channel.close()
        h.wait_for(lambda: held(self.admin, addresses) == idle(addresses), what='both given back')

    def pick(self, prompt, stream=True):
        body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 4, 'stream': stream}).encode()
        s, _ = duplex_pick(self, body)
        while not s.recv().request_body.response.body_mutation.streamed_response.end_of_stream:
            pass
        return s

    def test_every_decode_only_leg_gives_back_what_it_held(self):
        # Issue 71 in EPP mode: a decode-only pick (a short prompt) answered 200, answered
        # 500, cancelled after its answer began (the client left mid-stream) and cancelled
        # before: every count its ticket held at the decode pod is back to 0, and each was
        # held while the stream ran.
        addresses = [self.prefill.info['api'], self.decode.info['api']]
        decode = self.decode.info['api']
        self.assertEqual(held(self.admin, addresses), idle(addresses))
        ok, failed, left, early = (self.pick('%s: hello there?' % n) for n in ('ok', 'failed', 'left', 'early'))
        h.wait_for(lambda: held(self.admin, addresses)[decode]['inflight'] == 4, what='4 in flight on the decode pod')
        mid = held(self.admin, addresses)[decode]
        self.assertGreater(mid['inflight_tokens'], 0)
        self.assertEqual(mid['awaiting'], 4)
        for s, status in ((ok, '200'), (failed, '500')):
            s.send(response_headers=h.headers([(':status', status), ('content-type', 'text/event-stream')]))
            self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
            s.send(response_body=ep.HttpBody(body=b'data: {}\n\ndata: [DONE]\n\n', end_of_stream=True))
            s.recv()
            self.assertEqual(s.close(), h.grpc.StatusCode.OK)
        left.send(response_headers=h.headers([(':status', '200'), ('content-type', 'text/event-stream')]))
        self.assertEqual(left.recv().WhichOneof('response'), 'response_headers')
        for s in (left, early):
            s.responses.cancel()
            s.channel.close()
        h.wait_for(lambda: held(self.admin, addresses) == idle(addresses), what='every count given back')

    def test_short_prompt_has_no_prefill_pod(self):
        _, headers, removed = self.decide('Hello there?')
        self.assertEqual(headers['x-gateway-destination-endpoint'], self.decode.info['api'])
        self.assertNotIn('x-prefiller-host-port', headers)
        # The client's own never reaches the sidecar, nor its own rank header vLLM.
        self.assertEqual(removed, ['x-prefiller-host-port', 'x-data-parallel-rank'])


def held_by_rank(admin):
    """The held counts of every endpoint, a data-parallel rank's keyed address#rank."""
    out = {}
    for e in h.debug_endpoints(admin):
        key = e['address'] if e['data_parallel_rank'] is None else '%s#%d' % (e['address'], e['data_parallel_rank'])
        out[key] = {k: e[k] for k in HELD}
    return out


class EppDataParallel(unittest.TestCase):
    """Issue 71 in EPP mode with a data-parallel decode server (two ranks behind one port,
    named in x-data-parallel-rank) and a prefill pod: every leg picked to a rank, answered
    200, answered 500, cancelled after its answer began and before, and split ones (the
    prefill pod named) answered and cancelled, gives back what its ticket held at its rank
    and at the prefill pod: every count back to 0."""

    @classmethod
    def setUpClass(cls):
        cls.prefill = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL)
        cls.decode = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL, '--data-parallel-size', '2',
                                 '--data-parallel-stats-interval-ms', '0')
        start_pd_epp(cls)
        h.wait_for(lambda: len([e for e in h.debug_endpoints(cls.admin) if e['routable']]) == 3,
                   what='the prefill pod and both ranks routable')

    @classmethod
    def tearDownClass(cls):
        stop_pd_epp(cls)

    def pick(self, prompt):
        body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 4, 'stream': True}).encode()
        s, headers = duplex_pick(self, body)
        self.assertEqual(headers['x-gateway-destination-endpoint'], self.decode.info['api'])
        self.assertIn(headers.get('x-data-parallel-rank'), ('0', '1'))
        while not s.recv().request_body.response.body_mutation.streamed_response.end_of_stream:
            pass
        return s, headers

    def answer(self, s, status):
        s.send(response_headers=h.headers([(':status', status), ('content-type', 'text/event-stream')]))
        self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
        s.send(response_body=ep.HttpBody(body=b'data: {}\n\ndata: [DONE]\n\n', end_of_stream=True))
        s.recv()
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)

    def test_every_leg_to_a_rank_gives_back_what_it_held(self):
        decode = self.decode.info['api']
        ranks = ['%s#0' % decode, '%s#1' % decode]
        everything = [self.prefill.info['api']] + ranks
        idle_all = idle(everything)
        self.assertEqual(held_by_rank(self.admin), idle_all)
        short = [self.pick('%d: hello there?' % n) for n in range(8)]
        split = [self.pick(('%d split lorem ipsum dolor sit amet ' % n) * 120) for n in range(2)]
        for _, headers in split:
            self.assertEqual(headers['x-prefiller-host-port'], self.prefill.info['api'])
        for _, headers in short:
            self.assertNotIn('x-prefiller-host-port', headers)
        picked = [headers['x-data-parallel-rank'] for _, headers in short + split]
        self.assertEqual(sorted(set(picked)), ['0', '1'], 'both ranks picked: %s' % picked)
        h.wait_for(lambda: sum(held_by_rank(self.admin)[r]['inflight'] for r in ranks) == 10,
                   what='10 in flight on the ranks')
        mid = held_by_rank(self.admin)
        for r in ranks:
            n = picked.count(r[-1])
            self.assertEqual(mid[r]['inflight'], n, mid)
            self.assertGreater(mid[r]['inflight_tokens'], 0, mid)
        self.assertEqual(mid[self.prefill.info['api']]['inflight'], 2, mid)
        # Short legs: two answered 200, two 500, two left after their answer began, two
        # before; the split ones: one answered, one left before its answer.
        for s, _ in short[0:2]:
            self.answer(s, '200')
        for s, _ in short[2:4]:
            self.answer(s, '500')
        for s, _ in short[4:6]:
            s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'text/event-stream')]))
            self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
        self.answer(split[0][0], '200')
        for s, _ in short[4:8] + split[1:]:
            s.responses.cancel()
            s.channel.close()
        h.wait_for(lambda: held_by_rank(self.admin) == idle_all, what='every count at each rank given back')
        self.assertEqual(held_by_rank(self.admin), idle_all, 'mid-run they were %s' % mid)


class EppContextLengthPools(unittest.TestCase):
    """Issue 69 in EPP mode: llm-d's context-length-aware filter over static entries'
    contextLengthRange: x-prefiller-host-port names the prefill pod whose range holds the
    prompt's tokens (4 bytes a token): 1024 tokens the 0-1024 pod, 1025 the long one."""

    @classmethod
    def setUpClass(cls):
        cls.short = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL)
        cls.long = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL, '--max-model-len', '16384')
        cls.decode = h.start_sim('--model', MODEL, '--kv-transfer-config', NIXL, '--max-model-len', '16384')
        config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool:
  name: vllm
  discovery:
    static:
    - {address: "%s", role: prefill, contextLengthRange: "0-1024"}
    - {address: "%s", role: prefill, contextLengthRange: "1025-16384"}
    - {address: "%s", role: decode}
scheduler: {filters: {context-length: true}}
disaggregation: {nonCachedTokens: 512}
''' % (cls.short.info['api'], cls.long.info['api'], cls.decode.info['api']))
        cls.epp = h.start_epp_with_config(config)
        h.wait_for(lambda: len([e for e in h.debug_endpoints(cls.epp.info['admin']) if e['routable']]) == 3,
                   what='the three sims routable')

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        for s in (cls.short, cls.long, cls.decode):
            s.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def prefill_pod(self, n, size):
        prompt = ('%d: ' % n + 'lorem ipsum dolor sit amet ' * 200)[:size]
        body = json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 4}).encode()
        s = h.ExtProcStream(self.epp.info['epp'])
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                        response_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        headers = h.header_map(s.recv().request_headers.response.header_mutation)
        s.close()
        self.assertEqual(headers['x-gateway-destination-endpoint'], self.decode.info['api'])
        return headers.get('x-prefiller-host-port')

    def test_the_prompt_length_picks_the_prefill_pool(self):
        for n, (size, pool) in enumerate([(4096, self.short), (4097, self.long), (4093, self.short),
                                          (4100, self.long)]):
            self.assertEqual(self.prefill_pod(n, size), pool.info['api'], '%d bytes' % size)


if __name__ == '__main__':
    unittest.main(verbosity=2)
