"""Issue 15 acceptance: `ringgate --mode epp` driven over Envoy's ext-proc protocol
exactly as Envoy's ext_proc filter drives GAIE's Endpoint Picker (message order of a
real exchange, FULL_DUPLEX_STREAMED and BUFFERED bodies, an SSE response), against real
ringgate-sim processes. The decision (x-gateway-destination-endpoint header and the
envoy.lb dynamic metadata) must name a sim; the test then sends the forwarded request to
that sim itself, as the Gateway would, and relays its answer back through ext-proc."""
import json
import os
import time
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'
ALIAS = 'opt-alias'
BODY_LIMIT = 65536
# What every endpoint's in-flight count must be once idle (issue 53). Set to 1 to see the
# assertions that read it fail.
IDLE_INFLIGHT = int(os.environ.get('RINGGATE_INFLIGHT_EXPECT', '0'))


class EppAcceptance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sims = [h.start_sim('--model', MODEL, '--enable-force-include-usage') for _ in range(2)]
        cls.sim_addresses = {s.info['api'] for s in cls.sims}
        config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool: {name: vllm, discovery: {static: [%s]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: alias}
spec:
  rules:
  - matches: [{model: {type: Exact, value: %s}}]
    targets: [{modelRewrite: %s}]
''' % (', '.join('"%s"' % a for a in sorted(cls.sim_addresses)), ALIAS, MODEL))
        cls.epp = h.start_epp_with_config(config, '--max-body-bytes', str(BODY_LIMIT))
        cls.address = cls.epp.info['epp']
        cls.admin = cls.epp.info['admin']
        h.wait_for(lambda: h.health_status(cls.epp.info['eppHealth']) == h.SERVING, what='EPP health SERVING')
        h.wait_for(lambda: all(e['routable'] for e in h.debug_endpoints(cls.admin)) and
                   len(h.debug_endpoints(cls.admin)) == 2, what='both sims routable')

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        for s in cls.sims:
            s.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def await_inflight(self, endpoint, n):
        h.wait_for(lambda: h.inflight(self.admin).get(endpoint) == n, what='in-flight %d on %s' % (n, endpoint))

    def metric_sum(self, prefix, *needles):
        return sum(v for k, v in h.scrape(self.admin).items() if k.startswith(prefix) and all(n in k for n in needles))

    # --- the two body modes, end to end ---------------------------------------------

    def test_duplex_streamed_body_and_sse_response(self):
        body = json.dumps({'model': ALIAS, 'prompt': 'The quick brown fox ' * 20, 'max_tokens': 6,
                           'stream': True}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                        response_body_mode=Mode.FULL_DUPLEX_STREAMED))
        thirds = [body[:100], body[100:200], body[200:]]
        for i, chunk in enumerate(thirds):
            s.send(request_body=ep.HttpBody(body=chunk, end_of_stream=i == 2))
        # GAIE's order: the headers' answer carries the pick, then the body streams back.
        r = s.recv()
        self.assertEqual(r.WhichOneof('response'), 'request_headers')
        common = r.request_headers.response
        self.assertTrue(common.clear_route_cache)
        set_headers = h.header_map(common.header_mutation)
        dest = set_headers['x-gateway-destination-endpoint']
        self.assertIn(dest, self.sim_addresses)
        self.assertEqual(h.destination_metadata(r), dest)
        forwarded = b''
        while True:
            r = s.recv()
            self.assertEqual(r.WhichOneof('response'), 'request_body')
            part = r.request_body.response.body_mutation.streamed_response
            forwarded += part.body
            if part.end_of_stream:
                break
        self.assertEqual(int(set_headers['content-length']), len(forwarded))
        sent = json.loads(forwarded)
        self.assertEqual(sent['model'], MODEL)  # InferenceModelRewrite applied in the body
        self.assertEqual(sent['prompt'], json.loads(body)['prompt'])
        self.await_inflight(dest, 1)

        conn, resp = h.send_to(dest, '/v1/completions', forwarded)
        self.assertEqual(resp.status, 200)
        s.send(response_headers=h.headers([(':status', '200'), ('content-type', resp.getheader('content-type'))]))
        self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
        relayed, echoed = b'', b''
        while True:
            data = resp.read1(65536)
            if not data:
                break
            relayed += data
            s.send(response_body=ep.HttpBody(body=data, end_of_stream=False))
            r = s.recv()
            echoed += r.response_body.response.body_mutation.streamed_response.body
        conn.close()
        s.send(response_body=ep.HttpBody(body=b'', end_of_stream=True))
        r = s.recv()
        self.assertTrue(r.response_body.response.body_mutation.streamed_response.end_of_stream)
        self.assertEqual(echoed, relayed)  # duplex: every byte goes back to the Gateway, in order
        self.assertIn(b'data: [DONE]', relayed)
        self.assertIn(b'"usage"', relayed)
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)
        self.await_inflight(dest, 0)
        # The latency model learned from it (TTFT from the decision to the first body chunk).
        h.wait_for(lambda: self.metric_sum('ringgate_latency_samples_total') >= 1, what='a latency sample')
        # Same statistics as the gateway: counted under the alias and its target, usage seen.
        self.assertGreaterEqual(self.metric_sum('inference_objective_request_total{', 'model_name="%s"' % ALIAS,
                                                'target_model_name="%s"' % MODEL), 1)
        self.assertGreaterEqual(self.metric_sum('inference_objective_output_tokens_count{',
                                                'model_name="%s"' % ALIAS), 1)

    def test_buffered_body_and_json_response(self):
        body = json.dumps({'model': ALIAS, 'messages': [{'role': 'user', 'content': 'hello there'}],
                           'max_tokens': 4}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/chat/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED,
                                                        response_body_mode=Mode.BUFFERED))
        r = s.recv()  # buffered: the headers are answered at once
        self.assertEqual(r.WhichOneof('response'), 'request_headers')
        self.assertNotIn('x-gateway-destination-endpoint', h.header_map(r.request_headers.response.header_mutation))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        self.assertEqual(r.WhichOneof('response'), 'request_body')
        common = r.request_body.response
        set_headers = h.header_map(common.header_mutation)
        dest = set_headers['x-gateway-destination-endpoint']
        self.assertIn(dest, self.sim_addresses)
        self.assertEqual(h.destination_metadata(r), dest)
        forwarded = common.body_mutation.body
        self.assertEqual(json.loads(forwarded)['model'], MODEL)
        self.assertEqual(int(set_headers['content-length']), len(forwarded))
        self.await_inflight(dest, 1)

        conn, resp = h.send_to(dest, '/v1/chat/completions', forwarded)
        answer = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(json.loads(answer)['model'], MODEL)
        s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json'),
                                           ('content-length', str(len(answer)))]))
        self.assertEqual(s.recv().WhichOneof('response'), 'response_headers')
        s.send(response_body=ep.HttpBody(body=answer, end_of_stream=True))
        r = s.recv()
        self.assertEqual(r.WhichOneof('response'), 'response_body')
        self.assertFalse(r.response_body.response.HasField('body_mutation'))  # passed on unchanged
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)
        self.await_inflight(dest, 0)
        self.assertGreaterEqual(self.metric_sum('inference_objective_input_tokens_count{', 'model_name="%s"' % ALIAS), 1)

    def test_buffered_without_rewrite_keeps_the_body(self):
        body = json.dumps({'model': MODEL, 'prompt': 'hi', 'max_tokens': 2}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
        s.recv()
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        self.assertFalse(r.request_body.response.HasField('body_mutation'))
        self.assertIn(h.header_map(r.request_body.response.header_mutation)['x-gateway-destination-endpoint'],
                      self.sim_addresses)
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)  # stream ends before any response: released
        for sim in self.sim_addresses:
            self.await_inflight(sim, 0)

    def test_request_without_body_goes_to_a_ready_endpoint(self):
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers([(':authority', 'gw'), (':path', '/v1/models'), (':method', 'GET')],
                                         end_of_stream=True),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        r = s.recv()
        dest = h.header_map(r.request_headers.response.header_mutation)['x-gateway-destination-endpoint']
        self.assertIn(dest, self.sim_addresses)
        self.assertEqual(h.destination_metadata(r), dest)
        self.assertIn(MODEL, h.http_get('http://%s/v1/models' % dest))
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)

    def test_concurrent_streams_across_threads(self):
        # 64 exchanges, 16 at a time, over the EPP's two threads: every one gets a pick
        # and its body back, and every in-flight count returns to zero.
        from concurrent.futures import ThreadPoolExecutor

        def exchange(i):
            body = json.dumps({'model': ALIAS, 'prompt': 'request %d ' % i * 10, 'max_tokens': 1}).encode()
            s = h.ExtProcStream(self.address)
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                                            response_body_mode=Mode.FULL_DUPLEX_STREAMED))
            s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
            dest = h.header_map(s.recv().request_headers.response.header_mutation)['x-gateway-destination-endpoint']
            forwarded = s.recv().request_body.response.body_mutation.streamed_response.body
            s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
            s.recv()
            s.send(response_body=ep.HttpBody(body=b'{"usage":{"prompt_tokens":3,"completion_tokens":1}}',
                                             end_of_stream=True))
            s.recv()
            return dest, json.loads(forwarded)['model'], s.close()

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(exchange, range(64)))
        for dest, model, code in results:
            self.assertIn(dest, self.sim_addresses)
            self.assertEqual(model, MODEL)
            self.assertEqual(code, h.grpc.StatusCode.OK)
        for sim in self.sim_addresses:
            self.await_inflight(sim, 0)

    # --- errors: immediate responses with the gateway's statuses ------------------------

    def immediate(self, model_body, mode=Mode.FULL_DUPLEX_STREAMED, head_extra=()):
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(model_body), extra=head_extra)),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=mode))
        if mode == Mode.BUFFERED:
            s.recv()
        s.send(request_body=ep.HttpBody(body=model_body, end_of_stream=True))
        r = s.recv()
        self.assertEqual(r.WhichOneof('response'), 'immediate_response')
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)  # as GAIE: the stream ends cleanly after it
        return r.immediate_response

    def test_unknown_model_is_404(self):
        im = self.immediate(json.dumps({'model': 'no-such-model', 'prompt': 'x'}).encode())
        self.assertEqual(im.status.code, 404)
        self.assertEqual(json.loads(im.body)['error']['code'], 'model_not_found')
        self.assertEqual(h.header_map(im.headers)['content-type'], 'application/json')

    def test_fairness_ids_become_labels_only_when_admitted_and_bounded(self):
        # Issue 72, in EPP mode: a request refused with 404 adds no fairness_id label value,
        # and admitted ones add at most metrics.maxLabelValues (64) for the process.
        def overflow():
            return h.scrape(self.admin).get('ringgate_metric_label_overflow_total{family="fairness_id"}', 0)

        def fairness_ids():
            return {k.split('fairness_id="', 1)[1].split('"', 1)[0] for k in h.scrape(self.admin)
                    if k.startswith('llm_d_epp_request_running{') and 'fairness_id="' in k}

        before = overflow()
        for i in range(3):
            im = self.immediate(json.dumps({'model': 'no-such-model', 'prompt': 'x'}).encode(),
                                head_extra=[('x-gateway-inference-fairness-id', 'epp-refused-%d' % i)])
            self.assertEqual(im.status.code, 404)
        self.assertEqual(overflow(), before + 3)
        self.assertFalse(any(f.startswith('epp-refused-') for f in fairness_ids()))

        def decide(i):
            body = json.dumps({'model': MODEL, 'prompt': 'p', 'max_tokens': 1}).encode()
            s = h.ExtProcStream(self.address)
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body),
                                                            extra=[('x-gateway-inference-fairness-id', 'epp-t-%d' % i)])),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
            s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
            s.recv()
            s.responses.cancel()
            s.channel.close()

        for i in range(70):
            decide(i)
        ids = {f for f in fairness_ids() if f.startswith('epp-t-')}
        self.assertLessEqual(len(ids), 64)
        self.assertGreaterEqual(len(ids), 64 - len(fairness_ids() - ids))  # other tests' ids share the 64
        self.assertGreaterEqual(overflow(), before + 3 + 6)
        for sim in self.sim_addresses:
            self.await_inflight(sim, 0)

    def test_bad_json_is_400(self):
        im = self.immediate(b'{"model": ', mode=Mode.BUFFERED)
        self.assertEqual(im.status.code, 400)
        self.assertIn('error', json.loads(im.body))

    def test_body_over_the_limit_is_413(self):
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', BODY_LIMIT + 10)),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        chunk = b'x' * 16384
        sent = 0
        while sent <= BODY_LIMIT:  # chunks keep coming; the answer comes once the limit is passed
            s.send(request_body=ep.HttpBody(body=chunk, end_of_stream=False))
            sent += len(chunk)
        r = s.recv()
        self.assertEqual(r.immediate_response.status.code, 413)
        self.assertEqual(json.loads(r.immediate_response.body)['error']['code'], 'body_too_large')
        s.close()

    def test_one_message_over_the_grpc_limit_is_refused(self):
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', 4 << 20)),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
        s.recv()
        s.send(request_body=ep.HttpBody(body=b'x' * (4 << 20), end_of_stream=True))
        with self.assertRaises(h.grpc.RpcError) as caught:
            s.recv()
        self.assertEqual(caught.exception.code(), h.grpc.StatusCode.RESOURCE_EXHAUSTED)
        s.close()

    def test_too_many_or_too_large_headers_are_431(self):
        body = json.dumps({'model': MODEL, 'prompt': 'x'}).encode()
        for extra in ([('x-h-%d' % i, 'v') for i in range(300)], [('x-big', 'v' * 20000)]):
            s = h.ExtProcStream(self.address)
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body), extra=extra)),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
            r = s.recv()
            self.assertEqual(r.immediate_response.status.code, 431)
            self.assertEqual(s.close(), h.grpc.StatusCode.OK)

    def test_client_chosen_destination_is_overwritten(self):
        body = json.dumps({'model': MODEL, 'prompt': 'x', 'max_tokens': 1}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body),
                                                        extra=[('x-gateway-destination-endpoint', '10.9.9.9:1')])),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        (option,) = [o for o in r.request_headers.response.header_mutation.set_headers
                     if o.header.key == 'x-gateway-destination-endpoint']
        self.assertIn(option.header.raw_value.decode(), self.sim_addresses)
        self.assertEqual(option.append_action, h.base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD)
        s.close()

    def test_subset_hint_restricts_the_pick(self):
        # GAIE's EPP protocol: filter metadata envoy.lb.subset_hint lists the endpoints
        # the pick must come from; none eligible is a 503.
        chosen = sorted(self.sim_addresses)[1]
        body = json.dumps({'model': MODEL, 'prompt': 'subset', 'max_tokens': 1}).encode()

        def pick(subset):
            hint = h.struct_pb2.Struct()
            hint.update({'x-gateway-destination-endpoint-subset': subset})
            s = h.ExtProcStream(self.address)
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                   metadata_context=h.base_pb2.Metadata(filter_metadata={'envoy.lb.subset_hint': hint}),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
            s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
            r = s.recv()
            s.close()
            if r.HasField('immediate_response'):
                return r.immediate_response.status.code
            return h.header_map(r.request_headers.response.header_mutation)['x-gateway-destination-endpoint']

        for _ in range(8):  # two sims: a pick outside the hint would show within a few tries
            self.assertEqual(pick([chosen, '10.255.0.1:8000']), chosen)
        self.assertEqual(pick(['10.255.0.1:8000']), 503)
        self.assertEqual(pick([]), 503)

    def test_refused_requests_leave_no_inflight(self):
        # Issue 53: every request the EPP refuses itself (an immediate response: 404, 400,
        # 413, 431, 503 for an empty subset hint; or a gRPC error: RESOURCE_EXHAUSTED,
        # INVALID_ARGUMENT, UNIMPLEMENTED) leaves each endpoint's in-flight count where it
        # was, here while one picked request holds 1 (so the count is seen to move), and
        # at 0 once that one is done.
        self.assertEqual(set(h.inflight(self.admin).values()), {0})
        body = json.dumps({'model': MODEL, 'prompt': 'held', 'max_tokens': 1}).encode()
        held = h.ExtProcStream(self.address)
        held.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                  protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        held.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        dest = h.header_map(held.recv().request_headers.response.header_mutation)['x-gateway-destination-endpoint']
        while not held.recv().request_body.response.body_mutation.streamed_response.end_of_stream:
            pass
        self.await_inflight(dest, 1)
        self.addCleanup(held.close)  # closed below; here too if an assertion fails first (a second close is a no-op)
        for _ in range(3):
            self.test_unknown_model_is_404()
            self.test_bad_json_is_400()
            self.test_body_over_the_limit_is_413()
            self.test_too_many_or_too_large_headers_are_431()
            self.test_subset_hint_restricts_the_pick()  # 8 picks (released at once) and two 503s
            self.test_one_message_over_the_grpc_limit_is_refused()
            self.test_body_before_headers_is_invalid_argument()
            self.test_streamed_request_body_mode_is_unimplemented()
        # The subset picks are released as their streams close: wait for them, bounded.
        expected = {a: (1 if a == dest else 0) for a in self.sim_addresses}
        h.wait_for(lambda: h.inflight(self.admin) == expected, what='only the held request in flight')
        self.assertEqual(h.inflight(self.admin), expected)
        held.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
        self.assertEqual(held.recv().WhichOneof('response'), 'response_headers')
        self.assertEqual(held.close(), h.grpc.StatusCode.OK)
        idle = {a: IDLE_INFLIGHT for a in self.sim_addresses}
        try:
            h.wait_for(lambda: h.inflight(self.admin) == idle, what='in-flight %d everywhere' % IDLE_INFLIGHT)
        except Exception:
            pass
        self.assertEqual(h.inflight(self.admin), idle)

    # --- protocol misuse ends the stream with a gRPC error -------------------------------

    def test_body_before_headers_is_invalid_argument(self):
        s = h.ExtProcStream(self.address)
        s.send(request_body=ep.HttpBody(body=b'{}', end_of_stream=True))
        self.assertEqual(s.close(), h.grpc.StatusCode.INVALID_ARGUMENT)

    def test_streamed_request_body_mode_is_unimplemented(self):
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', 2)),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.STREAMED))
        self.assertEqual(s.close(), h.grpc.StatusCode.UNIMPLEMENTED)

    def test_stream_cancelled_after_the_pick_releases_in_flight(self):
        body = json.dumps({'model': MODEL, 'prompt': 'y', 'max_tokens': 1}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        dest = h.header_map(s.recv().request_headers.response.header_mutation)['x-gateway-destination-endpoint']
        self.await_inflight(dest, 1)
        s.responses.cancel()  # Envoy resets the stream (client went away)
        s.channel.close()
        self.await_inflight(dest, 0)

    # --- probes ---------------------------------------------------------------------------

    def test_grpc_health_on_both_ports(self):
        for address in (self.epp.info['eppHealth'], self.address):
            for service in ('', 'liveness', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor'):
                self.assertEqual(h.health_status(address, service), h.SERVING, (address, service))

    def test_grpc_health_unknown_service_and_watch(self):
        # Check: an unknown service is NOT_FOUND (the protocol's answer); Watch: the status
        # now, or SERVICE_UNKNOWN, and the stream stays open until the client goes.
        with self.assertRaises(h.grpc.RpcError) as e:
            h.health_status(self.address, 'no.such.Service')
        self.assertEqual(e.exception.code(), h.grpc.StatusCode.NOT_FOUND)
        watches = [h.HealthWatch(address, service)
                   for address in (self.epp.info['eppHealth'], self.address)
                   for service in ('inference-extension', 'no.such.Service')]
        try:
            h.wait_for(lambda: all(w.statuses for w in watches), what='a first status on every watch')
            self.assertEqual([w.statuses for w in watches], [[h.SERVING], [h.SERVICE_UNKNOWN]] * 2)
            time.sleep(0.3)  # ticks pass: nothing changed, nothing more is sent, the streams stay open
            self.assertEqual([len(w.statuses) for w in watches], [1] * 4)
            self.assertFalse(any(w.ended.is_set() for w in watches))
        finally:
            for w in watches:
                w.close()


class EppHealthWatchOnStop(unittest.TestCase):
    def test_a_watch_sees_not_serving_and_ends_when_the_epp_stops(self):
        sim = h.start_sim('--model', MODEL)
        epp = h.start_epp('--endpoint', sim.info['api'], '--drain-timeout-ms', '3000')
        try:
            h.wait_for(lambda: h.health_status(epp.info['eppHealth'], 'readiness') == h.SERVING, what='EPP ready')
            ready, live = h.HealthWatch(epp.info['eppHealth'], 'readiness'), h.HealthWatch(epp.info['eppHealth'], 'liveness')
            h.wait_for(lambda: ready.statuses and live.statuses, what='first statuses')
            started = time.monotonic()
            epp.proc.send_signal(15)
            self.assertTrue(ready.ended.wait(10) and live.ended.wait(10), 'the watches ended')
            # The change was sent before the stream ended with OK, well before the drain deadline.
            self.assertEqual((ready.statuses, ready.code), ([h.SERVING, h.NOT_SERVING], h.grpc.StatusCode.OK))
            self.assertEqual((live.statuses, live.code), ([h.SERVING], h.grpc.StatusCode.OK))
            self.assertLess(time.monotonic() - started, 1.5)
        finally:
            self.assertEqual(epp.stop(), 0)
            sim.stop()


class EppNotReady(unittest.TestCase):
    def test_health_is_not_serving_without_endpoints(self):
        # A pool whose only member refuses connections never becomes ready.
        epp = h.start_epp('--endpoint', '127.0.0.1:1')
        try:
            self.assertNotEqual(h.health_status(epp.info['eppHealth'], 'readiness'), h.SERVING)
            self.assertEqual(h.health_status(epp.info['eppHealth'], 'liveness'), h.SERVING)
            # No endpoint: held for one (issue 66; tests/epp/ext_proc_hold.py), counted as queued,
            # and gone from the hold once the Gateway cancels the stream.
            body = json.dumps({'model': MODEL, 'prompt': 'x'}).encode()
            s = h.ExtProcStream(epp.info['epp'])
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
            s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))

            def queued():
                return sum(v for k, v in h.scrape(epp.info['admin']).items()
                           if k.startswith('llm_d_epp_flow_control_queue_size{'))
            h.wait_for(lambda: queued() == 1, what='the request held')
            s.responses.cancel()
            h.wait_for(lambda: queued() == 0, what='the hold empty again')
            s.channel.close()
        finally:
            self.assertEqual(epp.stop(), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
