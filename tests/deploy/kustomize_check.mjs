// `kubectl kustomize` builds every kustomization of deploy/ into exactly the
// objects its files name. A plain script, not a node:test file, so that it can
// tell meson SKIP (exit 77) when no usable kubectl is installed: scripts/setup.sh
// installs Debian's kubernetes-client, but Debian 12's kubectl (1.20, kustomize
// v2) predates kustomize components (kubectl >= 1.21), which these manifests use.
import { spawnSync } from 'node:child_process';
import { parseDocuments } from './yaml_subset.mjs';
import { kustomize, kustomizationDirs, rel } from './kustomization.mjs';

const SKIP = 77;
const version = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
if (version.error) {
  console.log('SKIP: kubectl is not installed (scripts/setup.sh installs kubernetes-client)');
  process.exit(SKIP);
}
let minor = 0;
try { minor = Number.parseInt(JSON.parse(version.stdout).clientVersion.minor, 10); } catch {}
if (!(minor >= 21)) {
  console.log(`SKIP: kubectl 1.${minor} embeds a kustomize without components (needs kubectl >= 1.21)`);
  process.exit(SKIP);
}
let failed = 0;
for (const dir of kustomizationDirs) {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`FAIL kubectl kustomize ${rel(dir)}: ${r.stderr}`);
    failed++;
    continue;
  }
  const built = parseDocuments(r.stdout, `kustomize ${rel(dir)}`).map((o) => `${o.kind}/${o.metadata.name}`).sort();
  const mine = kustomize(dir).map(({ doc }) => `${doc.kind}/${doc.metadata.name}`).sort();
  if (JSON.stringify(built) !== JSON.stringify(mine)) {
    console.log(`FAIL kubectl kustomize ${rel(dir)} builds ${JSON.stringify(built)}, the files name ${JSON.stringify(mine)}`);
    failed++;
  } else {
    console.log(`ok kubectl kustomize ${rel(dir)}: ${built.length} objects`);
  }
}
process.exit(failed ? 1 : 0);
