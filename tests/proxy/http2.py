"""Issue 67: HTTP/2 to clients. Real clients (curl with prior knowledge and over TLS,
httpx with http2=True) against real ringgate and ringgate-sim processes; raw frames (Debian's
python3-h2: hyperframe and hpack) for RFC 9113's rules and each bound of listen.http2, each
showing the bound's answer, its counter, and the other streams going on."""
import asyncio
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import procs as p  # noqa: E402

import hpack  # noqa: E402
import httpx  # noqa: E402
from hyperframe import frame as hf  # noqa: E402

MODEL = 'facebook/opt-125m'
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = \
    0, 1, 3, 5, 7, 8, 11


def gateway_config(sim, http2='', extra=''):
    return p.write_config('apiVersion: ringgate.io/v1\nkind: Gateway\n'
                          'pool:\n  discovery:\n    static: ["%s"]\n' % sim.info['api']
                          + ('listen:\n  http2:\n' + http2 if http2 else '') + extra)


def start(sim, http2='', extra='', *flags):
    return p.Proc([p.RINGGATE, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1',
                   '--config', gateway_config(sim, http2, extra), *flags])


def metric(admin, series):
    text = p.http_get('http://%s/metrics' % admin)
    m = re.search(r'^%s (\S+)$' % re.escape(series), text, re.M)
    return float(m.group(1)) if m else None


def body_of(prompt, max_tokens=4, stream=False):
    return json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': max_tokens, 'stream': stream}).encode()


