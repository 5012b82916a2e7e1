#!/usr/bin/python3
"""EPP-mode cost per request, next to the gateway mode's (issue 15).

Runs on 127.0.0.1 only: one ringgate-sim (no latency model, 1 output token), then
  direct  : POST straight to the sim (the floor),
  gateway : POST through `ringgate` (gateway mode) to the sim,
  epp     : the ext-proc exchange Envoy would run with `ringgate --mode epp`
            (request headers + body → decision; response headers + body observed;
            stream closed) plus the POST to the picked sim itself,
and prints p50 / p90 / p99 latency per request for each, the added cost of each mode
over `direct`, and the decision alone (request headers sent → pick received).
The ext-proc client here is Python grpcio, whose own per-message cost is part of the
epp figures; build/perf/epp_bench (C++ grpc++, as Envoy's client) then runs the same
exchange (decision + an SSE response observed) against the same EPP for the figure
without it.

  /usr/bin/python3 perf/epp/epp_overhead.py [--requests 2000] [--build-dir build]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'epp'))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def summary(name, us):
    return '%-22s p50 %8.1f us   p90 %8.1f us   p99 %8.1f us   (n=%d)' % (
        name, pct(us, 0.5), pct(us, 0.9), pct(us, 0.99), len(us))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--requests', type=int, default=2000)
    ap.add_argument('--build-dir', default=None)
    args = ap.parse_args()
    if args.build_dir:
        os.environ['RINGGATE_BUILD_DIR'] = os.path.abspath(args.build_dir)
    import epp_harness as h
    from epp_harness import ep, Mode
    import http.client

    model = 'facebook/opt-125m'
    body = json.dumps({'model': model, 'prompt': 'The quick brown fox jumps over the lazy dog. ' * 4,
                       'max_tokens': 1}).encode()
    sim = h.start_sim('--model', model)
    gateway = h.start_gateway('--endpoint', sim.info['api'], '--workers', '1')
    epp = h.start_epp('--endpoint', sim.info['api'], '--workers', '1')
    h.wait_for(lambda: h.health_status(epp.info['eppHealth']) == h.SERVING, what='EPP ready')

    def keepalive(address):
        host, port = address.rsplit(':', 1)
        return http.client.HTTPConnection(host, int(port), timeout=10)

    def post(conn):
        conn.request('POST', '/v1/completions', body=body, headers={'content-type': 'application/json'})
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200, (r.status, data)
        return r, data

    results = {'direct': [], 'gateway': [], 'epp': [], 'epp decision only': []}
    direct_conn = keepalive(sim.info['api'])
    gateway_conn = keepalive(gateway.info['api'])
    channel = h.grpc.insecure_channel(epp.info['epp'])
    stub = h.ep_grpc.ExternalProcessorStub(channel)
    head = h.headers(h.request_head('/v1/completions', len(body)))
    config = ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED,
                                      response_body_mode=Mode.FULL_DUPLEX_STREAMED)

    def one_epp():
        t0 = time.perf_counter()
        s = h.ExtProcStream.__new__(h.ExtProcStream)
        s.channel, s.stub = channel, stub
        import queue
        s.outbox = queue.Queue()
        s.responses = stub.Process(s._requests(), timeout=30)
        s.send(request_headers=head, protocol_config=config)
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        dest = r.request_headers.response.header_mutation.set_headers[0].header.raw_value.decode()
        forwarded = b''
        while True:
            part = s.recv().request_body.response.body_mutation.streamed_response
            forwarded += part.body
            if part.end_of_stream:
                break
        t_decided = time.perf_counter()
        resp, data = post(direct_conn) if dest == sim.info['api'] else (None, None)
        s.send(response_headers=h.headers([(':status', '200'), ('content-type', 'application/json')]))
        s.recv()
        s.send(response_body=ep.HttpBody(body=data, end_of_stream=True))
        s.recv()
        s.outbox.put(None)
        for _ in s.responses:
            pass
        t1 = time.perf_counter()
        return (t1 - t0) * 1e6, (t_decided - t0) * 1e6

    for _ in range(50):  # warm-up: connections, caches, the sim's prefix cache
        post(direct_conn)
        post(gateway_conn)
        one_epp()
    for _ in range(args.requests):  # interleaved so that drift hits every mode alike
        t = time.perf_counter()
        post(direct_conn)
        results['direct'].append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        post(gateway_conn)
        results['gateway'].append((time.perf_counter() - t) * 1e6)
        total, decision = one_epp()
        results['epp'].append(total)
        results['epp decision only'].append(decision)

    for name, us in results.items():
        print(summary(name, us))
    d50 = statistics.median(results['direct'])
    print('added over direct (p50): gateway %.1f us, epp (decision + response observed + client) %.1f us' % (
        statistics.median(results['gateway']) - d50, statistics.median(results['epp']) - d50))
    # The same ext-proc exchange from a C++ client (as Envoy's): the Python client's own
    # per-message cost taken out.
    bench = os.path.join(h.BUILD_DIR, 'perf', 'epp_bench')
    if os.path.exists(bench):
        out = subprocess.run([bench, '--epp', epp.info['epp'], '--model', model, '--requests', str(args.requests)],
                             capture_output=True, text=True, timeout=600)
        print(out.stdout.rstrip() or out.stderr.rstrip())
    channel.close()
    for p in (epp, gateway, sim):
        p.stop()


if __name__ == '__main__':
    main()
