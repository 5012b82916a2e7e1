// Deterministic pseudo-text for prompts: every seed its own words (no shared prefix between
// two seeds), exactly `bytes` long. The routing tests build their prompts from it.
export function text(seed, bytes) {
  let x = (seed * 2654435761) % 4294967296;
  let s = '';
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += 'w' + (x % 9973).toString(36) + ' ';
  }
  return s.slice(0, bytes);
}