class Raw:
    """One HTTP/2 connection spoken frame by frame."""

    def __init__(self, address, settings=True):
        host, port = address.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buf = b''
        self.kept = []  # frames read ahead of the stream they belong to
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        if settings:
            self.sock.sendall(PREFACE + hf.SettingsFrame(0).serialize())

    def send(self, *frames):
        self.sock.sendall(b''.join(f.serialize() if hasattr(f, 'serialize') else f for f in frames))

    def head_block(self, path='/v1/completions', method='POST', extra=()):
        return self.encoder.encode([(':method', method), (':scheme', 'http'), (':path', path),
                                    (':authority', 'localhost'), ('content-type', 'application/json'), *extra])

    def request(self, sid, body=b'', path='/v1/completions', method='POST', extra=(), end=True):
        h = hf.HeadersFrame(sid, data=self.head_block(path, method, extra))
        h.flags.add('END_HEADERS')
        if not body and end:
            h.flags.add('END_STREAM')
        frames = [h]
        if body:
            d = hf.DataFrame(sid, data=body)
            if end:
                d.flags.add('END_STREAM')
            frames.append(d)
        self.send(*frames)

    def frame(self, timeout=10):
        """The next frame from the server (None: the connection closed)."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 9:
                f, length = hf.Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) >= 9 + length:
                    f.parse_body(memoryview(self.buf[9:9 + length]))
                    self.buf = self.buf[9 + length:]
                    if isinstance(f, hf.SettingsFrame) and 'ACK' not in f.flags:
                        self.send(hf.SettingsFrame(0, flags=['ACK']))
                    if isinstance(f, hf.HeadersFrame):  # in arrival order: HPACK's table is the connection's
                        f.fields = self.decoder.decode(f.data)
                        f.decoded = dict(f.fields)
                    return f
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def until(self, want, timeout=10):
        """Frames until `want(frame)` holds: returns that frame and the frames before it. Frames
        it passes over are kept for the next call (another stream's, read ahead)."""
        seen = []
        for i, f in enumerate(self.kept):
            if want(f):
                del self.kept[i]
                return f, seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.frame(max(0.1, deadline - time.monotonic()))
            if f is None:
                return None, seen
            if want(f):
                return f, seen
            seen.append(f)
            self.kept.append(f)
        return None, seen

    def answer(self, sid, timeout=15):
        """A stream's answer: (status, body, reset code or None)."""
        status, body = None, b''
        while True:
            f, _ = self.until(lambda x: x.stream_id == sid or isinstance(x, hf.GoAwayFrame), timeout)
            if f is None or isinstance(f, hf.GoAwayFrame):
                return status, body, 'goaway' if f is not None else 'closed'
            if isinstance(f, hf.RstStreamFrame):
                return status, body, f.error_code
            if isinstance(f, hf.HeadersFrame) and status is None:
                status = int(f.decoded[':status'])
            if isinstance(f, hf.DataFrame):
                body += f.data
                if f.data and 'END_STREAM' not in f.flags:  # keep the windows open
                    try:
                        self.send(hf.WindowUpdateFrame(0, window_increment=len(f.data)),
                                  hf.WindowUpdateFrame(sid, window_increment=len(f.data)))
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # a draining gateway may have closed: what it sent is still read
            if 'END_STREAM' in f.flags:
                return status, body, None

    def close(self):
        self.sock.close()


def goaway(raw, timeout=10):
    f, _ = raw.until(lambda x: isinstance(x, hf.GoAwayFrame), timeout)
    return f


class Http2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = p.start_sim('--model', MODEL, '--mode', 'echo', '--inter-token-latency-ms', '5')
        cls.gw = start(cls.sim)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def api(self):
        return self.gw.info['api']

    def test_curl_prior_knowledge(self):
        for stream in (False, True):
            out = subprocess.run(['curl', '-s', '--http2-prior-knowledge', '-w', '\n%{http_version} %{http_code}',
                                  '-H', 'content-type: application/json', '-d', body_of('hello there', 3, stream),
                                  'http://%s/v1/completions' % self.api()], capture_output=True, check=True, text=True)
            text, _, tail = out.stdout.rpartition('\n')
            self.assertEqual(tail, '2 200', out.stdout)
            if stream:
                self.assertTrue(text.rstrip().endswith('data: [DONE]'), text)
            else:
                self.assertEqual(json.loads(text)['choices'][0]['text'], 'hello there')
        # HTTP/1.1 on the same port still works.
        out = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_version}', '-d', body_of('x', 1),
                              '-H', 'content-type: application/json', 'http://%s/v1/completions' % self.api()],
                             capture_output=True, check=True, text=True)
        self.assertEqual(out.stdout, '1.1')

    def test_httpx_100_streams_on_one_connection_token_exact(self):
        prompts = ['prompt number %d says %s' % (i, 'word ' * (i % 7)) for i in range(100)]

        async def run(http2):
            async with httpx.AsyncClient(http2=http2, http1=not http2, timeout=60,
                                         limits=httpx.Limits(max_connections=1 if http2 else 100)) as client:
                async def one(prompt):
                    text = ''
                    req = {'model': MODEL, 'stream': True, 'max_tokens': 12,
                           'messages': [{'role': 'user', 'content': prompt}]}
                    async with client.stream('POST', 'http://%s/v1/chat/completions' % self.api(), json=req) as r:
                        self.assertEqual(r.status_code, 200)
                        if http2:
                            self.assertEqual(r.http_version, 'HTTP/2')
                        async for line in r.aiter_lines():
                            if line.startswith('data: {'):
                                for choice in json.loads(line[6:])['choices']:
                                    text += choice['delta'].get('content') or ''
                    return text
                return await asyncio.gather(*(one(x) for x in prompts))

        admin = self.gw.info['admin']
        connections = metric(admin, 'ringgate_http2_connections_total') or 0
        streams = metric(admin, 'ringgate_http2_streams_total') or 0
        over_h2 = asyncio.run(run(True))
        over_h1 = asyncio.run(run(False))
        self.assertEqual(over_h2, over_h1)
        self.assertTrue(all(over_h2), 'every stream had tokens')
        self.assertEqual(metric(admin, 'ringgate_http2_connections_total') - connections, 1)
        self.assertEqual(metric(admin, 'ringgate_http2_streams_total') - streams, 100)

    def test_preface_and_settings_ack(self):
        raw = Raw(self.api())
        f, _ = raw.until(lambda x: isinstance(x, hf.SettingsFrame) and 'ACK' not in x.flags)
        self.assertIsNotNone(f, 'the server SETTINGS')
        self.assertEqual(f.settings.get(hf.SettingsFrame.MAX_CONCURRENT_STREAMS), 100)
        self.assertEqual(f.settings.get(hf.SettingsFrame.INITIAL_WINDOW_SIZE), 2 << 20)
        ack, _ = raw.until(lambda x: isinstance(x, hf.SettingsFrame) and 'ACK' in x.flags)
        self.assertIsNotNone(ack, 'our SETTINGS acknowledged')
        raw.close()

    def test_not_a_preface_is_read_as_http11(self):
        # A client that starts like the preface but is not is an HTTP/1.1 client (400 here).
        host, port = self.api().rsplit(':', 1)
        s = socket.create_connection((host, int(port)))
        s.sendall(b'PRI * HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertTrue(s.recv(100).startswith(b'HTTP/1.1 4'))
        s.close()

    def test_even_stream_id_is_a_connection_error(self):
        raw = Raw(self.api())
        raw.request(2, body_of('x'))
        f = goaway(raw)
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, PROTOCOL_ERROR)
        raw.close()

    def test_stream_id_reused_is_a_connection_error(self):
        raw = Raw(self.api())
        raw.request(5, body_of('x'))
        self.assertEqual(raw.answer(5)[0], 200)
        raw.request(3, body_of('y'))  # lower than one already used
        f = goaway(raw)
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, PROTOCOL_ERROR)
        raw.close()

    def test_frame_on_a_closed_stream(self):
        raw = Raw(self.api())
        raw.request(1, body_of('x'))
        self.assertEqual(raw.answer(1)[0], 200)
        d = hf.DataFrame(1, data=b'more')
        d.flags.add('END_STREAM')
        raw.send(d)
        f, _ = raw.until(lambda x: isinstance(x, (hf.RstStreamFrame, hf.GoAwayFrame)))
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, STREAM_CLOSED)
        raw.close()
        self.assertEqual(subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                                         '--http2-prior-knowledge', 'http://%s/v1/models' % self.api()],
                                        capture_output=True, text=True).stdout, '200')

    def test_window_overflow(self):
        raw = Raw(self.api())
        long = json.dumps({'model': MODEL, 'prompt': 'x', 'max_tokens': 400, 'stream': True, 'ignore_eos': True})
        raw.request(1, long.encode())  # still answering when the update comes
        raw.send(hf.WindowUpdateFrame(1, window_increment=2 ** 31 - 1))
        f, _ = raw.until(lambda x: isinstance(x, (hf.RstStreamFrame, hf.GoAwayFrame)) and x.error_code != NO_ERROR)
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, FLOW_CONTROL_ERROR)
        raw.close()
        raw = Raw(self.api())
        raw.send(hf.WindowUpdateFrame(0, window_increment=2 ** 31 - 1))
        f = goaway(raw)
        self.assertEqual(f.error_code, FLOW_CONTROL_ERROR)
        raw.close()

    def test_header_block_over_continuation_and_trailers(self):
        raw = Raw(self.api())
        block = raw.head_block()
        h = hf.HeadersFrame(1, data=block[:5])
        c1 = hf.ContinuationFrame(1, data=block[5:10])
        c2 = hf.ContinuationFrame(1, data=block[10:])
        c2.flags.add('END_HEADERS')
        raw.send(h, c1, c2, hf.DataFrame(1, data=body_of('split head')))
        trailers = hf.HeadersFrame(1, data=raw.encoder.encode([('x-trailer', 'yes')]))
        trailers.flags.add('END_HEADERS')
        trailers.flags.add('END_STREAM')
        raw.send(trailers)
        status, body, reset = raw.answer(1)
        self.assertEqual((status, reset), (200, None))
        self.assertTrue(json.loads(body)['choices'][0]['text'].startswith('split head'), body)
        raw.close()

    def test_hpack_table_past_ours_is_a_connection_error(self):
        # The client's encoder may not grow the table past our SETTINGS_HEADER_TABLE_SIZE (4 KiB).
        raw = Raw(self.api())
        raw.until(lambda x: isinstance(x, hf.SettingsFrame) and 'ACK' in x.flags)
        raw.encoder.header_table_size = 65536  # a size update goes first in the next block
        raw.request(1, body_of('x'))
        f = goaway(raw)
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, 9)  # COMPRESSION_ERROR
        raw.close()

    def test_request_id_is_never_indexed(self):
        # A value new on every answer stays out of the HPACK table (what repeats is indexed).
        raw = Raw(self.api())
        heads = []
        for sid in (1, 3):
            raw.request(sid, body_of('index'))
            f, _ = raw.until(lambda x: x.stream_id == sid and isinstance(x, hf.HeadersFrame))
            heads.append(f)
            self.assertEqual(raw.answer(sid)[2], None)
        for f in heads:
            ids = [h for h in f.fields if h[0] == 'x-request-id']
            self.assertEqual(len(ids), 1, f.fields)
            self.assertIsInstance(ids[0], hpack.NeverIndexedHeaderTuple)
        table = [name for name, _ in raw.decoder.header_table.dynamic_entries]
        self.assertIn(b'content-type', table)
        self.assertNotIn(b'x-request-id', table)
        raw.close()

    def test_head_response_has_no_data(self):
        raw = Raw(self.api())
        raw.request(1, path='/v1/models', method='HEAD')
        f, seen = raw.until(lambda x: x.stream_id == 1 and 'END_STREAM' in x.flags)
        self.assertIsInstance(f, hf.HeadersFrame)
        self.assertFalse([x for x in seen if isinstance(x, hf.DataFrame) and x.stream_id == 1])
        raw.close()

    def test_client_reset_aborts_the_upstream_request(self):
        admin = self.gw.info['admin']
        aborted = 'vllm:request_success_total{engine="0",finished_reason="abort",model_name="%s"}' % MODEL
        sim_admin = self.sim.info['api']
        before = metric(sim_admin, aborted) or 0
        resets = metric(admin, 'ringgate_http2_resets_total{side="client"}') or 0
        raw = Raw(self.api())
        # The connection's window opened wide: this reader sends no WINDOW_UPDATE, and on a loaded
        # runner (ASan) streams that keep sending until their reset lands could use up 64 KiB
        # before the last stream's first token (seen once: no frame for 10 s).
        raw.send(hf.WindowUpdateFrame(0, window_increment=(1 << 31) - 1 - 65535))
        ids = list(range(1, 100, 2))  # 50 streams
        for sid in ids:
            raw.request(sid, json.dumps({'model': MODEL, 'prompt': 'slow ' * 4, 'max_tokens': 2000, 'stream': True,
                                         'ignore_eos': True}).encode())
        # Each one reset once its first token arrived (mid-generation).
        started = set()
        while len(started) < len(ids):
            f = raw.frame()
            self.assertIsNotNone(f)
            if isinstance(f, hf.DataFrame) and f.stream_id not in started:
                started.add(f.stream_id)
                raw.send(hf.RstStreamFrame(f.stream_id, error_code=CANCEL))
        p.wait_for(lambda: (metric(sim_admin, aborted) or 0) - before == 50, 15, 'the sim counts 50 aborts')
        p.wait_for(lambda: all(e['inflight'] == 0 for e in json.loads(
            p.http_get('http://%s/debug/endpoints' % admin))['endpoints']), 10, 'in-flight back to 0')
        self.assertEqual(metric(admin, 'ringgate_http2_resets_total{side="client"}') - resets, 50)
        raw.close()


    def test_debug_connections_shows_streams(self):
        admin = self.gw.info['admin']
        conns = lambda: json.loads(p.http_get('http://%s/debug/connections' % admin))  # noqa: E731
        raw = Raw(self.api())
        for sid in (1, 3, 5):  # open: their bodies not sent yet
            raw.request(sid, body_of('held'), end=False)
        p.wait_for(lambda: conns()['http2_streams'] == 3 and conns()['http2_connections'] == 1, 10, '3 streams open')
        self.assertEqual(metric(admin, 'ringgate_http2_streams_open'), 3)
        raw.close()
        p.wait_for(lambda: conns()['http2_streams'] == 0 and conns()['http2_connections'] == 0, 10, 'none open')


