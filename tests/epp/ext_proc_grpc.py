"""Issue 68: gRPC's own semantics on the ext-proc port, now served from ringgate's rings
over its HTTP/2 layer: a grpc-timeout the decision does not meet ends the stream
DEADLINE_EXCEEDED (from the server: a raw HTTP/2 client, which has no deadline of its own,
hears it); a malformed message is INVALID_ARGUMENT on its stream only; an unknown method
is UNIMPLEMENTED; a cancel mid-stream releases the in-flight count (/metrics); 1,000
ext-proc streams at once on one connection (grpc.aio) all get their pick; PINGs are
answered; on SIGTERM the open streams finish after GOAWAY and a Watch on the ext-proc port
sees NOT_SERVING. grpcio clients, as in the other EPP tests, against a real sim."""
import asyncio
import json
import os
import socket
import time
import unittest

import grpc.aio  # noqa: F401 (h.grpc.aio)
import h2.config
import h2.connection
import h2.events

import epp_harness as h
from epp_harness import ep, ep_grpc, Mode

MODEL = 'facebook/opt-125m'
PROCESS = '/envoy.service.ext_proc.v3.ExternalProcessor/Process'
SCALE = max(1.0, float(os.environ.get('RINGGATE_TEST_TIME_SCALE') or 1))
STREAMS = 1000


def body_of(prompt):
    return json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 1}).encode()


def first_messages(body):
    """A duplex request's headers and whole body, as Envoy sends them."""
    return [ep.ProcessingRequest(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                                 protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED)),
            ep.ProcessingRequest(request_body=ep.HttpBody(body=body, end_of_stream=True))]


def framed(message):
    data = message.SerializeToString()
    return b'\0' + len(data).to_bytes(4, 'big') + data


class RawH2:
    """A bare HTTP/2 client (python3-h2) on one plain-text connection: it sends what it is
    told and reports what comes back, with no deadline or retry of its own."""

    def __init__(self, address):
        host, port = address.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10 * SCALE)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding='utf-8'))
        self.conn.initiate_connection()
        self.flush()
        self.streams = {}  # id -> {'headers', 'data', 'trailers', 'ended', 'reset'}
        self.pings = 0

    def flush(self):
        self.sock.sendall(self.conn.data_to_send())

    def open(self, path, messages, extra=(), end=False):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(':method', 'POST'), (':scheme', 'http'), (':path', path),
                                     (':authority', 'epp'), ('content-type', 'application/grpc'), ('te', 'trailers'),
                                     *extra])
        payload = b''.join(framed(m) for m in messages)
        self.conn.send_data(sid, payload, end_stream=end)
        self.streams[sid] = {'headers': None, 'data': b'', 'trailers': None, 'ended': None, 'reset': None}
        self.flush()
        return sid

    def pump(self, until, timeout):
        deadline = time.monotonic() + timeout * SCALE
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not data:
                return until()
            for event in self.conn.receive_data(data):
                s = self.streams.get(getattr(event, 'stream_id', None))
                if isinstance(event, h2.events.ResponseReceived):
                    s['headers'] = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    s['data'] += event.data
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    s['trailers'] = dict(event.headers)
                elif isinstance(event, h2.events.StreamEnded):
                    s['ended'] = time.monotonic()
                elif isinstance(event, h2.events.StreamReset):
                    s['reset'] = event.error_code
                elif isinstance(event, h2.events.PingAckReceived):
                    self.pings += 1
            self.flush()
        return True

    def status(self, sid):
        s = self.streams[sid]
        fields = s['trailers'] or s['headers'] or {}
        return fields.get('grpc-status')

    def close(self):
        self.sock.close()


def running(admin):
    return sum(v for k, v in h.scrape(admin).items() if k.startswith('llm_d_epp_request_running{'))


def held(admin):
    return sum(v for k, v in h.scrape(admin).items() if k.startswith('llm_d_epp_flow_control_queue_size{'))


