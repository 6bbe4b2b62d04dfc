// Connection lifecycle in the operator: token rotation, restart mid-reconcile, each deletion policy, and a
// finalizer that holds while the control plane cannot be reached.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dump, load } from 'js-yaml';
import { scopedIdentityName } from '../operator/src/connection/scoped.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import {
  connectionManifest,
  credentialSecret,
  operatorNamespace,
  prepareConnector,
  startTestOperator,
  spawnOperatorProcess,
} from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const ns = operatorNamespace;
const claimsPath = (namespace: string) => ['kubernetesclusters.platform.example.org', '-n', namespace];

interface Status {
  clusterID?: string;
  conditions?: { type: string; status: string; reason: string; message?: string }[];
}

async function status(name: string): Promise<Status | undefined> {
  const result = await kubectl(app, ['get', 'ctpc', name, '-o', 'jsonpath={.status}']);
  return result.code === 0 && result.stdout ? (JSON.parse(result.stdout) as Status) : undefined;
}

async function waitCondition(name: string, type: string, reason: string): Promise<Status> {
  return waitFor(
    async () => {
      const s = await status(name);
      return s?.conditions?.some((c) => c.type === type && c.reason === reason) ? s : undefined;
    },
    { timeoutMs: 60_000, what: `${name} ${type}=${reason}` },
  );
}

function connect(name: string, spec: Record<string, unknown>, secret = 'control-plane'): Promise<string> {
  return kubectlOk(
    app,
    ['apply', '-f', '-'],
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: ns, name: secret } },
      ...spec,
    }),
  );
}

/** A claim as the proxy stores it in the control plane: mapped name, connector labels. */
function storedClaim(namespace: string, name: string, clusterID: string, appName: string): string {
  return JSON.stringify({
    apiVersion: 'platform.example.org/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: {
      name,
      namespace,
      labels: {
        'connect.ctp.dev/cluster-id': clusterID,
        'connect.ctp.dev/app-namespace': 'default',
        'connect.ctp.dev/app-name': appName,
      },
      annotations: { 'connect.ctp.dev/app-name': appName },
    },
    spec: { id: appName },
  });
}