class SlowReader(unittest.TestCase):
    def test_a_stream_at_zero_window_is_reset_and_its_neighbour_goes_on(self):
        sim = p.start_sim('--model', MODEL, '--inter-token-latency-ms', '5')
        gw = start(sim, '', 'timeouts:\n  clientWrite: 1s\n')
        try:
            admin = gw.info['admin']
            resets = metric(admin, 'ringgate_http2_resets_total{side="gateway"}') or 0
            raw = Raw(gw.info['api'], settings=False)
            small = hf.SettingsFrame(0, settings={hf.SettingsFrame.INITIAL_WINDOW_SIZE: 1024})
            raw.sock.sendall(PREFACE + small.serialize())
            stalled = json.dumps({'model': MODEL, 'prompt': 'x', 'max_tokens': 2000, 'stream': True,
                                  'ignore_eos': True}).encode()
            raw.request(1, stalled)  # its window is never opened again
            t0 = time.monotonic()
            for round_ in range(3):  # its neighbour, three times over, while stream 1 sits at zero
                sid = 3 + 2 * round_
                raw.send(hf.WindowUpdateFrame(0, window_increment=1 << 20))
                raw.request(sid, json.dumps({'model': MODEL, 'prompt': 'y', 'max_tokens': 20, 'stream': True,
                                             'ignore_eos': True}).encode())
                raw.send(hf.WindowUpdateFrame(sid, window_increment=1 << 20))
                status, body, reset = raw.answer(sid)
                self.assertEqual((status, reset), (200, None))
                self.assertTrue(body.rstrip().endswith(b'data: [DONE]'))
            self.assertLess(time.monotonic() - t0, 1.0, 'the neighbours did not wait for stream 1')
            f, _ = raw.until(lambda x: isinstance(x, hf.RstStreamFrame) and x.stream_id == 1, 10)
            self.assertIsNotNone(f, 'stream 1 reset')
            self.assertEqual(f.error_code, CANCEL)
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
            self.assertEqual(metric(admin, 'ringgate_http2_resets_total{side="gateway"}') - resets, 1)
            p.wait_for(lambda: all(e['inflight'] == 0 for e in json.loads(
                p.http_get('http://%s/debug/endpoints' % admin))['endpoints']), 10, 'its upstream released')
            raw.close()
        finally:
            gw.stop()
            sim.stop()


