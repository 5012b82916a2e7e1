"""The approximate index's share of a server kept by its hit counters (control/prefix_capacity.h)
in EPP mode: the same accounting as the gateway's (tests/sched/prefix_capacity.test.mjs), with
the decisions made over ext-proc and each request sent to the chosen sim by the test, as the
Gateway would. One sim of 64 KV blocks of 16 tokens that runs 2 requests at once; 12 prompts
of 500 bytes (8 of the index's blocks each, 96 in all) cycled, 4 at a time: LRU over a cycle
longer than the cache evicts each prompt before it comes back, so the sim delivers none of
the hits the index (twice the sim's 64 blocks) promises while requests wait there, and the
server's share shrinks."""
import json
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'


def prompt(i):
    # 500 bytes a prompt, distinct from its first block on.
    words = ('w%d-%d ' % (i, n) for n in range(200))
    return ''.join(words)[:500]


class EppPrefixCapacity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.start_sim('--model', MODEL, '--kv-blocks', '64', '--block-size', '16', '--max-num-seqs', '2',
                              '--inter-token-latency-ms', '10')
        cls.api = cls.sim.info['api']
        cls.epp = h.start_epp('--endpoint', cls.api)
        cls.address = cls.epp.info['epp']
        cls.admin = cls.epp.info['admin']
        h.wait_for(lambda: h.health_status(cls.epp.info['eppHealth']) == h.SERVING, what='EPP health SERVING')
        h.wait_for(lambda: any(e['address'] == cls.api and e.get('prefix_index_capacity') == 128
                               for e in h.debug_endpoints(cls.admin)), what="the sim's cache_config_info read")

    @classmethod
    def tearDownClass(cls):
        code = cls.epp.stop()
        cls.sim.stop()
        assert code == 0, 'ringgate exited %s: %s' % (code, cls.epp.stderr())

    def route_and_send(self, text):
        body = json.dumps({'model': MODEL, 'prompt': text, 'max_tokens': 4}).encode()
        s = h.ExtProcStream(self.address)
        s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
               protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.FULL_DUPLEX_STREAMED))
        s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
        r = s.recv()
        dest = h.header_map(r.request_headers.response.header_mutation)['x-gateway-destination-endpoint']
        self.assertEqual(dest, self.api)
        s.responses.cancel()
        s.channel.close()
        conn, res = h.send_to(dest, '/v1/completions', body)
        res.read()
        conn.close()
        self.assertEqual(res.status, 200)

    def test_promises_the_sim_did_not_keep_shrink_its_share(self):
        seen = []
        pool = ThreadPoolExecutor(4)
        for _ in range(8):
            for batch in range(0, 12, 4):
                list(pool.map(lambda i: self.route_and_send(prompt(i)), range(batch, batch + 4)))
            time.sleep(0.15)  # a few scrapes (every 50 ms): a window is judged at one
            e = next(x for x in h.debug_endpoints(self.admin) if x['address'] == self.api)
            c = e['prefix_capacity']
            if c['windows'] > (seen[-1]['windows'] if seen else 0):
                seen.append(dict(c, capacity=e['prefix_index_capacity']))
        self.assertGreaterEqual(len(seen), 2, seen)
        pool.shutdown()
        broken = [w for w in seen if w['promised'] - w['delivered'] > 0.03 and w['queued']]
        self.assertTrue(broken, seen)
        self.assertLess(broken[0]['delivered'], 0.1, seen)
        self.assertLess(broken[0]['factor'], 2, seen)
        self.assertLess(broken[0]['capacity'], 128, seen)


if __name__ == '__main__':
    unittest.main()