class GrpcOnTheRing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.start_sim('--model', MODEL)
        cls.epp = h.start_epp('--endpoint', cls.sim.info['api'], '--workers', '2')
        cls.address, cls.admin = cls.epp.info['epp'], cls.epp.info['admin']
        h.wait_for(lambda: h.health_status(cls.epp.info['eppHealth'], 'readiness') == h.SERVING, what='EPP ready')

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        cls.sim.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def test_a_decision_within_its_deadline_is_answered_and_pings_are_answered(self):
        raw = RawH2(self.address)
        try:
            sid = raw.open(PROCESS, first_messages(body_of('in time')), extra=[('grpc-timeout', '5S')])
            raw.conn.ping(b'ringgate')
            raw.flush()
            self.assertTrue(raw.pump(lambda: len(raw.streams[sid]['data']) > 0 and raw.pings == 1, 5))
            self.assertIsNone(raw.status(sid))  # picked, not ended: the deadline is not the decision's
            response = ep.ProcessingResponse.FromString(raw.streams[sid]['data'][5:5 + int.from_bytes(
                raw.streams[sid]['data'][1:5], 'big')])
            self.assertEqual(h.header_map(response.request_headers.response.header_mutation)[
                'x-gateway-destination-endpoint'], self.sim.info['api'])
        finally:
            raw.close()
        h.wait_for(lambda: running(self.admin) == 0, what='the stream gone with its connection')

    def test_malformed_message_is_invalid_argument_on_its_stream_only(self):
        channel = h.grpc.insecure_channel(self.address)
        try:
            good = h.ExtProcStream(self.address, channel=channel)
            for m in first_messages(body_of('good')):
                good.outbox.put(m)
            pick = good.recv()
            self.assertTrue(pick.HasField('request_headers'))
            # On the same channel (one HTTP/2 connection): a message that is not a ProcessingRequest
            # (field 1 with wire type 7).
            process = channel.stream_stream(PROCESS, request_serializer=None, response_deserializer=None)
            with self.assertRaises(h.grpc.RpcError) as e:
                for _ in process(iter([b'\x0f\x00']), timeout=10):
                    pass
            self.assertEqual(e.exception.code(), h.grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn('malformed', e.exception.details())
            # The first stream goes on: its body echoed, the response observed, a clean end.
            self.assertTrue(good.recv().HasField('request_body'))
            good.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
            self.assertTrue(good.recv().HasField('response_headers'))
            good.send(response_body=ep.HttpBody(body=b'{}', end_of_stream=True))
            good.recv()
            self.assertEqual(good.close(), h.grpc.StatusCode.OK)
        finally:
            channel.close()

    def test_a_message_cut_by_the_end_of_its_stream_is_invalid_argument(self):
        raw = RawH2(self.address)
        try:
            sid = raw.conn.get_next_available_stream_id()
            raw.conn.send_headers(sid, [(':method', 'POST'), (':scheme', 'http'), (':path', PROCESS),
                                        (':authority', 'epp'), ('content-type', 'application/grpc')])
            raw.conn.send_data(sid, b'\0\0\0\0\x10abc', end_stream=True)  # 16 bytes announced, 3 sent
            raw.streams[sid] = {'headers': None, 'data': b'', 'trailers': None, 'ended': None, 'reset': None}
            raw.flush()
            self.assertTrue(raw.pump(lambda: raw.streams[sid]['ended'], 5))
            self.assertEqual(raw.status(sid), '3')
        finally:
            raw.close()

    def test_unknown_method_is_unimplemented(self):
        with h.grpc.insecure_channel(self.address) as channel:
            for method in ('/envoy.service.ext_proc.v3.ExternalProcessor/Nope', '/grpc.health.v1.Health/List',
                           '/no.Such/Method'):
                call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
                with self.assertRaises(h.grpc.RpcError) as e:
                    call(b'', timeout=10)
                self.assertEqual(e.exception.code(), h.grpc.StatusCode.UNIMPLEMENTED, method)
            # The connection still serves the methods it knows.
            self.assertEqual(h.health_pb2_grpc.HealthStub(channel).Check(h.health_pb2.HealthCheckRequest(),
                                                                         timeout=10).status, h.SERVING)

    def test_cancel_mid_stream_brings_the_running_gauge_back_to_zero(self):
        h.wait_for(lambda: running(self.admin) == 0, what='nothing running')
        s = h.ExtProcStream(self.address)
        for m in first_messages(body_of('cancelled')):
            s.outbox.put(m)
        self.assertTrue(s.recv().HasField('request_headers'))
        h.wait_for(lambda: running(self.admin) == 1, what='the decision running')
        s.responses.cancel()  # RST_STREAM mid-stream, the response never came
        # The connection stays open: the stream's own reset releases it.
        h.wait_for(lambda: running(self.admin) == 0, what='the running gauge back to 0')
        self.assertEqual(h.health_pb2_grpc.HealthStub(s.channel).Check(h.health_pb2.HealthCheckRequest(),
                                                                       timeout=10).status, h.SERVING)
        s.channel.close()

    def test_processing_durations_as_llm_d_has_them(self):
        def counts():
            m = h.scrape(self.admin)
            return (m.get('llm_d_epp_request_processing_duration_seconds_count', 0),
                    m.get('llm_d_epp_response_processing_duration_seconds_count', 0), m)
        h.wait_for(lambda: running(self.admin) == 0, what='nothing running')
        requests, responses, _ = counts()
        s = h.ExtProcStream(self.address)
        for m in first_messages(body_of('timed')):
            s.outbox.put(m)
        self.assertTrue(s.recv().HasField('request_headers'))
        self.assertTrue(s.recv().HasField('request_body'))
        self.assertEqual(counts()[:2], (requests + 1, responses))  # the pick: the request's part is done
        s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
        s.recv()
        s.send(response_body=ep.HttpBody(body=b'{}', end_of_stream=True))
        s.recv()
        self.assertEqual(s.close(), h.grpc.StatusCode.OK)
        after_requests, after_responses, m = counts()
        self.assertEqual((after_requests, after_responses), (requests + 1, responses + 1))
        # llm-d's buckets, unlabelled.
        self.assertIn('llm_d_epp_request_processing_duration_seconds_bucket{le="0.0005"}', m)
        self.assertIn('llm_d_epp_request_processing_duration_seconds_bucket{le="10"}', m)
        self.assertIn('llm_d_epp_response_processing_duration_seconds_bucket{le="0.0001"}', m)
        self.assertIn('llm_d_epp_response_processing_duration_seconds_bucket{le="5"}', m)

    def test_thousand_concurrent_streams_on_one_connection(self):
        async def run():
            async with h.grpc.aio.insecure_channel(self.address) as channel:
                stub = ep_grpc.ExternalProcessorStub(channel)
                picked = asyncio.Event()
                picks = []

                async def one(i):
                    call = stub.Process(timeout=60 * SCALE)
                    for m in first_messages(body_of('stream %d' % i)):
                        await call.write(m)
                    first = await call.read()
                    picks.append(h.header_map(first.request_headers.response.header_mutation)[
                        'x-gateway-destination-endpoint'])
                    if len(picks) == STREAMS:
                        picked.set()
                    await picked.wait()  # every stream is open (and decided) at once
                    await call.done_writing()
                    while await call.read() != h.grpc.aio.EOF:
                        pass
                    return await call.code()
                codes = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(STREAMS))), 120 * SCALE)
                return codes, picks
        codes, picks = asyncio.run(run())
        self.assertEqual(len(picks), STREAMS)
        self.assertEqual(set(picks), {self.sim.info['api']})
        self.assertEqual(set(codes), {h.grpc.StatusCode.OK})
        h.wait_for(lambda: running(self.admin) == 0, what='every decision released')


