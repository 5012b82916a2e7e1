// The llm-d corpus (issue 69): every EndpointPickerConfig llm-d ships, collected in
// ../shared/llmd-guides/ beside the checkout (INDEX.md, manifest.json). Runs
// `ringgate --check-config` over each file and sorts the outcome: loaded clean, loaded
// with "ignored" warnings, refused (and why). Used by tests/config/llmd_corpus.test.mjs
// and by `node tests/lib/llmd_corpus.mjs` (the figures for a report).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaries } from './procs.mjs';

const execFileP = promisify(execFile);
export const corpusDir = path.resolve(import.meta.dirname, '../../../shared/llmd-guides');
export const corpusPresent = () => existsSync(path.join(corpusDir, 'manifest.json'));

export function manifest() {
  return JSON.parse(readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'));
}

async function checkOne(file, mode) {
  const args = ['--check-config', path.join(corpusDir, file)];
  if (mode) args.unshift('--mode', mode);
  try {
    const { stdout, stderr } = await execFileP(binaries.ringgate, args, { timeout: 60000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

// Each file of the manifest checked: {file, entry, code, warnings[], errors[]}; two at a time.
export async function checkCorpus(mode) {
  const files = manifest().files;
  const results = new Array(files.length);
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const i = next++;
      const { code, out } = await checkOne(files[i].file, mode);
      const lines = out.split('\n').filter(Boolean);
      results[i] = {
        file: files[i].file, entry: files[i], code,
        warnings: lines.filter((l) => l.includes(': warning: ')).map((l) => l.slice(l.indexOf(': warning: ') + 11)),
        errors: code === 0 ? [] : lines.filter((l) => !/: \d+ errors?$/.test(l)),
      };
    }
  }
  await Promise.all([worker(), worker()]);
  return results;
}

// The plugin types a warning or error names: "(type T)", "plugins[i]" (by the manifest's order).
function typesNamed(line, entry) {
  const types = new Set();
  for (const m of line.matchAll(/\(type ([a-z0-9-]+)\)/g)) types.add(m[1]);
  for (const m of line.matchAll(/plugins\[(\d+)\]/g)) if (entry.plugins[+m[1]]) types.add(entry.plugins[+m[1]][1]);
  for (const [name, type] of entry.plugins) if (line.includes(`'${name}'`)) types.add(type);
  return types;
}

export function summarize(results) {
  const clean = results.filter((r) => r.code === 0 && r.warnings.length === 0);
  const warned = results.filter((r) => r.code === 0 && r.warnings.length > 0);
  const refused = results.filter((r) => r.code !== 0);
  const allTypes = new Set(results.flatMap((r) => r.entry.types));
  const dirty = new Set();
  for (const r of results) {
    for (const line of [...r.warnings, ...r.errors]) for (const t of typesNamed(line, r.entry)) dirty.add(t);
    if (r.code !== 0 && r.errors.every((l) => typesNamed(l, r.entry).size === 0)) r.entry.types.forEach((t) => dirty.add(t));
  }
  const cleanTypes = [...allTypes].filter((t) => !dirty.has(t)).sort();
  return { clean, warned, refused, allTypes, cleanTypes };
}

if (process.argv[1] === import.meta.filename) {
  const mode = process.argv[2];
  if (!corpusPresent()) {
    console.log(`no corpus at ${corpusDir}`);
    process.exit(77);
  }
  const results = await checkCorpus(mode);
  const s = summarize(results);
  const count = (lines) => {
    const by = new Map();
    for (const l of lines) by.set(l, (by.get(l) ?? 0) + 1);
    return [...by].sort((a, b) => b[1] - a[1]);
  };
  const shorten = (l) => l.replace(/^.*?\.yaml(:\d+:\d+)?: /, '').replace(/plugins\[\d+\]/g, 'plugins[i]')
    .replace(/plugin '[^']*'/g, "plugin '…'");
  console.log(`mode ${mode ?? 'default'}: ${results.length} configs: ${s.clean.length} clean, ` +
    `${s.warned.length} loaded with warnings, ${s.refused.length} refused`);
  console.log(`${s.cleanTypes.length} of ${s.allTypes.size} plugin types load with nothing ignored wherever they appear: ` +
    s.cleanTypes.join(', '));
  console.log('\nwarnings (count):');
  for (const [l, n] of count(s.warned.flatMap((r) => r.warnings.map(shorten)))) console.log(`  ${n} ${l}`);
  console.log('\nrefusals (count, first error of each file):');
  for (const [l, n] of count(s.refused.map((r) => shorten(r.errors[0] ?? '?')))) console.log(`  ${n} ${l}`);
}
