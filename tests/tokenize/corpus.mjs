// A deterministic corpus of prompts for the token-id comparison: unicode of many
// scripts, emoji (ZWJ sequences, flags, skin tones), CJK, code, whitespace runs of
// every kind, decomposed accents (NFC), special-token lookalikes inside text, very
// long words and long prompts. Characters of Unicode 15 and later are left out: the
// reference's JavaScript engine and PCRE2 (Debian 12) know different Unicode versions.

// Every model's special tokens, so that each model sees the others' as plain text.
const specials = [
  '<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '<|python_tag|>',
  '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', '<tool_call>',
  '<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>', '<pad>', '<mask>', '[multimodal]', '<unused12>',
  '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<｜fim▁hole｜>',
  '<0x41>', '<|reserved_special_token_5|>',
];
const lookalikes = [
  '<|eot_id', 'eot_id|>', '<<|eot_id|>>', '<|EOT_ID|>', '< |im_start| >', '<|im_start', '<start_of_turn',
  '<｜User', '｜>', '<|', '|>', '<|im_end|>\n', '<bos><bos>', '<｜begin of sentence｜>',
];
const fragments = [
  'Hello', ' world', 'the', ' quick brown fox', "don't", "DON'T", "I'm", "we'll", "they'VE", "it's", "'s", "'S",
  ' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', '\r', ' \n ', '\u00a0', '\u3000', '\u2003', '\u0085',
  '\u200b', '\ufeff', '\u2028', '\u202f', '\u000b', '\f',
  '123', '4567890', '3.14159', '1,000,000', '０１２３', '٣٤٥', '½', 'Ⅻ', '²',
  '你好', '世界', '中文分词测试', '日本語のテキスト', 'カタカナ', 'ひらがな', '한국어 텍스트', '漢字',
  'Привет, мир', 'Ελληνικά', 'العربية', 'עברית', 'हिन्दी', 'ไทย', 'Tiếng Việt', 'ქართული',
  'café', 'cafe\u0301', 'e\u0301\u0301', 'Å', 'A\u030a', 'ﬁ', 'ǅ', 'ß', 'ſ', 'K', 'İ',
  '😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '🏳️‍🌈', '❤️', '✨', '🤖', '🧠', '⚡',
  'def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}', '#include <vector>',
  '{"key": "value", "n": [1, 2, 3]}', '<div class="a">text</div>', 'SELECT * FROM t WHERE id = 1;',
  '$ ls -la | grep foo', 'a->b', 'x != y', '===', '...', '!!!', '???', '---', '***', '“quoted”', '«guillemets»',
  '`code`', '~/path/to/file.txt', 'https://example.com/a?b=c&d=e', 'user@example.com', '#hashtag', '@mention',
  '©®™', '€£¥', '∑∫√∞', '→←↑↓', '♠♣♥♦', '\u0000', '\u0001', '\u007f', '\ud7ff', '\ue000', '\ufffd', '\u{10ffff}',
  '\u{1f600}\u{1f600}\u{1f600}', 'Ǆ', 'ǈ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟘𝟙', '𠀀', '\u{2a6d6}',
];

// xorshift32: the corpus is the same on every run.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export function corpus() {
  const out = [];
  for (const f of fragments) out.push(f);
  for (const s of specials) out.push(s, `text ${s} more`, `${s}${s}`, ` ${s} `, `a${s}b`);
  for (const l of lookalikes) out.push(l, `x${l}y`);
  // Whitespace runs and long words: the regexes' and BPE's worst cases.
  for (const n of [1, 2, 3, 7, 16, 100, 1000, 5000]) {
    out.push(' '.repeat(n), `a${' '.repeat(n)}b`, '\n'.repeat(n), `x${'\t'.repeat(n)}\n${' '.repeat(n)}y`,
      `${' '.repeat(n)}\n`, '\u00a0'.repeat(n), ' \r\n'.repeat(n));
  }
  for (const n of [10, 100, 1000, 8000]) {
    out.push('a'.repeat(n), 'ab'.repeat(n / 2), 'Supercalifragilistic'.repeat(n / 20), '9'.repeat(n),
      '😀'.repeat(n / 10), '中'.repeat(n / 4), '-'.repeat(n), `${'=' .repeat(n)}\n`, 'e\u0301'.repeat(n / 10));
  }
  const random = rng(14);
  const pool = [...fragments, ...specials, ...lookalikes];
  const pick = () => pool[Math.floor(random() * pool.length)];
  while (out.length < 640) {
    const parts = 1 + Math.floor(random() * 12);
    let s = '';
    for (let i = 0; i < parts; ++i) s += pick();
    out.push(s);
  }
  // A few long prompts built the same way (~20-60 KB).
  for (let k = 0; k < 4; ++k) {
    let s = '';
    while (s.length < 20000 * (k + 1)) s += pick();
    out.push(s);
  }
  return out;
}
