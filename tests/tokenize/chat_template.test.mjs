// The C++ chat-template renderer's text equals the reference renderer's
// (@huggingface/jinja, as transformers.js renders chat templates) on a corpus of
// conversations, for every supported model; a conversation the reference refuses
// (raise_exception, a type error) is an error value in C++ too. The rendered text
// then tokenizes to the reference's ids (special tokens of the template included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';
import { models, readModel, referenceTokenizer, runCli } from './models.mjs';
import { conversations } from './conversations.mjs';

const corpus = conversations();
const tokenText = (t) => (typeof t === 'string' ? t : t?.content ?? '');

for (const [name, dir] of Object.entries(models)) {
  test(`${name}: rendered chat equals the reference on ${corpus.length} conversations`, () => {
    assert.ok(corpus.length >= 500);
    const { config } = readModel(dir);
    const source = Array.isArray(config.chat_template)
      ? config.chat_template.find((t) => t.name === 'default').template : config.chat_template;
    const template = new Template(source);
    const want = corpus.map((c) => {
      try {
        return { text: template.render({ ...c, bos_token: tokenText(config.bos_token), eos_token: tokenText(config.eos_token) }) };
      } catch (e) {
        return { error: String(e.message ?? e) };
      }
    });
    const got = runCli(dir, corpus);
    assert.equal(got.length, corpus.length);
    const mismatches = [];
    let rendered = 0;
    corpus.forEach((c, i) => {
      if ('error' in want[i]) {
        if (!('error' in got[i])) mismatches.push({ i, want: want[i], got: got[i].text?.slice(0, 300) });
        return;
      }
      ++rendered;
      if (got[i].text !== want[i].text) mismatches.push({ i, messages: c.messages, want: want[i].text, got: got[i] });
    });
    assert.equal(mismatches.length, 0,
      `${mismatches.length} mismatches, first: ${JSON.stringify(mismatches[0])?.slice(0, 3000)}`);
    assert.ok(rendered >= 400, `only ${rendered} conversations rendered`);

    // Token ids of the rendered conversations (what vLLM hashes into KV blocks).
    const texts = want.filter((w) => 'text' in w).map((w) => w.text);
    const ids = runCli(dir, texts.map((text) => ({ text, add_special: false })));
    const reference = referenceTokenizer(dir);
    texts.forEach((text, i) => {
      assert.deepEqual(ids[i], reference.encode(text, { add_special_tokens: false }).ids, `ids of rendered ${i}`);
    });
  });
}
