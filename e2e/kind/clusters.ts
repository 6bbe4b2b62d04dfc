// kind clusters for `make e2e-kind`: the same shared environment as the local clusters (app + control-plane,
// described by the same JSON), created with the kind CLI, with the connector image built and loaded. Only this file
// differs from the local run; it needs Docker and the kind CLI, so CI (no Docker) never runs it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { repoRoot } from '../harness/paths.ts';
import { kindImage } from '../harness/provider.ts';
import type { SharedCluster, SharedEnvironment } from '../harness/shared.ts';

export const kindClusterName = (name: string) => `ctp-e2e-${name}`;

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
}

/** The parts of a kind kubeconfig the shared environment records. Pure. */
export function describeKindCluster(
  name: string,
  dir: string,
  kubeconfig: string,
  internalKubeconfig: string,
): Omit<SharedCluster, 'kubeconfigPath' | 'credentialKubeconfigPath'> & {
  kubeconfig: string;
  internalKubeconfig: string;
} {
  const parsed = load(kubeconfig) as Kubeconfig;
  const cluster = parsed.clusters[0]?.cluster;
  if (!cluster) throw new Error(`kind kubeconfig of ${name} has no cluster`);
  return {
    name,
    dir,
    server: cluster.server,
    servingCAPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'),
    kubeconfig,
    internalKubeconfig,
  };
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

export async function startKindEnvironment(): Promise<{
  shared: SharedEnvironment;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'ctp-e2e-kind-'));
  run('docker', ['build', '-t', kindImage, repoRoot]);
  const clusters: Record<string, SharedCluster> = {};
  const created: string[] = [];
  const stop = () => {
    for (const name of created) run('kind', ['delete', 'cluster', '--name', name]);
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  };
  try {
    for (const name of ['app', 'control-plane']) {
      const kindName = kindClusterName(name);
      const clusterDir = join(dir, name);
      mkdirSync(clusterDir, { recursive: true });
      run('kind', ['create', 'cluster', '--name', kindName, '--wait', '180s']);
      created.push(kindName);
      run('kind', ['load', 'docker-image', kindImage, '--name', kindName]);
      const described = describeKindCluster(
        name,
        clusterDir,
        run('kind', ['get', 'kubeconfig', '--name', kindName]),
        // What pods of the other kind cluster use: the node container's name on the shared "kind" network.
        run('kind', ['get', 'kubeconfig', '--internal', '--name', kindName]),
      );
      const kubeconfigPath = join(clusterDir, 'kubeconfig');
      const credentialKubeconfigPath = join(clusterDir, 'internal.kubeconfig');
      writeFileSync(kubeconfigPath, described.kubeconfig, { mode: 0o600 });
      writeFileSync(credentialKubeconfigPath, described.internalKubeconfig, { mode: 0o600 });
      const { kubeconfig: _k, internalKubeconfig: _i, ...rest } = described;
      clusters[name] = { ...rest, kubeconfigPath, credentialKubeconfigPath };
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { shared: { provider: 'kind', dir, clusters }, stop };
}
