// A deterministic corpus of chat conversations for the chat-template comparison:
// system prompts or not, alternating and broken role orders (Gemma's template raises
// on the latter), contents with edge whitespace (trim), reasoning (<think> … </think>
// in Qwen3's assistant turns), tool calls and tool results, content given as parts,
// special-token lookalikes, and both add_generation_prompt values.
import { corpus } from './corpus.mjs';

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export function conversations() {
  const texts = corpus().filter((t) => t.length < 2000);
  const random = rng(2026);
  const pick = () => texts[Math.floor(random() * texts.length)];
  const chance = (p) => random() < p;
  const out = [];
  while (out.length < 560) {
    const messages = [];
    if (chance(0.4)) messages.push({ role: 'system', content: chance(0.2) ? `  ${pick()}\n` : pick() });
    const turns = 1 + Math.floor(random() * 6);
    let role = 'user';
    for (let t = 0; t < turns; ++t) {
      if (role === 'user') {
        let content = pick();
        if (chance(0.2)) content = ` \n${content}\t `;
        messages.push(chance(0.05) ? { role, content: [{ type: 'text', text: content }] } : { role, content });
        role = 'assistant';
      } else {
        let content = pick();
        if (chance(0.25)) content = `<think>\n${pick()}\n</think>\n\n${content}`;
        if (chance(0.1)) {
          const call = { type: 'function', function: { name: 'lookup', arguments: '{"q": "x"}' } };
          messages.push({ role, content: chance(0.5) ? null : content, tool_calls: [call] });
          messages.push({ role: 'tool', content: pick() });
          if (chance(0.5)) messages.push({ role: 'tool', content: '{"ok": true}' });
        } else {
          messages.push({ role, content });
        }
        role = 'user';
      }
      // Now and then a broken order (two turns of one role).
      if (chance(0.05)) role = role === 'user' ? 'assistant' : 'user';
    }
    out.push({ messages, add_generation_prompt: chance(0.6) });
  }
  return out;
}