class Drain(unittest.TestCase):
    def test_goaway_then_open_streams_finish(self):
        sim = p.start_sim('--model', MODEL, '--inter-token-latency-ms', '10')
        gw = start(sim)
        try:
            raw = Raw(gw.info['api'])
            long = json.dumps({'model': MODEL, 'prompt': 'x', 'max_tokens': 50, 'stream': True, 'ignore_eos': True})
            raw.request(1, long.encode())
            raw.until(lambda x: isinstance(x, hf.DataFrame) and x.stream_id == 1)  # under way
            gw.proc.send_signal(15)
            f = goaway(raw)
            self.assertEqual((f.error_code, f.last_stream_id), (NO_ERROR, 1))
            status, body, reset = raw.answer(1)
            self.assertEqual(reset, None)
            self.assertTrue(body.rstrip().endswith(b'data: [DONE]'), body[-200:])
            raw.close()
            self.assertEqual(gw.stop(), 0)
        finally:
            gw.stop()
            sim.stop()

    def test_idle_connection_gets_goaway_then_close_and_a_long_stream_is_not_idle(self):
        # timeouts.clientIdle counts from the last open stream's end: a stream that runs
        # past it (60 tokens at 10 ms, 3x the 200 ms) ends whole, then the connection gets
        # GOAWAY (NO_ERROR, its last stream) and closes, counted as reason "idle".
        sim = p.start_sim('--model', MODEL, '--inter-token-latency-ms', '10')
        gw = start(sim, '', 'timeouts:\n  clientIdle: 200ms\n')
        try:
            admin = gw.info['admin']
            raw = Raw(gw.info['api'])
            long = json.dumps({'model': MODEL, 'prompt': 'x', 'max_tokens': 60, 'stream': True, 'ignore_eos': True})
            raw.request(1, long.encode())
            status, body, reset = raw.answer(1)
            self.assertEqual((status, reset), (200, None))
            self.assertTrue(body.rstrip().endswith(b'data: [DONE]'), body[-200:])
            f = goaway(raw)
            self.assertIsNotNone(f, 'no GOAWAY on an idle connection')
            self.assertEqual((f.error_code, f.last_stream_id), (NO_ERROR, 1))
            self.assertIsNone(raw.frame(10), 'the idle connection stayed open after its GOAWAY')
            self.assertEqual(metric(admin, 'ringgate_http2_goaways_total{reason="idle"}'), 1)
            self.assertEqual(metric(admin, 'ringgate_http2_goaways_total{reason="drain"}') or 0, 0)
            raw.close()
        finally:
            gw.stop()
            sim.stop()


