"""Issue 34: ringgate started exactly as GAIE's inferencepool Helm chart starts its EPP: the
chart's rendered args (data/inferencepool-chart-args.txt), no ringgate flag and no --mode,
the chart's EndpointPickerConfig (data/inferencepool-default-plugins.yaml) at --config-file,
and the pod's environment: in-cluster service-account auth over TLS to the fake API server
(tests/discovery/fake_kube_api.mjs, real wire format), real sims playing the pool's pods.
It comes up in EPP mode, discovers the InferencePool's pods, answers ext-proc on
--grpc-port, grpc.health.v1 (the chart's probe services) on --grpc-health-port and
/metrics on --metrics-port, and warns once about each chart flag it does not act on.
The same again with the chart rendered for an inference.networking.x-k8s.io pool
(--pool-group, a v1alpha2 InferencePool).

Only what a shared test machine needs is changed in the args: the chart's fixed ports
become 0 (ephemeral; the listening line says which were bound) and /config/, the
ConfigMap mount, a temp dir holding the chart's default-plugins.yaml."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import epp_harness as h
from epp_harness import ep, Mode

FAKE_API = os.path.join(h.SOURCE_ROOT, 'tests', 'discovery', 'fake_kube_api.mjs')
ARGS_FILE = os.path.join(h.HERE, 'data', 'inferencepool-chart-args.txt')
PLUGINS_FILE = os.path.join(h.HERE, 'data', 'inferencepool-default-plugins.yaml')
PORT_FLAGS = ('--grpc-port', '--grpc-health-port', '--metrics-port')
TOKEN = 'sa-token'
NAMESPACE = 'llm'
# The chart flags ringgate takes without acting on them, as its warnings name them.
IGNORED = ['--zap-encoder=json', '--ha-enable-leader-election', '--v=1', '--tracing=false',
           '--metrics-endpoint-auth=false']


def chart_args(config_dir, pool_group=None):
    with open(ARGS_FILE) as f:
        args = [line.rstrip('\n') for line in f if line.strip() and not line.startswith('#')]
    for flag in PORT_FLAGS + ('--config-file', '--pool-name', '--pool-namespace'):
        assert flag in args, '%s is not in %s' % (flag, ARGS_FILE)
    out = []
    for i, a in enumerate(args):
        if i > 0 and args[i - 1] in PORT_FLAGS:
            a = '0'
        out.append(a.replace('/config/', config_dir + '/'))
        if pool_group and i > 0 and args[i - 1] == '--pool-namespace':
            out += ['--pool-group', pool_group]  # where the chart's template puts it
    return out


class FakeApi:
    def __init__(self, *args):
        self.proc = subprocess.Popen(['node', FAKE_API, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        h._live.append(self.proc)
        self.info = json.loads(self.proc.stdout.readline())

    def do(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + '\n')
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert answer['ok'], answer
        return answer

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class ChartArgs(unittest.TestCase):
    POOL_GROUP = None  # the chart's default: inference.networking.k8s.io, no --pool-group

    @classmethod
    def pool_object(cls, port):
        return {'metadata': {'name': 'vllm-pool'},
                'spec': {'selector': {'matchLabels': {'app': 'vllm'}}, 'targetPorts': [{'number': port}],
                         'endpointPickerRef': {'name': 'vllm-pool-epp', 'port': {'number': 9002}}}}

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='ringgate-chart-args-')
        # Two pods on their own loopback addresses at one port (an InferencePool has one target port).
        a = h.start_sim('--model', 'model-a', '--host', '127.0.0.2')
        port = a.info['api'].rsplit(':', 1)[1]
        b = h.start_sim('--model', 'model-b', '--host', '127.0.0.3', '--port', port)
        cls.sims = [a, b]
        cls.A, cls.B = '127.0.0.2:' + port, '127.0.0.3:' + port
        tls = os.path.join(cls.dir, 'tls')
        api_args = ['--tls-dir', tls, '--token', TOKEN, '--namespace', NAMESPACE]
        if cls.POOL_GROUP:
            api_args += ['--pool-group', cls.POOL_GROUP]
        cls.api = FakeApi(*api_args)
        cls.api.do(op='createObject', resource='inferencepools', object=cls.pool_object(int(port)))
        for name, ip in (('vllm-0', '127.0.0.2'), ('vllm-1', '127.0.0.3')):
            cls.api.do(op='createPod', name=name, options={'labels': {'app': 'vllm'}, 'ip': ip, 'port': int(port)})
        # The pod's service account, as the kubelet mounts it.
        sa = os.path.join(cls.dir, 'serviceaccount')
        os.mkdir(sa)
        shutil.copy(os.path.join(tls, 'kube-ca.crt'), os.path.join(sa, 'ca.crt'))
        for name, text in (('token', TOKEN), ('namespace', NAMESPACE)):
            with open(os.path.join(sa, name), 'w') as f:
                f.write(text)
        # The chart's ConfigMap, mounted at /config.
        config_dir = os.path.join(cls.dir, 'config')
        os.mkdir(config_dir)
        shutil.copy(PLUGINS_FILE, os.path.join(config_dir, 'default-plugins.yaml'))
        cls.args = chart_args(config_dir, cls.POOL_GROUP)
        env = {'KUBERNETES_SERVICE_HOST': '127.0.0.1', 'KUBERNETES_SERVICE_PORT': cls.api.info['api'].rsplit(':', 1)[1],
               'RINGGATE_SA_DIR': sa, 'NAMESPACE': NAMESPACE, 'POD_NAME': 'vllm-pool-epp-0'}
        cls.epp = h.Proc([h.RINGGATE, *cls.args], env=env)
        local = lambda address: '127.0.0.1:' + address.rsplit(':', 1)[1]  # bound on every interface, as the Go EPP
        cls.grpc, cls.health, cls.metrics = (local(cls.epp.info[k]) for k in ('epp', 'eppHealth', 'admin'))
        # The chart's args say nothing of TLS: ext-proc is TLS with a self-signed certificate,
        # as the Go EPP's --secure-serving default; the client trusts what the server shows.
        cls.cert = h.server_certificate(cls.grpc)

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        cls.api.stop()
        for s in cls.sims:
            s.stop()
        shutil.rmtree(cls.dir, True)
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def decide(self, model):
        """One buffered ext-proc exchange as Envoy's ext_proc filter drives it: (status, destination)."""
        body = json.dumps({'model': model, 'prompt': 'hello', 'max_tokens': 1}).encode()
        s = h.ExtProcStream(self.grpc, h.tls_channel(self.grpc, self.cert))
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
        s.recv()
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        s.close()
        if r.WhichOneof('response') == 'immediate_response':
            return r.immediate_response.status.code, None
        return 200, h.header_map(r.request_body.response.header_mutation)['x-gateway-destination-endpoint']

    def test_epp_mode_on_the_ports_the_flags_name(self):
        self.assertEqual(self.epp.info.get('mode'), 'epp')  # from the chart's flags alone: no --mode
        self.assertIs(self.epp.info.get('eppTls'), True)
        self.assertIn('self-signed', self.epp.stderr())
        ports = {k: int(self.epp.info[k].rsplit(':', 1)[1]) for k in ('epp', 'eppHealth', 'admin')}
        # Each was given as 0 through its chart flag: ephemeral, none at ringgate's own default.
        self.assertEqual(len(set(ports.values())), 3, ports)
        self.assertFalse(set(ports.values()) & {9002, 9003, 9090, 0}, ports)

    def test_health_on_the_grpc_health_port_for_the_chart_probes(self):
        # replicas > 1: the chart's probes ask for liveness / readiness; with 1 for inference-extension.
        for service in ('liveness', 'readiness', 'inference-extension'):
            h.wait_for(lambda: h.health_status(self.health, service) == h.SERVING, timeout=15,
                       what='grpc.health.v1 %r SERVING on --grpc-health-port' % service)

    def test_pods_discovered_and_picked_over_ext_proc_on_the_grpc_port(self):
        h.wait_for(lambda: sorted(e['address'] for e in h.debug_endpoints(self.metrics) if e['routable']) ==
                   sorted([self.A, self.B]), timeout=15, what="the InferencePool's two pods routable")
        h.wait_for(lambda: self.decide('model-a') == (200, self.A), timeout=15, what='model-a picked on its pod')
        self.assertEqual(self.decide('model-b'), (200, self.B))
        self.assertEqual(self.decide('no-such-model')[0], 404)

    def test_metrics_on_the_metrics_port(self):
        h.wait_for(lambda: h.scrape(self.metrics).get('inference_pool_ready_pods{name="vllm-pool"}') == 2,
                   timeout=15, what='inference_pool_ready_pods 2 on --metrics-port')

    def test_warns_once_about_each_flag_it_does_not_act_on(self):
        warnings = [line for line in self.epp.stderr().splitlines() if line.startswith('ringgate: warning: ')]
        for flag in IGNORED:
            named = [w for w in warnings if w.startswith('ringgate: warning: %s is ignored: ' % flag)]
            self.assertEqual(len(named), 1, '%s: %s' % (flag, warnings))
        # TLS is served as the chart expects: nothing to warn about.
        self.assertFalse([w for w in warnings if 'TLS' in w], warnings)
        # The flags it honors, and the chart's EndpointPickerConfig, give no warning.
        self.assertEqual(len(warnings), len(IGNORED), '\n'.join(warnings))
        for honored in ('--pool-name', '--pool-namespace', '--pool-group', '--grpc-port', '--grpc-health-port',
                        '--metrics-port', '--config-file', '--kv-cache-usage-percentage-metric', 'default-plugins'):
            self.assertFalse([w for w in warnings if honored in w], honored)
        self.assertNotRegex(self.epp.stderr(), re.compile('unknown flag|error', re.I))


