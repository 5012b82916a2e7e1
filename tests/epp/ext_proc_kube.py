"""Issue 15, EPP mode with the GAIE objects read from the Kubernetes API: ringgate --mode epp
on `pool.discovery.kubernetes.inferencePool`, against the fake API server
(tests/discovery/fake_kube_api.mjs, real wire format, driven through its stdin), real sims
playing the pods. Driven over ext-proc as Envoy does: the pick follows the pods' Ready
condition, and an InferenceModelRewrite applied / updated / deleted through the API changes
the forwarded body's model and the pick within 1 s; a malformed one is rejected (counted)
and the last good rule stays."""
import json
import os
import subprocess
import threading
import time
import unittest

import epp_harness as h
from epp_harness import ep, Mode

FAKE_API = os.path.join(h.SOURCE_ROOT, 'tests', 'discovery', 'fake_kube_api.mjs')
# How soon a change in the API reaches the picks, stretched as every test's time on a
# sanitized build (RINGGATE_TEST_TIME_SCALE).
LIMIT_S = 1.0 * max(1.0, float(os.environ.get('RINGGATE_TEST_TIME_SCALE') or 1))


class FakeApi:
    def __init__(self):
        self.proc = subprocess.Popen(['node', FAKE_API], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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


def rewrite(target):
    return {'metadata': {'name': 'chat-alias'},
            'spec': {'poolRef': {'group': 'inference.networking.k8s.io', 'name': 'vllm-pool'},
                     'rules': [{'matches': [{'model': {'type': 'Exact', 'value': 'chat'}}],
                                'targets': [{'modelRewrite': target}]}]}}


class EppKubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Two pods on their own loopback addresses at one port (an InferencePool has one target port).
        a = h.start_sim('--model', 'model-a', '--host', '127.0.0.2')
        port = a.info['api'].rsplit(':', 1)[1]
        b = h.start_sim('--model', 'model-b', '--host', '127.0.0.3', '--port', port)
        cls.sims = [a, b]
        cls.A, cls.B = '127.0.0.2:' + port, '127.0.0.3:' + port
        cls.api = FakeApi()
        cls.api.do(op='createObject', resource='inferencepools', object={
            'metadata': {'name': 'vllm-pool'},
            'spec': {'selector': {'matchLabels': {'app': 'vllm'}}, 'targetPorts': [{'number': int(port)}],
                     'endpointPickerRef': {'name': 'vllm-pool-epp', 'port': {'number': 9002}}}})
        cls.api.do(op='createPod', name='vllm-0', options={'labels': {'app': 'vllm'}, 'ip': '127.0.0.2', 'port': int(port)})
        cls.api.do(op='createPod', name='vllm-1', options={'labels': {'app': 'vllm'}, 'ip': '127.0.0.3', 'port': int(port),
                                                          'ready': False})
        config = h.write_config('''apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
pool:
  discovery:
    kubernetes: {namespace: default, inferencePool: vllm-pool, apiServer: "%s"}
''' % cls.api.info['url'])
        cls.epp = h.start_epp_with_config(config)
        cls.address = cls.epp.info['epp']
        cls.admin = cls.epp.info['admin']
        h.wait_for(lambda: h.health_status(cls.epp.info['eppHealth'], 'inference-extension') == h.SERVING,
                   what='EPP health SERVING for the chart\'s probe service')

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        cls.api.stop()
        for s in cls.sims:
            s.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def decide(self, model):
        """One buffered ext-proc exchange: (status, destination, forwarded model)."""
        body = json.dumps({'model': model, 'prompt': 'hello', 'max_tokens': 1}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
        s.recv()
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        s.close()
        if r.WhichOneof('response') == 'immediate_response':
            return r.immediate_response.status.code, None, None
        common = r.request_body.response
        dest = h.header_map(common.header_mutation)['x-gateway-destination-endpoint']
        forwarded = json.loads(common.body_mutation.body)['model'] if common.HasField('body_mutation') else model
        return 200, dest, forwarded

    def decide_later(self, model):
        """decide() on a thread (a model with no ready pod holds its stream): (box, thread)."""
        box = {}
        thread = threading.Thread(target=lambda: box.update(result=self.decide(model)), daemon=True)
        thread.start()
        return box, thread

    def held(self):
        return sum(v for k, v in h.scrape(self.admin).items() if k.startswith('llm_d_epp_flow_control_queue_size{'))

    def within(self, what, check):
        start = time.monotonic()
        while True:
            got = check()
            if got:
                return time.monotonic() - start
            self.assertLess(time.monotonic() - start, LIMIT_S, what)

    def rejected(self):
        return h.scrape(self.admin).get('ringgate_kube_objects_rejected_total{kind="InferenceModelRewrite"}', 0)

    def test_pods_and_rewrites_from_the_api(self):
        # Only the Ready pod is picked; model-b (on the not-ready pod) is not served yet: its
        # stream is held (issue 66) until the pod turns ready, then picked for.
        self.assertEqual(self.decide('model-a')[1], self.A)
        box, thread = self.decide_later('model-b')
        h.wait_for(lambda: self.held() == 1, what='the model-b stream held')
        self.assertNotIn('result', box)
        self.api.do(op='setPodReady', name='vllm-1', ready=True)
        lag_ready = self.within('pod ready → held stream picked', lambda: box.get('result', (0, None))[1] == self.B)
        thread.join(5)
        # No rule yet: "chat" is no served model.
        self.assertEqual(self.decide('chat')[0], 404)
        self.api.do(op='createObject', resource='inferencemodelrewrites', object=rewrite('model-a'))
        lag_apply = self.within('rewrite applied', lambda: self.decide('chat') == (200, self.A, 'model-a'))
        self.api.do(op='updateObject', resource='inferencemodelrewrites', name='chat-alias', object=rewrite('model-b'))
        lag_update = self.within('rewrite updated', lambda: self.decide('chat') == (200, self.B, 'model-b'))
        before = self.rejected()
        bad = rewrite('model-a')
        bad['spec']['rules'][0]['targets'] = [{'modelRewrite': 'model-a', 'weight': 3}, {'modelRewrite': 'model-a'}]
        self.api.do(op='updateObject', resource='inferencemodelrewrites', name='chat-alias', object=bad)
        h.wait_for(lambda: self.rejected() > before, timeout=5, what='the malformed rewrite counted')
        for _ in range(5):
            self.assertEqual(self.decide('chat'), (200, self.B, 'model-b'))  # the last good rule stays
        self.api.do(op='deleteObject', resource='inferencemodelrewrites', name='chat-alias')
        lag_delete = self.within('rewrite deleted', lambda: self.decide('chat')[0] == 404)
        # Ready → not ready: picked away.
        self.api.do(op='setPodReady', name='vllm-0', ready=False)
        box, thread = self.decide_later('model-a')
        lag_unready = self.within('pod not ready → not picked (held)', lambda: self.held() == 1)
        self.assertNotIn('result', box)
        self.api.do(op='setPodReady', name='vllm-0', ready=True)  # releases it
        h.wait_for(lambda: box.get('result', (0, None))[1] == self.A, what='the held model-a stream picked')
        thread.join(5)
        print('# EPP mode lags (ms): ready %.0f apply %.0f update %.0f delete %.0f unready %.0f' %
              tuple(x * 1000 for x in (lag_ready, lag_apply, lag_update, lag_delete, lag_unready)))


if __name__ == '__main__':
    unittest.main(verbosity=2)
