// Sample control-plane content: the sample XRDs, and where no Crossplane runs, the Crossplane XRD API and the
// claim/XR CRDs Crossplane would generate from them (hand-written copies in e2e/fixtures/control-plane).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';
import { waitFor } from './wait.ts';

export const fixturesDir = join(repoRoot, 'e2e', 'fixtures');
const controlPlaneDir = join(fixturesDir, 'control-plane');

/** The sample XRDs: e2e/fixtures/control-plane/<nn>-<name>-xrd.yaml. */
export const xrdFiles = readdirSync(controlPlaneDir)
  .filter((f) => /^\d+-.+-xrd\.yaml$/.test(f))
  .map((f) => join(controlPlaneDir, f));

interface XRD {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; claimNames?: { plural: string } };
}

/** The CRDs Crossplane generates from the sample XRDs: each XR's and, where an XRD offers one, its claim's. */
export function generatedCRDs(): { xrd: string; crd: string; offered: boolean }[] {
  return xrdFiles.flatMap((file) => {
    const xrd = load(readFileSync(file, 'utf8')) as XRD;
    const claim = xrd.spec.claimNames;
    return [
      { xrd: xrd.metadata.name, crd: `${xrd.spec.names.plural}.${xrd.spec.group}`, offered: false },
      ...(claim ? [{ xrd: xrd.metadata.name, crd: `${claim.plural}.${xrd.spec.group}`, offered: true }] : []),
    ];
  });
}

/**
 * The sample claim APIs in `cluster`. With Crossplane (a cluster started with `crossplane: true`) only the XRDs are
 * applied and Crossplane generates the CRDs: this waits until each XRD is Established (and Offered where it offers a
 * claim) and its CRDs are. Without, the hand-written CRDs stand in for Crossplane's.
 */
export async function installControlPlaneFixtures(
  cluster: KubectlTarget & { crossplane?: unknown },
): Promise<void> {
  if (cluster.crossplane) return installXRDs(cluster);
  // CRDs first: the XRD objects need the XRD CRD to be established.
  await kubectlOk(cluster, [
    'apply',
    '--server-side',
    '-f',
    join(controlPlaneDir, '00-crossplane-xrd-crd.yaml'),
  ]);
  await kubectlOk(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await kubectlOk(cluster, ['apply', '--server-side', '-f', controlPlaneDir]);
  await kubectlOk(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
}

async function installXRDs(cluster: KubectlTarget): Promise<void> {
  await kubectlOk(cluster, ['apply', '--server-side', ...xrdFiles.flatMap((f) => ['-f', f])]);
  const generated = generatedCRDs();
  const wait = (condition: string, names: string[]) =>
    kubectlOk(cluster, ['wait', `--for=condition=${condition}`, '--timeout=60s', ...names]);
  await wait('Established', [...new Set(generated.map((g) => `xrd/${g.xrd}`))]);
  await wait('Offered', [...new Set(generated.filter((g) => g.offered).map((g) => `xrd/${g.xrd}`))]);
  // Established XRDs have established CRDs; the check is cheap and says which one is missing if not.
  const crds = generated.map((g) => `crd/${g.crd}`);
  await waitFor(async () => ((await kubectl(cluster, ['get', ...crds])).code === 0 ? true : undefined), {
    timeoutMs: 30_000,
    what: `the CRDs Crossplane generates (${crds.join(', ')})`,
  });
  await wait('Established', crds);
}
