// Locates the Kubernetes test binaries, Crossplane, kustomize and Argo CD: KUBEBUILDER_ASSETS (envtest-style
// binaries a user already has) first, then the ones `make tools` builds into .tools/bin.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

export type Binary =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kubectl'
  | 'helm'
  | 'crossplane'
  | 'kustomize'
  | 'argocd-application-controller'
  | 'argocd-repo-server'
  | 'source-controller'
  | 'kustomize-controller'
  | 'helm-controller';

export function binaryPath(name: Binary): string {
  const candidates = [process.env.KUBEBUILDER_ASSETS, join(repoRoot, '.tools', 'bin')].filter(
    (dir): dir is string => Boolean(dir),
  );
  for (const dir of candidates) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${name} not found in ${candidates.join(' or ')}: run \`make tools\` or set KUBEBUILDER_ASSETS`,
  );
}