describe('connection lifecycle', () => {
  let operator: RunningOperator | undefined;
  let port: number;
  const start = async () => {
    operator = await startTestOperator(app, port);
  };

  const stop = async () => {
    await operator?.stop();
    operator = undefined;
  };

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    [port] = (await freePorts(1)) as [number];
    await start();
  });

  afterAll(stop);

  it('rotates the scoped token once half its lifetime has passed', async () => {
    await connect('rotation', { targetNamespace: 'team-rotation', deletionPolicy: 'Detach' });
    await waitCondition('rotation', 'CredentialsValid', 'Valid');
    const read = async () =>
      JSON.parse(await kubectlOk(app, ['-n', ns, 'get', 'secret', 'ctpc-rotation-token', '-o', 'json'])) as {
        data: { token: string };
        metadata: { annotations: Record<string, string> };
      };
    const before = await read();
    // Age the token: issued 50 minutes ago with a one-hour lifetime, so rotation (at 30 minutes) is overdue.
    // The operator owns these annotations and a reconcile already under way may write them back, so age
    // them again until the rotation is seen.
    const after = await waitFor(
      async () => {
        const current = await read();
        if (current.data.token !== before.data.token) return current;
        const now = Date.now();
        await kubectlOk(app, [
          '-n',
          ns,
          'annotate',
          '--overwrite',
          'secret',
          'ctpc-rotation-token',
          `connect.ctp.dev/token-issued-at=${new Date(now - 50 * 60_000).toISOString()}`,
          `connect.ctp.dev/token-expires-at=${new Date(now + 10 * 60_000).toISOString()}`,
        ]);
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 3_000, what: 'a new token' },
    );
    const issued = new Date(after.metadata.annotations['connect.ctp.dev/token-issued-at']!).getTime();
    expect(Math.abs(issued - Date.now())).toBeLessThan(60_000);
    await kubectlOk(app, ['delete', 'ctpc', 'rotation', '--timeout=60s']);
  });

  it('converges to the same objects, without duplicates, after the operator is killed mid-reconcile', async () => {
    await stop();
    await connect('restart', { targetNamespace: 'team-restart', deletionPolicy: 'Detach' });
    // The operator as a process, SIGKILLed as soon as the first owned object shows up: the reconcile is midway.
    const killed = spawnOperatorProcess(app, { leaderElect: false, localProxyPort: port });
    try {
      await waitFor(
        async () =>
          (await kubectl(app, ['-n', ns, 'get', 'secret', 'ctpc-restart-token'])).code === 0
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 20, what: 'the first owned object' },
      );
    } finally {
      killed.kill('SIGKILL');
    }
    await start();
    // Converged: discovery done and credentials issued by the new operator (Ready depends on the aggregator's
    // view of a proxy that does not run here, so it is not waited for).
    await waitCondition('restart', 'APIsDiscovered', 'Discovered');
    await waitCondition('restart', 'CredentialsValid', 'Valid');
    await waitFor(
      async () =>
        (
          await kubectl(app, ['get', 'apiservices', '-l', 'connect.ctp.dev/connection=restart', '-o', 'name'])
        ).stdout
          .trim()
          .split('\n').length === 2
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'both APIServices' },
    );
    const count = async (target: typeof app, args: string[]) =>
      (await kubectlOk(target, [...args, '-o', 'name'])).trim().split('\n').filter(Boolean).length;
    expect(await count(app, ['-n', ns, 'get', 'secrets', '-l', 'connect.ctp.dev/connection=restart'])).toBe(
      2,
    );
    expect(
      await count(app, [
        '-n',
        ns,
        'get',
        'configmaps,deployments,services,serviceaccounts',
        '-l',
        'connect.ctp.dev/connection=restart',
      ]),
    ).toBe(5); // the catalog and the proxy's report ConfigMap, the Deployment, Service and ServiceAccount
    expect(await count(app, ['get', 'apiservices', '-l', 'connect.ctp.dev/connection=restart'])).toBe(2);
    expect(
      await count(cp, [
        '-n',
        'team-restart',
        'get',
        'serviceaccounts,roles,rolebindings',
        '-l',
        'app.kubernetes.io/managed-by=ctp-connector',
      ]),
    ).toBe(3);
    await kubectlOk(app, ['delete', 'ctpc', 'restart', '--timeout=60s']);
  });

  it.each(['Migrate', 'Detach', 'Delete'] as const)(
    'leaves the control plane as DESIGN §6 says for deletionPolicy %s',
    async (policy) => {
      const name = `policy-${policy.toLowerCase()}`;
      const target = `team-${name}`;
      await connect(name, { targetNamespace: target, deletionPolicy: policy });
      const { clusterID } = await waitCondition(name, 'APIsDiscovered', 'Discovered');
      await kubectlOk(
        cp,
        ['apply', '-f', '-'],
        storedClaim(target, 'mine-0123456789abcdef', clusterID!, 'mine'),
      );
      await kubectlOk(
        cp,
        ['apply', '-f', '-'],
        storedClaim(target, 'theirs-fedcba9876543210', 'another-cluster', 'theirs'),
      );
      await kubectlOk(app, ['delete', 'ctpc', name, '--timeout=60s']);

      const claims = JSON.parse(await kubectlOk(cp, ['get', ...claimsPath(target), '-o', 'json'])) as {
        items: {
          metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
        }[];
      };
      const mine = claims.items.find((c) => c.metadata.name === 'mine-0123456789abcdef');
      const theirs = claims.items.find((c) => c.metadata.name === 'theirs-fedcba9876543210');
      expect(theirs?.metadata.labels?.['connect.ctp.dev/cluster-id']).toBe('another-cluster');
      if (policy === 'Delete') {
        expect(mine).toBeUndefined();
      } else if (policy === 'Detach') {
        expect(mine?.metadata.labels).toMatchObject({
          'connect.ctp.dev/cluster-id': clusterID,
          'connect.ctp.dev/app-name': 'mine',
        });
      } else {
        expect(
          Object.keys(mine?.metadata.labels ?? {}).filter((k) => k.startsWith('connect.ctp.dev/')),
        ).toEqual([]);
        expect(mine?.metadata.annotations).toMatchObject({
          'connect.ctp.dev/migrated-from-cluster': clusterID,
          'connect.ctp.dev/migrated-from-namespace': 'default',
          'connect.ctp.dev/migrated-from-name': 'mine',
        });
      }
      // The scoped identity is removed with every policy.
      const sa = await kubectl(cp, ['-n', target, 'get', 'serviceaccount', scopedIdentityName(clusterID!)]);
      expect(sa.stderr).toContain('NotFound');
    },
  );

  it('keeps the finalizer while the control plane is unreachable, and says why', async () => {
    const kubeconfig = readFileSync(cp.kubeconfigPath, 'utf8');
    await credentialSecret(app, 'breakable', kubeconfig);
    await connect(
      'unreachable-at-delete',
      { targetNamespace: 'team-breakable', deletionPolicy: 'Delete' },
      'breakable',
    );
    await waitCondition('unreachable-at-delete', 'APIsDiscovered', 'Discovered');
    const [closed] = (await freePorts(1)) as [number];
    const broken = load(kubeconfig) as { clusters: { cluster: { server: string } }[] };
    broken.clusters[0]!.cluster.server = `https://127.0.0.1:${closed}`;
    await credentialSecret(app, 'breakable', dump(broken));
    await kubectlOk(app, ['delete', 'ctpc', 'unreachable-at-delete', '--wait=false']);
    const held = await waitFor(
      async () => {
        const s = await status('unreachable-at-delete');
        const ready = s?.conditions?.find((c) => c.type === 'Ready');
        return ready?.message?.includes('the finalizer stays') ? ready : undefined;
      },
      { timeoutMs: 60_000, what: 'the finalization to report the outage' },
    );
    expect(held.message).toContain('ECONNREFUSED');
    expect(await status('unreachable-at-delete')).toBeDefined();
    // Fixing the credential lets finalization finish.
    await credentialSecret(app, 'breakable', kubeconfig);
    await kubectlOk(app, ['wait', '--for=delete', 'ctpc/unreachable-at-delete', '--timeout=90s']);
  });
});
