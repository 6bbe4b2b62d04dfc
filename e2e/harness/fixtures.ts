// Sample control-plane content: the Crossplane XRD API, XRDs and the claim/XR CRDs Crossplane would generate.
import { readFileSync } from 'node:fs';
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

/** The sample KubernetesCluster claim under another name and namespace (its connection Secret: <name>-kubeconfig). */
export function claimManifest(name: string, namespace: string): string {
  return readFileSync(join(fixturesDir, 'samples', 'kubernetescluster-claim.yaml'), 'utf8')
    .replace('name: my-cluster', `name: ${name}`)
    .replace('namespace: default', `namespace: ${namespace}`)
    .replace('name: my-cluster-kubeconfig', `name: ${name}-kubeconfig`);
}
