// Token ids of ringgate-tokenize (the C++ tokenizer) equal the reference's
// (@huggingface/tokenizers) on every prompt of the corpus, for every supported model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { models, referenceTokenizer, runCli } from './models.mjs';
import { corpus } from './corpus.mjs';

const prompts = corpus();

for (const [name, dir] of Object.entries(models)) {
  test(`${name}: token ids equal the reference on ${prompts.length} prompts`, () => {
    assert.ok(prompts.length >= 500);
    const reference = referenceTokenizer(dir);
    // Odd prompts with the post-processor's special tokens (BOS), even ones without.
    const inputs = prompts.map((text, i) => ({ text, add_special: i % 2 === 1 }));
    const got = runCli(dir, inputs);
    assert.equal(got.length, inputs.length);
    const mismatches = [];
    inputs.forEach((input, i) => {
      const want = reference.encode(input.text, { add_special_tokens: input.add_special }).ids;
      if (JSON.stringify(got[i]) !== JSON.stringify(want)) mismatches.push({ i, text: input.text.slice(0, 80), got: got[i], want });
    });
    assert.equal(mismatches.length, 0,
      `${mismatches.length} mismatches, first: ${JSON.stringify(mismatches[0])?.slice(0, 2000)}`);
  });
}
