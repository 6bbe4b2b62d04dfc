// Sample control-plane content: the Crossplane XRD API, XRDs and the claim/XR CRDs Crossplane would generate.
import { join } from 'node:path';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';

export const fixturesDir = join(repoRoot, 'e2e', 'fixtures');

export async function installControlPlaneFixtures(cluster: KubectlTarget): Promise<void> {
  const dir = join(fixturesDir, 'control-plane');
  // CRDs first: the XRD objects need the XRD CRD to be established.
  await kubectlOk(cluster, ['apply', '--server-side', '-f', join(dir, '00-crossplane-xrd-crd.yaml')]);
  await kubectlOk(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await kubectlOk(cluster, ['apply', '--server-side', '-f', dir]);
  await kubectlOk(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
}
