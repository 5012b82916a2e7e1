"""Issue 66 in EPP mode: a request for a model with no ready server holds its ext-proc stream
(nothing sent on it) until a server appears, then gets its pick in priority order, paced by
the saturation detector; the wait's end is an ImmediateResponse with the gateway's status,
OpenAI JSON body and its header lines: 503 + x-llm-d-request-dropped-reason:
rejected-no-endpoints + Retry-After when no server came (or the holding bounds are full,
at once), 429 rejected-ttl-expired when one came but stayed saturated. A stream the Gateway
cancels leaves the hold at once; held streams count in llm_d_epp_flow_control_queue_size.
The pool "starts empty" as a static pool can (127.0.0.1:1 never answers); a SIGHUP with the
file rewritten brings the sim in. Driven as Envoy drives the EPP, against a real sim."""
import json
import os
import queue
import signal
import threading
import time
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'
SCALE = max(1.0, float(os.environ.get('RINGGATE_TEST_TIME_SCALE') or 1))


def config_text(endpoints, flow):
    return '''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool: {name: vllm, discovery: {static: [%s]}}
%s
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: high}
spec: {priority: 10}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: mid}
spec: {priority: 5}
''' % (', '.join('"%s"' % e for e in endpoints), flow)


def start_epp(path):
    return h.Proc([h.RINGGATE, '--config', path, '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
                   '--admin', '127.0.0.1:0', '--workers', '1', '--secure-serving=false'])


def held_count(admin):
    return sum(v for k, v in h.scrape(admin).items() if k.startswith('llm_d_epp_flow_control_queue_size{'))


