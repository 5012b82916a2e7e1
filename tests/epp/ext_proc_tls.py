"""Issue 51: ext-proc over TLS, as the Go EPP serves it (--secure-serving, default true;
--cert-path with tls.crt/tls.key as the inferencepool chart mounts them; --enable-cert-reload).
A real grpcio client decides over TLS; a renewed certificate is served on new connections
without a restart; a broken pair at start is an error that names the file; the health port
stays plain text (kubelet's gRPC probe speaks none)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'


def make_pair(directory, cn):
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                    '-keyout', os.path.join(directory, 'tls.key.new'), '-out', os.path.join(directory, 'tls.crt.new'),
                    '-days', '2', '-subj', '/CN=' + cn, '-addext', 'subjectAltName=IP:127.0.0.1'],
                   check=True, capture_output=True)
    # As a Secret's projected volume changes: both files replaced.
    os.replace(os.path.join(directory, 'tls.key.new'), os.path.join(directory, 'tls.key'))
    os.replace(os.path.join(directory, 'tls.crt.new'), os.path.join(directory, 'tls.crt'))
    with open(os.path.join(directory, 'tls.crt')) as f:
        return f.read()


def start(sim, *tls_flags):
    return h.Proc([h.RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen', '127.0.0.1:0',
                   '--admin', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--endpoint', sim.info['api'], *tls_flags])


def decide(address, channel):
    body = b'{"model":"%s","prompt":"hello","max_tokens":1}' % MODEL.encode()
    s = h.ExtProcStream(address, channel)
    s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
           protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
    s.recv()
    s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
    r = s.recv()
    s.close()
    return h.header_map(r.request_body.response.header_mutation).get('x-gateway-destination-endpoint')


def pem_body(pem):
    return ''.join(line for line in pem.strip().splitlines() if not line.startswith('-----'))


class ExtProcTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.start_sim('--model', MODEL)
        cls.dir = tempfile.mkdtemp(prefix='rg-epp-tls-')

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.dir, True)

    def wait_routable(self, epp):
        h.wait_for(lambda: [e for e in h.debug_endpoints(epp.info['admin']) if e['routable']], what='routable')

    def test_self_signed_by_default_plain_health(self):
        epp = start(self.sim)
        try:
            self.assertIs(epp.info['eppTls'], True)
            self.wait_routable(epp)
            cert = h.server_certificate(epp.info['epp'])
            self.assertEqual(decide(epp.info['epp'], h.tls_channel(epp.info['epp'], cert)), self.sim.info['api'])
            # Plain text on the TLS port gets no decision.
            with self.assertRaises(Exception):
                decide(epp.info['epp'], None)
            h.wait_for(lambda: h.health_status(epp.info['eppHealth'], 'inference-extension') == h.SERVING,
                       what='plain-text health')
        finally:
            self.assertEqual(epp.stop(), 0, epp.stderr())

    def test_cert_path_reloaded_when_renewed(self):
        first = make_pair(self.dir, 'epp-one')
        epp = start(self.sim, '--cert-path', self.dir, '--enable-cert-reload')
        try:
            self.wait_routable(epp)
            address = epp.info['epp']
            self.assertEqual(pem_body(h.server_certificate(address)), pem_body(first))
            self.assertEqual(decide(address, h.tls_channel(address, first)), self.sim.info['api'])
            second = make_pair(self.dir, 'epp-two')
            # gRPC's watcher looks at the files every second: new handshakes get the new pair.
            h.wait_for(lambda: pem_body(h.server_certificate(address)) == pem_body(second), timeout=10,
                       what='the renewed certificate served')
            self.assertEqual(decide(address, h.tls_channel(address, second)), self.sim.info['api'])
        finally:
            self.assertEqual(epp.stop(), 0, epp.stderr())

    def test_cert_path_without_reload_and_bad_pairs(self):
        first = make_pair(self.dir, 'epp-static')
        epp = start(self.sim, '--cert-path', self.dir)
        try:
            self.wait_routable(epp)
            self.assertEqual(pem_body(h.server_certificate(epp.info['epp'])), pem_body(first))
            self.assertEqual(decide(epp.info['epp'], h.tls_channel(epp.info['epp'], first)), self.sim.info['api'])
        finally:
            self.assertEqual(epp.stop(), 0, epp.stderr())
        # A key that is not the certificate's, a missing file: no start, the file named.
        other = tempfile.mkdtemp(prefix='rg-epp-tls-bad-', dir=self.dir)
        make_pair(other, 'a')
        shutil.copy(os.path.join(self.dir, 'tls.crt'), os.path.join(other, 'tls.crt'))
        huge = tempfile.mkdtemp(prefix='rg-epp-tls-huge-', dir=self.dir)
        shutil.copy(os.path.join(self.dir, 'tls.crt'), os.path.join(huge, 'tls.crt'))
        with open(os.path.join(huge, 'tls.key'), 'w') as f:
            f.write('x' * ((1 << 20) + 1))  # one byte past the bound: never read whole
        for directory, said in ((other, 'tls.key is not the key of tls.crt'),
                                (os.path.join(self.dir, 'absent'), 'cannot read'),
                                (huge, 'larger than 1 MiB')):
            p = subprocess.run([h.RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen',
                                '127.0.0.1:0', '--admin', '127.0.0.1:0', '--endpoint', self.sim.info['api'],
                                '--cert-path', directory], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(said, p.stderr)
        p = subprocess.run([h.RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen',
                            '127.0.0.1:0', '--admin', '127.0.0.1:0', '--endpoint', self.sim.info['api'],
                            '--enable-cert-reload'], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('--enable-cert-reload needs --cert-path', p.stderr)

    def test_cert_reload_refuses_a_key_not_the_certificates(self):
        # Issue 71. At start: --enable-cert-reload with a key that is not the certificate's
        # is refused, the file named.
        stray = tempfile.mkdtemp(prefix='rg-epp-tls-stray-', dir=self.dir)
        make_pair(stray, 'epp-stray')
        bad = tempfile.mkdtemp(prefix='rg-epp-tls-mismatch-', dir=self.dir)
        make_pair(bad, 'epp-bad')
        shutil.copy(os.path.join(stray, 'tls.key'), os.path.join(bad, 'tls.key'))
        p = subprocess.run([h.RINGGATE, '--mode', 'epp', '--epp-listen', '127.0.0.1:0', '--epp-health-listen',
                            '127.0.0.1:0', '--admin', '127.0.0.1:0', '--endpoint', self.sim.info['api'],
                            '--cert-path', bad, '--enable-cert-reload'], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('tls.key is not the key of tls.crt', p.stderr)
        # At reload: a renewed certificate whose key was not renewed with it is refused; the
        # old pair is kept and served to new connections; the next good pair is taken.
        live = tempfile.mkdtemp(prefix='rg-epp-tls-live-', dir=self.dir)
        first = make_pair(live, 'epp-kept')
        epp = start(self.sim, '--cert-path', live, '--enable-cert-reload')

        def served():
            try:
                return pem_body(h.server_certificate(epp.info['epp']))
            except Exception:  # no handshake: nothing served
                return None
        try:
            self.wait_routable(epp)
            self.assertEqual(served(), pem_body(first))
            shutil.copy(os.path.join(stray, 'tls.crt'), os.path.join(live, 'tls.crt.new'))
            os.replace(os.path.join(live, 'tls.crt.new'), os.path.join(live, 'tls.crt'))
            h.wait_for(lambda: 'certificate reload rejected' in epp.stderr() or served() != pem_body(first),
                       timeout=10, what='the mismatched pair looked at')
            self.assertEqual(served(), pem_body(first), epp.stderr())
            self.assertIn('tls.key is not the key of tls.crt', epp.stderr())
            self.assertEqual(decide(epp.info['epp'], h.tls_channel(epp.info['epp'], first)), self.sim.info['api'])
            second = make_pair(live, 'epp-next')
            h.wait_for(lambda: served() == pem_body(second), timeout=10, what='the next good pair served')
            self.assertEqual(decide(epp.info['epp'], h.tls_channel(epp.info['epp'], second)), self.sim.info['api'])
        finally:
            self.assertEqual(epp.stop(), 0, epp.stderr())


if __name__ == '__main__':
    unittest.main()