class ServerKilled(unittest.TestCase):
    def test_a_sim_sigkilled_under_100_streams_fails_none(self):
        sims = [p.start_sim('--model', MODEL, '--inter-token-latency-ms', '10', '--seed', str(i)) for i in range(2)]
        gw = p.Proc([p.RINGGATE, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2',
                     '--config', p.write_config('apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n'
                                                '    static: ["%s", "%s"]\n' % (sims[0].info['api'],
                                                                                 sims[1].info['api']))])
        tokens = 60

        async def run():
            async with httpx.AsyncClient(http2=True, http1=False, timeout=60) as client:
                started = asyncio.Event()

                async def one(i):
                    req = {'model': MODEL, 'prompt': 'story %d' % i, 'max_tokens': tokens, 'stream': True,
                           'ignore_eos': True}
                    events, done, errors = 0, False, 0
                    async with client.stream('POST', 'http://%s/v1/completions' % gw.info['api'], json=req) as r:
                        status = r.status_code
                        async for line in r.aiter_lines():  # (httpx 0.23 keeps the line's end)
                            line = line.strip()
                            if line == 'data: [DONE]':
                                done = True
                            elif line.startswith('data: {'):
                                event = json.loads(line[6:])
                                errors += 'error' in event
                                events += sum(1 for c in event.get('choices', []) if c.get('text'))
                                if events >= 5:
                                    started.set()
                    return status, events, done, errors

                tasks = [asyncio.create_task(one(i)) for i in range(100)]
                await started.wait()
                sims[0].proc.kill()  # SIGKILL, mid-generation for the streams it serves
                return await asyncio.gather(*tasks)

        try:
            results = asyncio.run(run())
            failed = [r for r in results if r != (200, tokens, True, 0)]
            self.assertEqual(failed, [], '%d of 100 failed' % len(failed))
            text = p.http_get('http://%s/metrics' % gw.info['admin'])
            migrated = sum(float(v) for v in re.findall(
                r'^ringgate_stream_migrations_total\{outcome="resumed"[^}]*\} (\S+)$', text, re.M))
            self.assertGreater(migrated, 0, 'some streams moved to the other sim')
        finally:
            gw.stop()
            sims[1].stop()
            sims[0].stop()


