import { startSim, startGateway, waitRoutable } from './lib/procs.mjs';
import { startRedis } from './lib/redis.mjs';
const MODEL = 'facebook/opt-125m';
const live = [];
try {
  const redis = await startRedis(); live.push(redis);
  const sims = []; for (let i = 0; i < 4; i++) { const s = await startSim(['--model', MODEL, '--mode', 'echo']); live.push(s); sims.push(s); }
  const args = ['--workers', '1', ...sims.flatMap((s) => ['--endpoint', `127.0.0.1:${s.port}`]), '--redis', `127.0.0.1:${redis.port}`];
  const gws = []; for (let i = 0; i < 2; i++) { const g = await startGateway(args); live.push(g); gws.push(g); }
  for (const g of gws) await waitRoutable(g);
  await new Promise((r) => setTimeout(r, 500));
  const sys = 'Chat system prompt #1. You are assistant 1. ' + 'lorem ipsum dolor '.repeat(100);
  for (let c = 0; c < 4; c++) {
    const msgs = [{ role: 'system', content: sys }, { role: 'user', content: `conversation ${c} ` + 'q'.repeat(200) }];
    const line = [];
    for (let t = 0; t < 6; t++) {
      const g = gws[t % 2];
      const res = await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: msgs, max_tokens: 8 }) });
      const body = await res.json();
      const pick = await (await fetch(`${g.adminUrl}/debug/pick?path=/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: msgs, max_tokens: 8 }) })).json();
      line.push(`${res.headers.get('x-gateway-destination-endpoint')?.split(':')[1]}(${pick.reason},${pick.matched_blocks}/${pick.total_blocks},r${pick.gateway_replicas})`);
      msgs.push({ role: 'assistant', content: body.choices[0].message.content }, { role: 'user', content: `turn ${t} ` + 'x'.repeat(100) });
    }
    console.log(`conv ${c}: ${line.join(' ')}`);
  }
} finally { for (const p of live.reverse()) await p.stop('SIGKILL'); }
