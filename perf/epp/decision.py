#!/usr/bin/python3
"""EPP mode's decision round trip at a fixed rate, plain text and TLS, beside gRPC's floor.

In interleaved rounds, build/perf/epp_bench (C++ grpc++ client, one Process stream per
request in Envoy's order) runs `--rate` decisions/s against:
  epp        `ringgate --mode epp --secure-serving=false`, one worker (this build: gRPC
             served on the ring, src/epp/grpc_connection.cpp)
  epp-tls    `ringgate --mode epp` as the chart runs it: TLS with the certificate it made
             at start (the client trusts that certificate)
  epp-old    --old-ringgate (optional): a build from before issue 68, whose EPP is grpc++
             (e.g. commit 89c9d43 built in its own directory), plain text, one worker
  floor      build/perf/ext_proc_floor: grpc++'s server loop giving the same answers with
             no work (no parsing, no pick): what the grpc++ EPP's transport alone costs
  h2-floor   build/perf/h2_floor: one epoll thread and libnghttp2 answering each call with
             the EPP's own answer bytes (captured once with nghttp) and grpc-status 0, no
             other work: the best any HTTP/2 server gives h2load on this machine (h2load
             rows only: it is not an ext-proc stream for the grpc++ client)
  ring-floor the `epp` process's own ring and HTTP/2 layer answering an unknown method
             (UNIMPLEMENTED, trailers only: no parse, no decision; h2load rows only): what
             ringgate's transport costs without the decision
epp_bench and ext_proc_floor need grpc++, a benchmark-only dependency: perf/epp/setup.sh.
Printed per target: the medians over rounds of the decision's p50/p99 (first message sent
-> the body's last chunk back), the whole stream's p50, and the server's CPU per stream
(utime + stime from /proc, the whole stream), then the ratios the issue names, with h2-floor's p99 beside the goal.

Each round also sends the same decision from h2load (nghttp2's HTTP/2 load tool, in C:
no grpc++ on the client side, as Envoy's own gRPC client has none): the request's headers
and body messages in one gRPC request body, half-closed (`epp_bench
--write-decision-body`), answered with the pick, the body and the status. One call per
request at --rate (h2load --rps), and as fast as one client goes (back to back). The
grpc++ client's own thread hops were most of what epp_bench measured. h2load's --rps sends
its calls in bursts, one every 10 ms: at 1,000/s one call in ten is a burst's first and finds
the server asleep since the last burst. Those cold calls' p50 and p90 print apart (their p90
is about the p99 of all). Then throughput:
h2load with --streams calls in flight on one connection, as fast as the server answers
(one worker): decisions/s, and the server's CPU per decision (utime + stime, /proc).

    /usr/bin/python3 perf/epp/decision.py --rounds 7 --requests 2000 --rate 1000
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'epp'))

PROCESS = '/envoy.service.ext_proc.v3.ExternalProcessor/Process'
LINE = re.compile(r'ext-proc (decision|whole stream)\s+p50\s+([\d.]+) us\s+p90\s+([\d.]+) us\s+p99\s+([\d.]+) us')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def h2load(address, tls, body_file, requests, rate=None, streams=1, path=PROCESS):
    """Durations (µs) of `requests` Process calls, each the decision's two messages, the calls
    per second h2load reports, and the durations of the cold calls among them (below)."""
    with tempfile.NamedTemporaryFile('r', suffix='.log') as log:
        cmd = ['h2load', '-n', str(requests), '-c', '1', '-m', str(streams), '-H', 'content-type: application/grpc',
               '-H', 'te: trailers', '-d', body_file, '--log-file', log.name]
        if rate:
            cmd += ['--rps', '%g' % rate]
        url = '%s://%s%s' % ('https' if tls else 'http', address, path)
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=600)
        if ('%d succeeded' % requests) not in out.stdout:
            raise SystemExit('h2load %s: %s%s' % (url, out.stdout, out.stderr))
        rate = float(re.search(r'finished in [\d.]+m?s, ([\d.]+) req/s', out.stdout).group(1))
        # One line a call: start (µs since the epoch), HTTP status, duration (µs).
        calls = sorted((float(f[0]), float(f[2])) for f in (line.split() for line in log.read().splitlines()))
        # A cold call found the connection idle for 1 ms or more (h2load's --rps sends its
        # calls in bursts, one every 10 ms: the burst's first call meets a server that slept).
        cold = sorted(d for i, (start, d) in enumerate(calls)
                      if i == 0 or start - (calls[i - 1][0] + calls[i - 1][1]) >= 1000)
        return sorted(d for _, d in calls), rate, cold


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--requests', type=int, default=2000)
    ap.add_argument('--rate', type=float, default=1000)
    ap.add_argument('--build-dir', default=None)
    ap.add_argument('--old-ringgate', default=None, help='a ringgate binary whose EPP is grpc++ (e.g. 89c9d43)')
    ap.add_argument('--streams', type=int, default=32, help='calls in flight for the throughput run')
    args = ap.parse_args()
    if args.build_dir:
        os.environ['RINGGATE_BUILD_DIR'] = os.path.abspath(args.build_dir)
    import epp_harness as h

    model = 'facebook/opt-125m'
    bench = os.path.join(h.BUILD_DIR, 'perf', 'epp_bench')
    floor_bin = os.path.join(h.BUILD_DIR, 'perf', 'ext_proc_floor')
    h2_floor_bin = os.path.join(h.BUILD_DIR, 'perf', 'h2_floor')
    sim = h.start_sim('--model', model)
    epp = h.start_epp('--endpoint', sim.info['api'], '--workers', '1')
    epp_tls = h.Proc([h.RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
                      '--admin', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--endpoint', sim.info['api'],
                      '--workers', '1'])
    old = None
    if args.old_ringgate:
        old = h.Proc([args.old_ringgate, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen',
                      '127.0.0.1:0', '--admin', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--secure-serving=false',
                      '--endpoint', sim.info['api'], '--workers', '1'])
    floor = subprocess.Popen([floor_bin, '--listen', '127.0.0.1:0'], stdout=subprocess.PIPE, text=True)
    floor_port = int(floor.stdout.readline().split()[-1])
    root = tempfile.NamedTemporaryFile('w', suffix='.pem', delete=False)
    body_file = os.path.join(tempfile.gettempdir(), 'decision-%d.bin' % os.getpid())
    answer_file = os.path.join(tempfile.gettempdir(), 'decision-answer-%d.bin' % os.getpid())
    h2_floor = None
    try:
        h.wait_for(lambda: h.health_status(epp.info['eppHealth']) == h.SERVING, what='EPP ready')
        h.wait_for(lambda: h.health_status(epp_tls.info['eppHealth']) == h.SERVING, what='EPP (TLS) ready')
        if old:
            h.wait_for(lambda: h.health_status(old.info['eppHealth']) == h.SERVING, what='old EPP ready')
        root.write(h.server_certificate(epp_tls.info['epp']))
        root.close()
        targets = {
            'epp': (epp.info['epp'], [], epp.proc.pid),
            'epp-tls': (epp_tls.info['epp'], ['--tls', root.name], epp_tls.proc.pid),
        }
        if old:
            targets['epp-old'] = (old.info['epp'], [], old.proc.pid)
        targets['floor'] = ('127.0.0.1:%d' % floor_port, [], floor.pid)
        subprocess.run([bench, '--model', model, '--write-decision-body', body_file], check=True)
        # The EPP's answer to the decision (its gRPC messages: pick, body), for h2_floor to send.
        with open(answer_file, 'wb') as f:
            subprocess.run(['nghttp', '-d', body_file, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
                            'http://%s/envoy.service.ext_proc.v3.ExternalProcessor/Process' % epp.info['epp']],
                           stdout=f, check=True, timeout=60)
        h2_floor = subprocess.Popen([h2_floor_bin, '--listen', '127.0.0.1:0', '--answer', answer_file],
                                    stdout=subprocess.PIPE, text=True)
        targets['h2-floor'] = ('127.0.0.1:%d' % int(h2_floor.stdout.readline().split()[-1]), None, h2_floor.pid)
        targets['ring-floor'] = (epp.info['epp'], None, epp.proc.pid)
        keys = ['p50', 'p99', 'stream p50', 'cpu us/stream', 'h2 p50', 'h2 p99', 'cold share', 'cold p50', 'cold p90',
                'h2 cpu us', 'h2 b2b p50',
                'h2 b2b p99', 'h2 b2b/s', 'tput', 'tput cpu us']
        results = {name: {k: [] for k in keys} for name in targets}
        warmup = 200
        for r in range(args.rounds):
            for name, (address, extra, pid) in targets.items():
                tls = name == 'epp-tls'
                path = '/ringgate.perf.Floor/Unknown' if name == 'ring-floor' else PROCESS
                h2load(address, tls, body_file, warmup, path=path)  # (its figures are dropped)
                before = cpu_seconds(pid)
                paced, _, cold = h2load(address, tls, body_file, args.requests, args.rate, path=path)
                results[name]['h2 cpu us'].append((cpu_seconds(pid) - before) * 1e6 / args.requests)
                results[name]['h2 p50'].append(pct(paced, 0.5))
                results[name]['h2 p99'].append(pct(paced, 0.99))
                results[name]['cold share'].append(len(cold) / len(paced))
                results[name]['cold p50'].append(pct(cold, 0.5))
                results[name]['cold p90'].append(pct(cold, 0.9))
                closed, b2b_rate, _ = h2load(address, tls, body_file, args.requests, path=path)
                results[name]['h2 b2b/s'].append(b2b_rate)
                results[name]['h2 b2b p50'].append(pct(closed, 0.5))
                results[name]['h2 b2b p99'].append(pct(closed, 0.99))
                before = cpu_seconds(pid)
                results[name]['tput'].append(h2load(address, tls, body_file, 5 * args.requests,
                                                    streams=args.streams, path=path)[1])
                results[name]['tput cpu us'].append((cpu_seconds(pid) - before) * 1e6 / (5 * args.requests))
                if extra is None:  # h2-floor, ring-floor: h2load's rows only
                    continue
                before = cpu_seconds(pid)
                out = subprocess.run([bench, '--epp', address, '--model', model, '--requests', str(args.requests),
                                      '--warmup', str(warmup), '--rate', str(args.rate), *extra],
                                     capture_output=True, text=True, timeout=600)
                cpu = cpu_seconds(pid) - before
                found = {m.group(1): m for m in LINE.finditer(out.stdout)}
                if 'decision' not in found:
                    raise SystemExit('%s: %s%s' % (name, out.stdout, out.stderr))
                results[name]['p50'].append(float(found['decision'].group(2)))
                results[name]['p99'].append(float(found['decision'].group(4)))
                results[name]['stream p50'].append(float(found['whole stream'].group(2)))
                results[name]['cpu us/stream'].append(cpu * 1e6 / (args.requests + warmup))
            print('round %d, h2load at %g/s p50/p99: %s' % (
                r + 1, args.rate, '  '.join('%s %.0f/%.0f' % (n, v['h2 p50'][-1], v['h2 p99'][-1])
                                            for n, v in results.items())), flush=True)
        print('\n%d rounds of %d decisions at %g/s (medians over rounds; decision = first message -> body back)'
              % (args.rounds, args.requests, args.rate))
        print('| target | decision p50 | decision p99 | whole stream p50 | server CPU per stream |')
        print('|---|---|---|---|---|')
        med = {n: {k: statistics.median(v) if v else None for k, v in m.items()} for n, m in results.items()}
        for name, m in med.items():
            if m['p50'] is None:
                continue
            print('| %s | %.0f µs | %.0f µs | %.0f µs | %.0f µs |' % (name, m['p50'], m['p99'], m['stream p50'],
                                                                    m['cpu us/stream']))
        print('\nThe same decision from h2load (no grpc++ client): at %g/s, and back to back' % args.rate)
        print('| target | call p50 at %g/s | call p99 | server CPU per call | back-to-back p50 | back-to-back p99 '
              '| back to back, calls/s |' % args.rate)
        print('|---|---|---|---|---|---|---|')
        for name, m in med.items():
            print('| %s | %.0f µs | %.0f µs | %.0f µs | %.0f µs | %.0f µs | %.0f |' % (
                name, m['h2 p50'], m['h2 p99'], m['h2 cpu us'], m['h2 b2b p50'], m['h2 b2b p99'], m['h2 b2b/s']))
        print('\nAt %g/s, the calls that found the connection idle for 1 ms or more (cold: h2load sends a burst every'
              ' 10 ms) and their latency; with one call in ten cold, their p90 is about the p99 of all' % args.rate)
        print('| target | cold calls | cold p50 | cold p90 | all calls p99 |')
        print('|---|---|---|---|---|')
        for name, m in med.items():
            print('| %s | %.0f%% | %.0f µs | %.0f µs | %.0f µs |' % (name, 100 * m['cold share'], m['cold p50'],
                                                                m['cold p90'], m['h2 p99']))
        print('\nThroughput: h2load, %d calls in flight on one connection, one server worker' % args.streams)
        print('| target | decisions/s | server CPU per decision |')
        print('|---|---|---|')
        for name, m in med.items():
            print('| %s | %.0f | %.1f µs |' % (name, m['tput'], m['tput cpu us']))
        for client, key in (('grpc++ client', 'p50'), ('h2load', 'h2 p50')):
            p99 = 'p99' if key == 'p50' else 'h2 p99'
            ratio = statistics.median(t / p for t, p in zip(results['epp-tls'][key], results['epp'][key]))
            over = statistics.median(e / f for e, f in zip(results['epp'][key], results['floor'][key]))
            print('\n%s: epp decision p50 %.0f µs (≤ 60), p99 %.0f µs (≤ 200); TLS/plain p50 %.2f× (≤ 1.2); '
                  'epp/floor p50 %.2f×' % (client, med['epp'][key], med['epp'][p99], ratio, over), end='')
            if key == 'h2 p50':
                floor_p99 = statistics.median(e / f for e, f in zip(results['epp']['h2 p99'],
                                                                    results['h2-floor']['h2 p99']))
                print('\n  beside it: h2-floor (no work) p50 %.0f µs, p99 %.0f µs (epp/h2-floor p99 %.2f×); '
                      'ring-floor p50 %.0f µs, p99 %.0f µs' % (
                          med['h2-floor']['h2 p50'], med['h2-floor']['h2 p99'], floor_p99,
                          med['ring-floor']['h2 p50'], med['ring-floor']['h2 p99']), end='')
        print()
    finally:
        os.unlink(root.name)
        if os.path.exists(body_file):
            os.unlink(body_file)
        if os.path.exists(answer_file):
            os.unlink(answer_file)
        for p in (floor, h2_floor):
            if p:
                p.terminate()
                p.wait()
        for p in (old, epp_tls, epp, sim):
            if p:
                p.stop()


if __name__ == '__main__':
    main()