class HeldStream:
    """One duplex ext-proc stream whose body is complete; its first answer is read on a
    thread (put on `answers` as (tag, monotonic time, response or grpc error))."""

    def __init__(self, address, tag, answers, objective=None, tenant=None, prompt='hello'):
        self.tag = tag
        self.body = json.dumps({'model': MODEL, 'prompt': '%s %s' % (prompt, tag), 'max_tokens': 2}).encode()
        extra = []
        if objective:
            extra.append(('x-gateway-inference-objective', objective))
        if tenant:
            extra.append(('x-gateway-inference-fairness-id', tenant))
        self.s = h.ExtProcStream(address)
        self.s.send(request_headers=h.headers(h.request_head('/v1/completions', len(self.body), extra=extra)),
                    protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        self.s.send(request_body=ep.HttpBody(body=self.body, end_of_stream=True))
        self.thread = threading.Thread(target=self._first, args=(answers,), daemon=True)
        self.thread.start()

    def _first(self, answers):
        try:
            r = self.s.recv()
        except Exception as e:  # noqa: BLE001 (a cancelled stream)
            r = e
        answers.put((self.tag, time.monotonic(), r))

    def finish(self, dest):
        """What Envoy does with the pick: the body streams back, the request goes to `dest`,
        the response is reported to the EPP, the stream ends (its in-flight slot freed)."""
        while not self.s.recv().request_body.response.body_mutation.streamed_response.end_of_stream:
            pass
        conn, resp = h.send_to(dest, '/v1/completions', self.body)
        data = resp.read()
        conn.close()
        self.s.send(response_headers=h.headers([(':status', str(resp.status)), ('content-type', 'application/json')]))
        self.s.recv()
        self.s.send(response_body=ep.HttpBody(body=data, end_of_stream=True))
        self.s.close()
        return resp.status


def immediate_headers(r):
    return h.header_map(r.immediate_response.headers)


class EppHold(unittest.TestCase):
    procs = []

    def epp(self, flow, endpoints=('127.0.0.1:1',)):
        path = h.write_config(config_text(endpoints, flow))
        epp = start_epp(path)
        self.addCleanup(lambda: self.assertEqual(epp.stop(), 0, epp.stderr()))
        return epp, path

    def test_held_through_a_cold_start_and_released_in_priority_order(self):
        # maxConcurrency 1: one released per slot freed, so the order the test reads is the
        # order the EPP released them in (two released in one cycle would race to the test).
        flow = 'flowControl: {noEndpointRequestTTL: 60s}\nsaturationDetector: {maxConcurrency: 1}'
        epp, path = self.epp(flow)
        answers = queue.Queue()
        objectives = ['high', 'mid', None]
        streams = {}
        for i in range(12):
            streams[i] = HeldStream(epp.info['epp'], i, answers, objective=objectives[i % 3],
                                    tenant='a' if i % 4 < 2 else 'b')
        h.wait_for(lambda: held_count(epp.info['admin']) == 12, timeout=10 * SCALE, what='12 streams held')
        self.assertTrue(answers.empty(), 'a held stream was answered with no server')
        sim = h.start_sim('--max-num-seqs', '1')
        self.addCleanup(sim.stop)
        released = time.monotonic()
        with open(path, 'w') as f:
            f.write(config_text([sim.info['api']], flow))
        epp.proc.send_signal(signal.SIGHUP)
        order = []
        for _ in range(12):
            tag, at, r = answers.get(timeout=30 * SCALE)
            self.assertGreaterEqual(at, released, 'answered before the server came')
            self.assertEqual(r.WhichOneof('response'), 'request_headers', r)
            dest = h.header_map(r.request_headers.response.header_mutation)['x-gateway-destination-endpoint']
            self.assertEqual(dest, sim.info['api'])
            order.append(objectives[tag % 3] or 'none')
            self.assertEqual(streams[tag].finish(dest), 200)
        # One at a time, highest priority first (fairness between the tenants within a band).
        self.assertEqual(order, ['high'] * 4 + ['mid'] * 4 + ['none'] * 4)
        h.wait_for(lambda: held_count(epp.info['admin']) == 0, what='queue gauge back to 0')
        self.assertEqual(set(h.inflight(epp.info['admin']).values()), {0})

    def test_no_server_within_the_ttl_is_503_rejected_no_endpoints(self):
        epp, _ = self.epp('flowControl: {noEndpointRequestTTL: 2s}')
        answers = queue.Queue()
        t0 = time.monotonic()
        for i in range(3):
            HeldStream(epp.info['epp'], i, answers)
        for _ in range(3):
            _, at, r = answers.get(timeout=10 * SCALE)
            self.assertEqual(r.WhichOneof('response'), 'immediate_response', r)
            self.assertEqual(r.immediate_response.status.code, 503)
            got = immediate_headers(r)
            self.assertEqual(got.get('x-llm-d-request-dropped-reason'), 'rejected-no-endpoints', got)
            self.assertEqual(got.get('retry-after'), '1', got)
            self.assertNotIn('content-length', got)
            self.assertEqual(json.loads(r.immediate_response.body)['error']['code'], 'no_endpoint')
            self.assertGreaterEqual(at - t0, 2.0 - 0.01)
            self.assertLessEqual(at - t0, 2.0 + 0.5 * SCALE)
        h.wait_for(lambda: held_count(epp.info['admin']) == 0, what='queue gauge back to 0')

    def test_holding_bounds_full_is_503_at_once_with_the_reason(self):
        # maxRequests 2: two held (N), the third refused at once (N+1), headers and all.
        epp, _ = self.epp('flowControl: {noEndpointRequestTTL: 60s, maxRequests: 2}')
        answers = queue.Queue()
        held = [HeldStream(epp.info['epp'], i, answers) for i in range(2)]
        h.wait_for(lambda: held_count(epp.info['admin']) == 2, what='two held')
        HeldStream(epp.info['epp'], 2, answers)
        tag, _, r = answers.get(timeout=5 * SCALE)
        self.assertEqual(tag, 2)
        self.assertEqual(r.immediate_response.status.code, 503)
        got = immediate_headers(r)
        self.assertEqual(got.get('x-llm-d-request-dropped-reason'), 'rejected-no-endpoints', got)
        self.assertEqual(got.get('retry-after'), '1', got)
        self.assertTrue(answers.empty())
        for s in held:  # cancelled, as a Gateway whose client went away (a drain would wait for them)
            s.s.responses.cancel()
        h.wait_for(lambda: held_count(epp.info['admin']) == 0, what='the hold empty again')

    def test_a_server_that_stays_saturated_is_429_rejected_ttl_expired(self):
        # maxConcurrency 1: of two held streams, the first picked keeps the slot (its
        # response never ends); the second saw a server, saturated, until its TTL ran out.
        flow = 'flowControl: {noEndpointRequestTTL: 3s}\nsaturationDetector: {maxConcurrency: 1}'
        epp, path = self.epp(flow)
        answers = queue.Queue()
        streams = [HeldStream(epp.info['epp'], i, answers) for i in range(2)]
        h.wait_for(lambda: held_count(epp.info['admin']) == 2, what='two held')
        sim = h.start_sim()
        self.addCleanup(sim.stop)
        with open(path, 'w') as f:
            f.write(config_text([sim.info['api']], flow))
        epp.proc.send_signal(signal.SIGHUP)
        first_tag, _, first = answers.get(timeout=10 * SCALE)
        self.assertEqual(first.WhichOneof('response'), 'request_headers', first)
        _, _, second = answers.get(timeout=10 * SCALE)
        self.assertEqual(second.immediate_response.status.code, 429, second)
        got = immediate_headers(second)
        self.assertEqual(got.get('x-llm-d-request-dropped-reason'), 'rejected-ttl-expired', got)
        self.assertEqual(got.get('retry-after'), '1', got)
        self.assertEqual(json.loads(second.immediate_response.body)['error']['code'], 'queue_timeout')
        streams[first_tag].s.close()

    def test_a_cancelled_stream_leaves_the_hold_at_once(self):
        epp, _ = self.epp('flowControl: {noEndpointRequestTTL: 60s}')
        answers = queue.Queue()
        s = HeldStream(epp.info['epp'], 0, answers)
        h.wait_for(lambda: held_count(epp.info['admin']) == 1, what='one held')
        s.s.responses.cancel()
        h.wait_for(lambda: held_count(epp.info['admin']) == 0, timeout=2 * SCALE, what='the hold empty again')
        s.s.channel.close()


if __name__ == '__main__':
    unittest.main(verbosity=2)
