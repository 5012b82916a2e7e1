// Shared helpers for the sim's integration tests.
import { scrape } from '../lib/procs.mjs';

export const MODEL = 'facebook/opt-125m';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The value of one sample; `labels` is the exact label text inside {...}.
// Labels as vLLM prints them: sorted by name.
export function sample(metrics, name, labels = `engine="0",model_name="${MODEL}"`) {
  return metrics.get(`${name}{${labels}}`);
}

// Polls /metrics until pred(metrics) holds; returns the metrics. Fails after timeoutMs.
export async function waitForMetrics(url, pred, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let m;
  while (Date.now() < deadline) {
    m = await scrape(`${url}/metrics`);
    if (pred(m)) return m;
    await sleep(20);
  }
  throw new Error(`metrics never matched; last scrape:\n${[...(m ?? new Map())].map(([k, v]) => `${k} ${v}`).join('\n')}`);
}

// Starts a streaming completion with fetch; resolves once the first SSE bytes
// arrived, with {reader, abort(), rest(): Promise<string>} to read or drop the rest.
export async function openStream(url, body) {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ stream: true, ...body }), signal: controller.signal,
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const first = await reader.read();
  text += decoder.decode(first.value ?? new Uint8Array());
  return {
    firstText: text,
    abort: () => controller.abort(),
    async rest() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += decoder.decode(value);
      }
    },
  };
}

export function postCompletion(url, body, headers = {}) {
  return fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
}

// SIGTERM and insist on a clean exit (status 0: drained, no sanitizer report).
export async function stopClean(sim) {
  const { code, signal } = await sim.stop('SIGTERM');
  if (code !== 0) throw new Error(`ringgate-sim exited with ${code ?? signal}: ${sim.stderr()}`);
}

// A 16 kHz 16-bit mono WAV of `seconds` of silence (an audio upload).
export function wav(seconds) {
  const data = 32000 * seconds;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0); b.writeUInt32LE(36 + data, 4); b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(data, 40);
  return b;
}
