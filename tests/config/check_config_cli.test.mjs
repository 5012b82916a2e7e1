// `ringgate --check-config FILE` through the binary: 30 kinds of bad config each exit 1
// with a `FILE:LINE:COL: message` line at the right place; every error of a file is
// listed; the shipped examples (and the config inside the Kubernetes ConfigMap) pass
// with exit 0. The library's unit tests (tests/config/bad_config_test.cpp) hold the
// same cases at the loader level; this checks what an operator sees.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaries } from '../lib/procs.mjs';

const execFileP = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'ringgate-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const repo = path.resolve(import.meta.dirname, '../..');

async function check(file) {
  try {
    const { stdout, stderr } = await execFileP(binaries.ringgate, ['--check-config', file], { timeout: 60000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    if (e.code === undefined || typeof e.code !== 'number') throw e;
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

// A valid Gateway document and separator: the documents after it start on line 5.
const GW = 'apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: ["127.0.0.1:8000"]}}\n---\n';
const HEAD = 'apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: ["h:1"]}}\n';
const rewrite = (spec) => GW + 'apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n' +
  'metadata: {name: r}\nspec:\n' + spec;
const objective = (rest) => GW + 'apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\n' + rest;
const pool = (rest) => GW + 'apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\n' + rest;

// [kind, file text, line, column, part of the message]
const BAD = [
  ['yaml-unclosed-flow', 'apiVersion: ringgate.io/v1\nkind: Gateway\nlisten: {api: ":8080"\n', 4, null, 'invalid YAML'],
  ['yaml-bad-indent', 'apiVersion: ringgate.io/v1\nkind: Gateway\nlisten:\n  api: ":8080"\n admin: ":9090"\n', 5, null, 'invalid YAML'],
  ['yaml-stray-comma', ',\n', 1, 1, "invalid YAML: unexpected ','"],
  ['empty-file', '', 1, 1, 'no documents'],
  ['document-not-a-map', GW + '- just\n- a list\n', 5, 1, 'expected a map with apiVersion and kind'],
  ['unknown-kind', GW + 'apiVersion: v1\nkind: ConfigMap\n', 6, 7, 'unknown kind "ConfigMap"'],
  ['missing-apiVersion', 'kind: Gateway\npool: {discovery: {static: ["h:1"]}}\n', 1, 1, "missing required field 'apiVersion'"],
  ['wrong-apiVersion', 'apiVersion: ringgate.io/v2\nkind: Gateway\npool: {discovery: {static: ["h:1"]}}\n', 1, 13,
    'Gateway needs apiVersion ringgate.io/v1'],
  ['unknown-top-field', 'apiVersion: ringgate.io/v1\nkind: Gateway\nlistn: {api: ":1"}\npool: {discovery: {static: ["h:1"]}}\n',
    3, 1, 'listn: unknown field'],
  ['unknown-nested-field', rewrite('  rules:\n  - targets:\n    - modelRewrite: m\n      wieght: 3\n'), 12, 7,
    'spec.rules[0].targets[0].wieght: unknown field'],
  ['wrong-type', HEAD + 'workers: four\n', 4, 10, 'expected an integer, got "four"'],
  ['out-of-range-workers', HEAD + 'workers: -1\n', 4, 10, 'workers: value -1 is out of range (0 to 1024)'],
  ['weight-zero', rewrite('  rules:\n  - targets:\n    - {modelRewrite: a, weight: 0}\n'), 11, 33,
    'value 0 is out of range (1 to 1000000)'],
  ['weight-too-big', rewrite('  rules:\n  - targets:\n    - {modelRewrite: a, weight: 1000001}\n'), 11, 33,
    'value 1000001 is out of range (1 to 1000000)'],
  ['weight-fraction', rewrite('  rules:\n  - targets:\n    - {modelRewrite: a, weight: 1.5}\n'), 11, 33, 'expected an integer, got "1.5"'],
  ['mixed-weighted-unweighted', rewrite('  rules:\n  - targets:\n    - {modelRewrite: a, weight: 90}\n    - {modelRewrite: b}\n'),
    11, 5, 'weights must be set on every target or on none'],
  ['duplicate-rule', rewrite('  rules:\n  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: x}]\n' +
    '  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: y}]\n'), 12, 5, 'model "a" is already matched by the rule at line 10'],
  ['duplicate-rule-across-documents', rewrite('  rules:\n  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: x}]\n') +
    '---\napiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\nmetadata: {name: s}\nspec:\n' +
    '  rules:\n  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: y}]\n', 18, 5, 'already matched by the rule at line 10'],
  ['two-catch-alls', rewrite('  rules:\n  - targets: [{modelRewrite: x}]\n  - matches: []\n    targets: [{modelRewrite: y}]\n'),
    11, 5, 'a second catch-all rule'],
  ['no-targets', rewrite('  rules:\n  - targets: []\n'), 10, 14, 'needs at least one target'],
  ['unsupported-match-type', rewrite('  rules:\n  - matches: [{model: {type: Prefix, value: a}}]\n    targets: [{modelRewrite: m}]\n'),
    10, 30, 'unsupported match type "Prefix"'],
  ['missing-pool', 'apiVersion: ringgate.io/v1\nkind: Gateway\nworkers: 2\n', 1, 1, 'Gateway: missing pool'],
  ['unknown-poolRef', rewrite('  poolRef: {name: other}\n  rules: [{targets: [{modelRewrite: m}]}]\n'), 9, 12, 'unknown pool "other"'],
  ['static-and-kubernetes', 'apiVersion: ringgate.io/v1\nkind: Gateway\n' +
    'pool: {discovery: {static: ["h:1"], kubernetes: {service: s, port: 80}}}\n', 3, 49, "give either 'static' or 'kubernetes'"],
  ['bad-duration', HEAD + 'timeouts:\n  request: 5 seconds\n', 5, 12, 'unknown unit in duration "5 seconds"'],
  ['endpoint-without-port', 'apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n    - 10.0.0.1:8000\n    - 10.0.0.2\n',
    7, 7, 'invalid address "10.0.0.2": missing :port'],
  ['duplicate-endpoint', 'apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: ["h:1", "h:1"]}}\n', 3, 36,
    'duplicate endpoint h:1'],
  ['admin-equals-api', HEAD + 'listen: {api: ":8080", admin: ":8080"}\n', 4, 31, 'listen.admin: must differ from listen.api'],
  ['duplicate-key', HEAD + 'workers: 2\nworkers: 3\n', 5, 1, 'workers: duplicate key (first at line 4)'],
  ['second-gateway', GW + 'apiVersion: ringgate.io/v1\nkind: Gateway\n', 6, 7, 'a second Gateway document'],
  ['objective-priority-not-integer', objective('metadata: {name: o}\nspec: {priority: high}\n'), 8, 18, 'expected an integer, got "high"'],
  ['objective-duplicate-name', objective('metadata: {name: o}\n---\napiVersion: inference.networking.x-k8s.io/v1alpha2\n' +
    'kind: InferenceObjective\nmetadata: {name: o}\n'), 9, 1, 'duplicate name (first at line 5)'],
  ['pool-name-mismatch', pool('metadata: {name: other}\nspec:\n  selector: {matchLabels: {a: b}}\n  targetPorts: [{number: 1}]\n'),
    5, 1, 'name must match the gateway\'s pool "vllm"'],
];

test(`${BAD.length} kinds of bad config: exit 1 and FILE:LINE:COL: at the right place`, { timeout: 300000 }, async () => {
  assert.ok(new Set(BAD.map((b) => b[0])).size === BAD.length && BAD.length >= 20);
  const results = await Promise.all(BAD.map(async ([kind, text, line, column, needle]) => {
    const file = path.join(dir, `${kind}.yaml`);
    writeFileSync(file, text);
    return { kind, file, line, column, needle, ...(await check(file)) };
  }));
  const problems = [];
  for (const r of results) {
    const lines = r.out.split('\n').filter((l) => l.startsWith(`${r.file}:`));
    const at = r.column === null ? `${r.file}:${r.line}:` : `${r.file}:${r.line}:${r.column}: `;
    const hit = lines.find((l) => l.startsWith(at) && l.includes(r.needle));
    const located = lines.filter((l) => /^[^:]+:\d+:\d+: /.test(l));
    if (r.code !== 1) problems.push(`${r.kind}: exit ${r.code}, wanted 1: ${r.out}`);
    else if (!hit) problems.push(`${r.kind}: no line "${at}...${r.needle}" in:\n${r.out}`);
    else if (lines.some((l) => !/^[^:]+:\d+:\d+: /.test(l) && !/: \d+ errors?$/.test(l)))
      problems.push(`${r.kind}: an error line without LINE:COL:\n${r.out}`);
    else if (located.length === 0) problems.push(`${r.kind}: nothing located`);
  }
  assert.deepEqual(problems, []);
  console.log(`check-config: ${results.length} bad files, each exit 1 with its FILE:LINE:COL: line, e.g.\n  ` +
              results.slice(0, 3).map((r) => r.out.split('\n')[0]).join('\n  '));
});

test('every error of a file is listed, in line order, with a count', async () => {
  const file = path.join(dir, 'many.yaml');
  writeFileSync(file, `apiVersion: ringgate.io/v1
kind: Gateway
workers: -2
pool: {discovery: {static: ["10.0.0.1"]}}
timeouts: {request: soon}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  rules:
  - matches: [{model: {value: a}}]
    targets: [{modelRewrite: x, weight: 0}]
---
kind: Mystery
apiVersion: v1
`);
  const r = await check(file);
  assert.equal(r.code, 1);
  const located = r.out.split('\n').filter((l) => l.startsWith(`${file}:`) && /^[^:]+:\d+:\d+: /.test(l));
  assert.deepEqual(located.map((l) => Number(l.slice(file.length + 1).split(':')[0])), [3, 4, 5, 12, 14], r.out);
  assert.match(r.out, /: 5 errors\n?$/);
});

test('a missing file is an error (exit 1) that names the file', async () => {
  const file = path.join(dir, 'does-not-exist.yaml');
  const r = await check(file);
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot open`));
});

test('the shipped examples and the ConfigMap\'s config pass with exit 0', async () => {
  const examples = readdirSync(path.join(repo, 'deploy/examples')).filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(repo, 'deploy/examples', f));
  assert.ok(examples.length >= 2, JSON.stringify(examples));
  // deploy/kubernetes/configmap.yaml embeds ringgate.yaml as a block scalar: check that text too.
  const cm = readFileSync(path.join(repo, 'deploy/kubernetes/configmap.yaml'), 'utf8').split('\n');
  const start = cm.findIndex((l) => /^ {2}ringgate\.yaml: \|/.test(l));
  assert.ok(start >= 0, 'ConfigMap has data.ringgate.yaml');
  const body = [];
  for (const l of cm.slice(start + 1)) {
    if (l.trim() !== '' && !l.startsWith('    ')) break;
    body.push(l.slice(4));
  }
  const embedded = path.join(dir, 'configmap-ringgate.yaml');
  writeFileSync(embedded, body.join('\n'));
  for (const file of [...examples, embedded]) {
    const r = await check(file);
    assert.equal(r.code, 0, `${file}: ${r.out}`);
    assert.match(r.out, /: OK: 1 Gateway/, r.out);
    console.log(r.out.trim());
  }
});