class Bounds(unittest.TestCase):
    """Each bound at N (served) and N+1 (its answer), its counter, and the rest going on."""

    @classmethod
    def setUpClass(cls):
        cls.sim = p.start_sim('--model', MODEL, '--mode', 'echo')
        cls.gw = start(cls.sim, '    maxConcurrentStreams: 3\n    maxResetsPerSecond: 5\n'
                                '    maxContinuationFrames: 2\n    maxControlFramesPerSecond: 5\n',
                       'limits:\n  maxHeaderBytes: 2048\n  maxBodyBytes: 4096\n')

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def bound(self, name):
        return metric(self.gw.info['admin'], 'ringgate_http2_bound_hits_total{bound="%s"}' % name) or 0

    def raw(self):
        raw = Raw(self.gw.info['api'])
        raw.until(lambda x: isinstance(x, hf.SettingsFrame) and 'ACK' in x.flags)  # the limits are in force
        return raw

    def test_header_bytes(self):
        raw = self.raw()
        before = self.bound('header_bytes')
        raw.request(1, body_of('ok'), extra=[('x-pad', 'a' * 1200)])
        raw.request(3, body_of('no'), extra=[('x-pad', 'a' * 2100)])
        raw.request(5, body_of('ok too'))
        self.assertEqual(raw.answer(3)[0], 431)
        self.assertEqual(raw.answer(1)[0], 200)
        self.assertEqual(raw.answer(5)[0], 200)
        self.assertEqual(self.bound('header_bytes') - before, 1)
        raw.close()

    def test_body_bytes(self):
        raw = self.raw()
        before = self.bound('body_bytes')
        at = body_of('a')
        at = at[:-1] + b' ' * (4096 - len(at)) + b'}'  # exactly 4096 bytes: served
        raw.request(1, at)
        raw.request(3, at + b' ')  # 4097
        self.assertEqual(raw.answer(3)[0], 413)
        self.assertEqual(raw.answer(1)[0], 200)
        self.assertEqual(self.bound('body_bytes') - before, 1)
        raw.close()

    def test_concurrent_streams(self):
        raw = self.raw()
        before = self.bound('streams')
        for sid in (1, 3, 5):  # open, their bodies not sent yet
            raw.request(sid, body_of('held %d' % sid), end=False)
        raw.request(7, body_of('one too many'))
        f = goaway(raw)
        self.assertIsNotNone(f)
        self.assertEqual(f.error_code, PROTOCOL_ERROR)
        self.assertEqual(self.bound('streams') - before, 1)
        raw.close()
        # Three at once are served.
        raw = self.raw()
        for sid in (1, 3, 5):
            raw.request(sid, body_of('three %d' % sid))
        self.assertEqual([raw.answer(s)[0] for s in (1, 3, 5)], [200, 200, 200])
        raw.close()

    def test_continuation_frames(self):
        def send_split(raw, sid, pieces):
            block = raw.head_block()
            size = len(block) // (pieces + 1) + 1
            chunks = [block[i:i + size] for i in range(0, len(block), size)]
            chunks += [b''] * (pieces + 1 - len(chunks))
            frames = [hf.HeadersFrame(sid, data=chunks[0])]
            for c in chunks[1:]:
                frames.append(hf.ContinuationFrame(sid, data=c))
            frames[-1].flags.add('END_HEADERS')
            frames.append(hf.DataFrame(sid, data=body_of('c'), flags=['END_STREAM']))
            raw.send(*frames)

        raw = self.raw()
        before = self.bound('continuations')
        send_split(raw, 1, 2)  # two CONTINUATION frames: served
        self.assertEqual(raw.answer(1)[0], 200)
        send_split(raw, 3, 3)
        f = goaway(raw)
        self.assertEqual(f.error_code, ENHANCE_YOUR_CALM)
        self.assertEqual(self.bound('continuations') - before, 1)
        raw.close()

    def test_resets_per_second(self):
        raw = self.raw()
        before = self.bound('resets')
        for sid in range(1, 11, 2):  # 5 resets: the connection goes on
            raw.request(sid, body_of('r'), end=False)
            raw.send(hf.RstStreamFrame(sid, error_code=CANCEL))
        raw.request(11, body_of('still served'))
        self.assertEqual(raw.answer(11)[0], 200)
        raw.request(13, body_of('r'), end=False)
        raw.send(hf.RstStreamFrame(13, error_code=CANCEL))  # the 6th within a second
        f = goaway(raw)
        self.assertEqual(f.error_code, ENHANCE_YOUR_CALM)
        self.assertEqual(self.bound('resets') - before, 1)
        raw.close()

    def test_control_frames_per_second(self):
        raw = self.raw()  # its SETTINGS: the first control frame of the window
        before = self.bound('control_frames')
        raw.send(*[hf.PingFrame(0, opaque_data=b'%08d' % i) for i in range(4)])  # 5 in all
        raw.request(1, body_of('ping'))
        self.assertEqual(raw.answer(1)[0], 200)
        raw.send(hf.PingFrame(0, opaque_data=b'toomany!'))
        f = goaway(raw)
        self.assertEqual(f.error_code, ENHANCE_YOUR_CALM)
        self.assertEqual(self.bound('control_frames') - before, 1)
        raw.close()
        # Another connection is served.
        other = self.raw()
        other.request(1, body_of('other'))
        self.assertEqual(other.answer(1)[0], 200)
        other.close()


