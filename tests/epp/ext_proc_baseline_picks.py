"""Issue 52 acceptance: llm-d's optimized-baseline EndpointPickerConfig, as the guide writes it
(data/llm-d-optimized-baseline.yaml at --config-file), picks in EPP mode exactly what the
gateway picks with the same file (perf/routing/baseline.mjs's `llm-d-optimized` row): one
recorded request sequence, the same state in (the prefix index built by the same earlier
picks, the same requests in flight), the same pick out.

The sequence is 48 completions over 6 shared system prompts plus a unique question, in bursts
of 3: within a burst the earlier requests stay in flight (the gateway's streams are slow; the
EPP's ext-proc streams are held open), so the token-load scorer sees their prompt and estimated
output tokens; between bursts everything has ended. Both run one worker, so the filter's
exploration draws come from the same seeded generator in the same order."""
import json
import os
import random
import unittest

import epp_harness as h
from epp_harness import ep, Mode

MODEL = 'facebook/opt-125m'
PICKER_CONFIG = os.path.join(h.HERE, 'data', 'llm-d-optimized-baseline.yaml')
BURST, BURSTS = 3, 16


def sequence():
    rng = random.Random(52)
    words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet']
    systems = ['System prompt %d. ' % g + ' '.join(rng.choice(words) for _ in range(300 + 40 * g)) for g in range(6)]
    # A skewed pick of the system prompt, as shared-prefix traffic is: some groups repeat often.
    return [systems[min(5, int(rng.expovariate(0.6)))] + '\nQuestion %d: ' % i +
            ' '.join(rng.choice(words) for _ in range(rng.randint(10, 60))) for i in range(BURST * BURSTS)]


def body_of(prompt):
    return json.dumps({'model': MODEL, 'prompt': prompt, 'max_tokens': 20, 'stream': True}).encode()


class BaselinePicks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 50 ms a token: a 20-token stream stays in flight for ~1 s, past the rest of its burst.
        cls.sims = [h.start_sim('--model', MODEL, '--inter-token-latency-ms', '50') for _ in range(4)]
        cls.endpoints = [x for s in cls.sims for x in ('--endpoint', s.info['api'])]

    @classmethod
    def tearDownClass(cls):
        for s in cls.sims:
            s.stop()

    def ready(self, admin):
        h.wait_for(lambda: len(h.debug_endpoints(admin)) == 4 and all(e['routable'] for e in h.debug_endpoints(admin)),
                   what='all four sims routable')

    def picks_in_bursts(self, proc, prompts, decide, finish):
        """Each burst's requests decided one after another, held in flight until the burst ends."""
        self.ready(proc.info['admin'])
        picks = []
        for start in range(0, len(prompts), BURST):
            held = []
            for prompt in prompts[start:start + BURST]:
                pick, handle = decide(prompt)
                picks.append(pick)
                held.append(handle)
            for handle in held:
                finish(handle)
            h.wait_for(lambda: sum(h.inflight(proc.info['admin']).values()) == 0, what='idle')
        return picks

    def gateway_picks(self, prompts):
        gw = h.start_gateway('--workers', '1', '--config-file', PICKER_CONFIG, *self.endpoints)

        def decide(prompt):
            # The response headers come after the pick and the send: the request is in flight.
            conn, resp = h.send_to(gw.info['api'], '/v1/completions', body_of(prompt))
            self.assertEqual(resp.status, 200)
            return resp.getheader('x-gateway-destination-endpoint'), (conn, resp)

        def finish(handle):
            conn, resp = handle
            self.assertIn(b'data: [DONE]', resp.read())
            conn.close()

        try:
            return self.picks_in_bursts(gw, prompts, decide, finish)
        finally:
            self.assertEqual(gw.stop(), 0, gw.stderr())
            self.assertNotIn('warn', gw.stderr().lower(), 'the guide\'s plugin names are all known')

    def epp_picks(self, prompts):
        epp = h.start_epp('--workers', '1', '--config-file', PICKER_CONFIG, *self.endpoints)

        def decide(prompt):
            body = body_of(prompt)
            s = h.ExtProcStream(epp.info['epp'])
            s.send(request_headers=h.headers(h.request_head('/v1/completions', len(body))),
                   protocol_config=ep.ProtocolConfiguration(request_body_mode=Mode.BUFFERED))
            s.recv()
            s.send(request_body=ep.HttpBody(body=body, end_of_stream=True))
            r = s.recv()
            return h.header_map(r.request_body.response.header_mutation)['x-gateway-destination-endpoint'], s

        def finish(s):  # the Gateway's request ends: released
            self.assertEqual(s.close(), h.grpc.StatusCode.OK)

        try:
            return self.picks_in_bursts(epp, prompts, decide, finish)
        finally:
            self.assertEqual(epp.stop(), 0, epp.stderr())
            self.assertNotIn('warn', epp.stderr().lower(), 'the guide\'s plugin names are all known')

    def test_same_sequence_same_picks(self):
        prompts = sequence()
        gateway = self.gateway_picks(prompts)
        epp = self.epp_picks(prompts)
        differ = [(i, gateway[i], epp[i]) for i in range(len(prompts)) if gateway[i] != epp[i]]
        self.assertEqual(differ, [], 'picks that differ (request, gateway, EPP)')
        # The sequence exercises the profile: the filter kept prompts on their server, and the
        # token load spread the first sightings and the bursts over more than one server.
        self.assertGreater(len(set(gateway)), 2, gateway)
        by_system = {}
        for prompt, pick in zip(prompts, gateway):
            by_system.setdefault(prompt.split('.')[0], []).append(pick)
        sticky = sum(max(picks.count(p) for p in set(picks)) for picks in by_system.values())
        self.assertGreaterEqual(sticky, 0.8 * len(prompts), by_system)


if __name__ == '__main__':
    unittest.main()
