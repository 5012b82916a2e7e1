"""Shared pieces of the EPP-mode tests: stubs generated from proto/ at test time, real
ringgate / ringgate-sim processes on 127.0.0.1 ephemeral ports (killed at exit), and
an ext-proc client that talks to ringgate the way Envoy's ext_proc filter does."""
import http.client
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
from procs import (SOURCE_ROOT, BUILD_DIR, RINGGATE, SIM, _TMP, _live, Proc, start_sim, start_gateway,  # noqa: E402,F401
                   write_config, http_get, wait_for)


def _generate_stubs():
    """Python code for proto/ with Debian's protoc and grpc_python_plugin."""
    proto_root = os.path.join(SOURCE_ROOT, 'proto')
    files = []
    for dirpath, _, names in os.walk(proto_root):
        if os.path.relpath(dirpath, proto_root).split(os.sep)[0] == 'grpc':
            continue  # the server's health protocol: the probe client below has its own copy
        files += [os.path.relpath(os.path.join(dirpath, n), proto_root) for n in names if n.endswith('.proto')]
    plugin = shutil.which('grpc_python_plugin')
    if plugin is None:
        raise RuntimeError('grpc_python_plugin not found (Debian: protobuf-compiler-grpc)')
    subprocess.run(['protoc', '-I', proto_root, '--python_out=' + _TMP, '--grpc_python_out=' + _TMP,
                    '--plugin=protoc-gen-grpc_python=' + plugin] + sorted(files), check=True)
    # The health protocol's client, for probes (its module must not sit under the grpc package).
    subprocess.run(['protoc', '-I', HERE, '--python_out=' + _TMP, '--grpc_python_out=' + _TMP,
                    '--plugin=protoc-gen-grpc_python=' + plugin, 'grpc_health_v1.proto'], check=True)
    sys.path.insert(0, _TMP)


_generate_stubs()

import grpc  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402
from envoy.config.core.v3 import base_pb2  # noqa: E402
from envoy.extensions.filters.http.ext_proc.v3 import processing_mode_pb2  # noqa: E402
from envoy.service.ext_proc.v3 import external_processor_pb2 as ep  # noqa: E402
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as ep_grpc  # noqa: E402
import grpc_health_v1_pb2 as health_pb2  # noqa: E402
import grpc_health_v1_pb2_grpc as health_pb2_grpc  # noqa: E402

Mode = processing_mode_pb2.ProcessingMode
# Plain-text ext-proc (--secure-serving=false) unless the test asks for TLS: the TLS path
# has its own tests (ext_proc_tls.py, ext_proc_chart_args.py).
def start_epp(*extra):
    return Proc([RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
                 '--admin', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--secure-serving=false', *extra])


def start_epp_with_config(config, *extra):
    # The mode comes from the file's `mode: epp` (no --mode flag): both spellings are wired.
    return Proc([RINGGATE, '--config', config, '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
                 '--admin', '127.0.0.1:0', '--workers', '2', '--secure-serving=false', *extra])


def server_certificate(address):
    """The certificate (PEM) the TLS server at host:port presents, unverified (as a Gateway
    that skips verification of the EPP's self-signed certificate sees it)."""
    import socket
    import ssl
    host, port = address.rsplit(':', 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(['h2'])
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            return ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))


def tls_channel(address, root_pem):
    """A grpc channel over TLS trusting `root_pem` (the server's own certificate)."""
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=root_pem.encode()))


def health_status(address, service=''):
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthWatch:
    """grpc.health.v1 Watch on a thread: `statuses` collects what the server sends; `ended`
    is set (with the stream's final gRPC code in `code`) when the stream ends."""

    def __init__(self, address, service):
        self.channel = grpc.insecure_channel(address)
        self.stream = health_pb2_grpc.HealthStub(self.channel).Watch(health_pb2.HealthCheckRequest(service=service),
                                                                     timeout=30)
        self.statuses, self.code, self.ended = [], None, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for response in self.stream:
                self.statuses.append(response.status)
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code = e.code()
        self.ended.set()

    def close(self):
        self.stream.cancel()
        self.ended.wait(5)
        self.channel.close()


def headers(pairs, end_of_stream=False):
    """HttpHeaders as Envoy sends them: lower-case keys, values in raw_value."""
    return ep.HttpHeaders(headers=base_pb2.HeaderMap(headers=[base_pb2.HeaderValue(key=k, raw_value=v.encode())
                                                             for k, v in pairs]),
                          end_of_stream=end_of_stream)


def request_head(path, body_len, authority='gateway.local', extra=()):
    return [(':authority', authority), (':path', path), (':method', 'POST'), (':scheme', 'http'),
            ('content-type', 'application/json'), ('content-length', str(body_len)), *extra]


class ExtProcStream:
    """One Process stream driven message by message, as Envoy's ext_proc filter does."""

    def __init__(self, address, channel=None):
        self.channel = channel if channel is not None else grpc.insecure_channel(address)
        self.stub = ep_grpc.ExternalProcessorStub(self.channel)
        self.outbox = queue.Queue()
        self.responses = self.stub.Process(self._requests(), timeout=30)

    def _requests(self):
        while True:
            item = self.outbox.get()
            if item is None:
                return
            yield item

    def send(self, **fields):
        self.outbox.put(ep.ProcessingRequest(**fields))

    def recv(self):
        return next(self.responses)

    def close(self):
        """Half-close, as Envoy does at the end of the HTTP stream; returns the final status code."""
        self.outbox.put(None)
        try:
            for _ in self.responses:
                pass
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        self.channel.close()
        return code


def header_map(mutation):
    return {h.header.key: (h.header.raw_value or h.header.value.encode()).decode() for h in mutation.set_headers}


def destination_metadata(response):
    fields = response.dynamic_metadata.fields
    return fields['envoy.lb'].struct_value.fields['x-gateway-destination-endpoint'].string_value


def send_to(endpoint, path, body, stream=False):
    """What the Gateway does with the decision: the request to that endpoint itself."""
    host, port = endpoint.rsplit(':', 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request('POST', path, body=body, headers={'content-type': 'application/json'})
    return conn, conn.getresponse()


def debug_endpoints(admin):
    return json.loads(http_get('http://%s/debug/endpoints' % admin))['endpoints']


def inflight(admin):
    return {e['address']: e['inflight'] for e in debug_endpoints(admin)}


def scrape(admin):
    out = {}
    for line in http_get('http://%s/metrics' % admin).splitlines():
        if not line or line.startswith('#'):
            continue
        name, _, value = line.rpartition(' ')
        out[name] = float(value)
    return out