class BulkStreams(unittest.TestCase):
    """Streams from a server with no token latency: their answers come in reads of tens of KB,
    and their DATA leaves from the streams' own buffers (http::H2Gather, sendmsg; over TLS,
    written into records where the frames put them). Byte for byte what HTTP/1.1 gets."""

    def test_fast_streams_over_h2_and_h2_over_tls_equal_http11(self):
        d = tempfile.mkdtemp(dir=p._TMP)
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                        '-keyout', os.path.join(d, 'k.pem'), '-out', os.path.join(d, 'c.pem'), '-days', '2',
                        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
                       check=True, capture_output=True)
        sim = p.start_sim('--model', MODEL)
        plain = start(sim)
        tls = start(sim, '', '', '--tls-cert', os.path.join(d, 'c.pem'), '--tls-key', os.path.join(d, 'k.pem'))
        tokens = 600

        async def run(base, http2):
            async with httpx.AsyncClient(http2=http2, http1=not http2, timeout=60, verify=False,
                                         limits=httpx.Limits(max_connections=1 if http2 else 16)) as client:
                async def one(i):
                    req = {'model': MODEL, 'prompt': 'bulk %d' % i, 'max_tokens': tokens, 'stream': True,
                           'ignore_eos': True, 'stream_options': {'include_usage': True}}
                    text, usage, done = '', None, False
                    async with client.stream('POST', base + '/v1/completions', json=req) as r:
                        self.assertEqual((r.status_code, r.http_version), (200, 'HTTP/2' if http2 else 'HTTP/1.1'))
                        async for line in r.aiter_lines():
                            line = line.rstrip('\r\n')
                            if line == 'data: [DONE]':
                                done = True
                            elif line.startswith('data: '):
                                event = json.loads(line[6:])  # a byte out of place breaks the JSON
                                text += ''.join(c['text'] for c in event['choices'])
                                usage = event.get('usage') or usage
                    return text, usage['completion_tokens'], done
                return await asyncio.gather(*(one(i) for i in range(16)))

        try:
            over_h1 = asyncio.run(run('http://' + plain.info['api'], False))
            over_h2 = asyncio.run(run('http://' + plain.info['api'], True))
            over_tls = asyncio.run(run('https://' + tls.info['api'], True))
            self.assertTrue(all(n == tokens and done and text for text, n, done in over_h1), over_h1[0][1:])
            self.assertEqual(over_h2, over_h1)
            self.assertEqual(over_tls, over_h1)
        finally:
            tls.stop()
            plain.stop()
            sim.stop()


