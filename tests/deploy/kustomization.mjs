// Resolves a kustomization directory the way kustomize does for what these
// manifests use (resources: files and directories; components), returning
// [{file, doc}]. Shared by manifests.test.mjs and kustomize_check.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocuments, parseOne } from './yaml_subset.mjs';

export const root = path.resolve(import.meta.dirname, '../..');
export const rel = (p) => path.relative(root, p);
const read = (p) => fs.readFileSync(p, 'utf8');

export function kustomize(dir, seen = new Set()) {
  const kfile = path.join(dir, 'kustomization.yaml');
  assert.ok(fs.existsSync(kfile), `${rel(dir)} has no kustomization.yaml`);
  assert.ok(!seen.has(dir), `kustomization cycle through ${rel(dir)}`);
  seen.add(dir);
  const k = parseOne(read(kfile), rel(kfile));
  const out = [];
  for (const entry of [...(k.resources ?? []), ...(k.components ?? [])]) {
    const target = path.resolve(dir, entry);
    assert.ok(fs.existsSync(target), `${rel(kfile)}: resource ${entry} does not exist`);
    if (fs.statSync(target).isDirectory()) out.push(...kustomize(target, seen));
    else for (const doc of parseDocuments(read(target), rel(target))) out.push({ file: target, doc });
  }
  return out;
}

// Every kustomization directory of deploy/.
export const kustomizationDirs = [
  'deploy/kubernetes', 'deploy/kubernetes/vllm-sim', 'deploy/kubernetes/vllm-cpu',
  'deploy/kind/sim', 'deploy/kind/cpu', 'deploy/epp',
].map((d) => path.join(root, d));