class GrpcFirstStream(unittest.TestCase):
    def test_a_connection_that_opens_no_stream_in_the_header_timeout_is_closed(self):
        epp = h.start_epp('--endpoint', '127.0.0.1:1', '--header-timeout-ms', '300')
        try:
            host, port = epp.info['epp'].rsplit(':', 1)
            silent = socket.create_connection((host, int(port)), timeout=5 * SCALE)
            watch = h.HealthWatch(epp.info['epp'], 'liveness')  # a stream opened at once: kept
            h.wait_for(lambda: watch.statuses, what='the watch answered')
            started = time.monotonic()
            while silent.recv(4096):  # the server's SETTINGS, then EOF (a timeout raises)
                pass
            self.assertLess(time.monotonic() - started, 3 * SCALE)
            time.sleep(0.4)  # past the timeout for the watch's connection too (a bound, not a settle)
            self.assertFalse(watch.ended.is_set())
            watch.close()
            silent.close()
        finally:
            self.assertEqual(epp.stop(), 0)


class GrpcDeadline(unittest.TestCase):
    """No server is ever ready (127.0.0.1:1): a decision waits in the hold until its
    deadline, which the server keeps."""

    def test_a_held_stream_past_its_grpc_timeout_is_deadline_exceeded_from_the_server(self):
        epp = h.start_epp('--endpoint', '127.0.0.1:1', '--workers', '1')
        raw = RawH2(epp.info['epp'])
        try:
            started = time.monotonic()
            sid = raw.open(PROCESS, first_messages(body_of('held')), extra=[('grpc-timeout', '300m')])
            other = raw.open(PROCESS, first_messages(body_of('held too')))  # no deadline: stays held
            h.wait_for(lambda: held(epp.info['admin']) == 2, what='both held')
            # Answered within 2 s (x the time scale) of its 300 ms: a deadline missed by seconds fails.
            self.assertTrue(raw.pump(lambda: raw.streams[sid]['ended'] is not None, 2))
            elapsed = raw.streams[sid]['ended'] - started
            self.assertEqual(raw.status(sid), '4', raw.streams[sid])
            self.assertGreaterEqual(elapsed, 0.3)  # not before its deadline (and pump() bounds how late)
            self.assertIsNone(raw.streams[other]['ended'])
            h.wait_for(lambda: held(epp.info['admin']) == 1, what='the expired one out of the hold')
        finally:
            raw.close()
            self.assertEqual(epp.stop(), 0)