class ChartArgsXK8sPool(ChartArgs):
    """The chart rendered with inferencePool.apiVersion inference.networking.x-k8s.io/v1alpha2:
    --pool-group inference.networking.x-k8s.io, and a v1alpha2 InferencePool to match."""
    POOL_GROUP = 'inference.networking.x-k8s.io'

    @classmethod
    def pool_object(cls, port):
        return {'metadata': {'name': 'vllm-pool'},
                'spec': {'selector': {'app': 'vllm'}, 'targetPortNumber': port,
                         'extensionRef': {'name': 'vllm-pool-epp'}}}


class UnknownFlagsWithEppConfig(unittest.TestCase):
    """No --mode and a config file saying `mode: epp`: unknown flags are warned about once the
    file is read, and ringgate runs (in gateway mode they are refused: tests/gateway)."""

    def test_warned_not_fatal(self):
        sim = h.start_sim('--model', 'model-a')
        config = h.write_config('apiVersion: ringgate.io/v1\nkind: Gateway\nmode: epp\n'
                                'pool: {discovery: {static: ["%s"]}}\n' % sim.info['api'])
        epp = h.start_epp_with_config(config, '--some-newer-epp-flag', 'x', '--zap-devel')
        try:
            warnings = [line for line in epp.stderr().splitlines() if line.startswith('ringgate: warning: ')]
            self.assertIn('ringgate: warning: --some-newer-epp-flag=x is ignored: not a flag ringgate knows (see --help)',
                          warnings)
            self.assertEqual(len([w for w in warnings if w.startswith('ringgate: warning: --zap-devel is ignored')]), 1)
        finally:
            self.assertEqual(epp.stop(), 0)
            sim.stop()


if __name__ == '__main__':
    unittest.main(verbosity=2)