class OverTls(unittest.TestCase):
    def test_curl_h2_over_tls_and_http11_still(self):
        d = tempfile.mkdtemp(dir=p._TMP)
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                        '-keyout', os.path.join(d, 'k.pem'), '-out', os.path.join(d, 'c.pem'), '-days', '2',
                        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
                       check=True, capture_output=True)
        sim = p.start_sim('--model', MODEL, '--mode', 'echo')
        gw = start(sim, '', '', '--tls-cert', os.path.join(d, 'c.pem'), '--tls-key', os.path.join(d, 'k.pem'))
        try:
            url = 'https://%s/v1/completions' % gw.info['api']
            for flag, version in (('--http2', '2'), ('--http1.1', '1.1')):
                out = subprocess.run(['curl', '-sk', flag, '-w', '\n%{http_version}', '-H',
                                      'content-type: application/json', '-d', body_of('secure words', 2), url],
                                     capture_output=True, check=True, text=True)
                text, _, got = out.stdout.rpartition('\n')
                self.assertEqual(got, version)
                self.assertTrue(json.loads(text)['choices'][0]['text'].startswith('secure'), text)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(['h2', 'http/1.1'])
            host, port = gw.info['api'].rsplit(':', 1)
            with ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host) as s:
                self.assertEqual(s.selected_alpn_protocol(), 'h2')
        finally:
            gw.stop()
            sim.stop()


if __name__ == '__main__':
    unittest.main()