class GrpcDrain(unittest.TestCase):
    def test_on_sigterm_open_streams_finish_and_a_watch_on_the_ext_proc_port_sees_not_serving(self):
        sim = h.start_sim('--model', MODEL)
        epp = h.start_epp('--endpoint', sim.info['api'], '--drain-timeout-ms', '5000')
        try:
            h.wait_for(lambda: h.health_status(epp.info['eppHealth'], 'readiness') == h.SERVING, what='EPP ready')
            watch = h.HealthWatch(epp.info['epp'], 'inference-extension')
            h.wait_for(lambda: watch.statuses, what='a first status')
            s = h.ExtProcStream(epp.info['epp'])
            for m in first_messages(body_of('draining')):
                s.outbox.put(m)
            self.assertTrue(s.recv().HasField('request_headers'))
            epp.proc.send_signal(15)
            self.assertTrue(watch.ended.wait(10 * SCALE), 'the watch ended')
            self.assertEqual((watch.statuses, watch.code), ([h.SERVING, h.NOT_SERVING], h.grpc.StatusCode.OK))
            # The open stream finishes its exchange after GOAWAY.
            self.assertTrue(s.recv().HasField('request_body'))
            s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
            self.assertTrue(s.recv().HasField('response_headers'))
            s.send(response_body=ep.HttpBody(body=b'{}', end_of_stream=True))
            s.recv()
            self.assertEqual(s.close(), h.grpc.StatusCode.OK)
            self.assertEqual(epp.proc.wait(10 * SCALE), 0)
        finally:
            epp.stop()
            sim.stop()


if __name__ == '__main__':
    unittest.main(verbosity=2)
