// Journey: disconnecting a cluster whose claims were created through the proxy. Each deletion policy leaves exactly
// what DESIGN §6 promises on both sides; Detach and a new connection with the same clusterID give the user back the
// same claims; the app cluster's namespaces delete normally afterwards. (e2e/operator-lifecycle.test.ts covers the
// policies for claims written straight into the control plane, and the finalizer during an outage.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectorLabels } from '../operator/src/claims/identity.ts';
import { connectionLabel } from '../operator/src/connection/names.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import {
  applyClaims,
  claimManifest,
  claimResource,
  listClaims,
  settledInControlPlane,
  type Claim,
} from './harness/claims.ts';
import { connectCluster, disconnect, type Connected } from './harness/connect.ts';
import { prepareConnector, startTestOperator } from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster } from './harness/shared.ts';
import { record, reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
/** Every kind of object a connection owns in the app cluster. */
const ownedKinds = [
  'apiservices.apiregistration.k8s.io',
  'deployments.apps',
  'poddisruptionbudgets.policy',
  'services',
  'serviceaccounts',
  'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'clusterrolebindings.rbac.authorization.k8s.io',
  'secrets',
  'configmaps',
];

/** The kinds of the objects labelled as the connection's, in any namespace of the app cluster. */
async function ownedObjectKinds(connection: string): Promise<string[]> {
  const names = await kubectlOk(app, [
    'get',
    ownedKinds.join(','),
    '-A',
    '-l',
    `${connectionLabel}=${connection}`,
    '-o',
    'name',
  ]);
  return [
    ...new Set(
      names
        .split('\n')
        .filter(Boolean)
        .map((n) => n.split('/')[0]!),
    ),
  ].sort();
}

/** The claim API as the app cluster's discovery serves it now (not kubectl's cache). */
async function servedClaimKinds(): Promise<string> {
  return kubectlOk(app, ['api-resources', '--api-group=platform.example.org', '-o', 'name']);
}

/** What identifies a claim and what a user set on it; must survive a disconnect untouched. */
const identity = (c: Claim) => ({
  name: c.metadata.name,
  uid: c.metadata.uid,
  generation: c.metadata.generation,
  spec: c.spec,
  labels: c.metadata.labels,
});

/** Deletes an app namespace like a user does, and returns how long it took to be gone. */
async function deleteNamespace(namespace: string): Promise<number> {
  const started = Date.now();
  await kubectlOk(app, ['delete', 'namespace', namespace, '--timeout=60s']);
  expect((await kubectl(app, ['get', 'namespace', namespace])).stderr).toContain('NotFound');
  return Date.now() - started;
}

describe('disconnecting an app cluster whose claims were created through the proxy', () => {
  const timings: Timings = {};
  let operator: RunningOperator | undefined;
  let port: number;
  let current: Connected | undefined;

  beforeAll(async () => {
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
    [port] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, port);
    await kubectlOk(app, ['create', 'namespace', 'journey-baseline']);
    timings['app namespace deleted, nothing connected (baseline)'] =
      await deleteNamespace('journey-baseline');
  });

  afterAll(async () => {
    try {
      await disconnect(app, current);
    } finally {
      await operator?.stop();
      reportTimings('connection lifecycle', timings);
    }
  });

  /** A connection of its own app namespace and control-plane namespace, with two claims made through the proxy. */
  async function connectWithClaims(name: string, spec: Record<string, unknown>, namespace: string) {
    await kubectlOk(app, ['create', 'namespace', namespace]);
    current = await connectCluster(app, name, spec, port);
    timings[`${name}: connection applied → Ready`] = current.readyMs;
    // What Detach and Migrate leave is compared with what was stored: Crossplane leaves those claims alone (paused).
    // Under Delete it composes them, and the finalizer waits for Crossplane to let them go.
    const paused = spec.deletionPolicy !== 'Delete';
    await applyClaims(app, [
      claimManifest({ name: 'web', namespace, paused }),
      claimManifest({ name: 'db', namespace, connectionSecret: 'db-conn', labels: { tier: 'gold' }, paused }),
    ]);
    const target = spec.targetNamespace as string;
    if (paused)
      for (const claim of await listClaims(cp, target))
        await settledInControlPlane(cp, target, claim.metadata.name);
    return current;
  }

  it.each(['Migrate', 'Detach', 'Delete'] as const)(
    'deletionPolicy %s: the app cluster is left clean, the control plane as DESIGN §6 says',
    async (policy) => {
      const name = `journey-${policy.toLowerCase()}`;
      const target = `team-${name}`;
      const connected = await connectWithClaims(
        name,
        { targetNamespace: target, deletionPolicy: policy },
        name,
      );
      const stored = await listClaims(cp, target);
      expect(stored.map((c) => c.metadata.labels?.['connect.ctp.dev/app-name']).sort()).toEqual([
        'db',
        'web',
      ]);
      expect(await ownedObjectKinds(name)).toEqual([
        'apiservice.apiregistration.k8s.io',
        'clusterrolebinding.rbac.authorization.k8s.io',
        'configmap',
        'deployment.apps',
        'poddisruptionbudget.policy',
        'role.rbac.authorization.k8s.io',
        'rolebinding.rbac.authorization.k8s.io',
        'secret',
        'service',
        'serviceaccount',
      ]);
      expect(await servedClaimKinds()).toContain('kubernetesclusters.platform.example.org');

      timings[`${name}: connection deleted → gone (finalized)`] = await disconnect(app, connected);
      current = undefined;

      // The app cluster: the connection and everything it owned are gone, and with them the claim API.
      expect((await kubectl(app, ['get', 'ctpc', name])).stderr).toContain('NotFound');
      expect(await ownedObjectKinds(name)).toEqual([]);
      expect(await servedClaimKinds()).toBe('');

      // The control plane, by policy.
      const left = await listClaims(cp, target);
      const byUID = (claims: Claim[]) => claims.map(identity).sort((a, b) => a.name.localeCompare(b.name));
      if (policy === 'Delete') {
        expect(left).toEqual([]);
      } else if (policy === 'Detach') {
        expect(byUID(left)).toEqual(byUID(stored));
      } else {
        expect(left.map((c) => c.metadata.uid).sort()).toEqual(stored.map((c) => c.metadata.uid).sort());
        for (const claim of left) {
          const before = stored.find((c) => c.metadata.uid === claim.metadata.uid)!;
          const appName = before.metadata.labels!['connect.ctp.dev/app-name']!;
          expect(Object.keys(claim.metadata.labels ?? {}).filter((k) => connectorLabels.includes(k))).toEqual(
            [],
          );
          expect(claim.metadata.annotations).toMatchObject({
            'connect.ctp.dev/migrated-from-cluster': connected.clusterID,
            'connect.ctp.dev/migrated-from-namespace': name,
            'connect.ctp.dev/migrated-from-name': appName,
            'connect.ctp.dev/migrated-from-connection': name,
          });
          expect(claim.spec).toEqual(before.spec);
          expect(claim.metadata.labels?.tier).toBe(before.metadata.labels?.tier);
        }
      }

      // The app namespace that held the claims deletes normally, and takes nothing from the control plane.
      timings[`${name}: app namespace deleted after the disconnect`] = await deleteNamespace(name);
      expect(byUID(await listClaims(cp, target))).toEqual(byUID(left));
      if (policy !== 'Delete') await kubectlOk(cp, ['delete', claimResource, '-n', target, '--all']);
    },
  );

  it('gives the same claims back under the same names after Detach and a new connection with the same clusterID', async () => {
    const namespace = 'journey-reattach';
    const target = 'team-journey-reattach';
    const before = await connectWithClaims(
      'journey-detach',
      { targetNamespace: target, deletionPolicy: 'Detach' },
      namespace,
    );
    const seen = await listClaims(app, namespace);
    expect(seen.map((c) => c.metadata.name).sort()).toEqual(['db', 'web']);
    await disconnect(app, before);
    current = undefined;
    expect(await servedClaimKinds()).toBe('');
    const started = Date.now();

    current = await connectCluster(
      app,
      'journey-reattach',
      { targetNamespace: target, deletionPolicy: 'Delete' },
      port,
    );
    expect(current.clusterID).toBe(before.clusterID);
    const back = await waitFor(
      async () => {
        const r = await kubectl(app, ['get', claimResource, '-n', namespace, '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as { items: Claim[] }).items : undefined;
      },
      { timeoutMs: 30_000, what: 'kubectl get of the claims through the new connection' },
    );
    record(timings, 'reattach: new connection applied → the same claims served', started);
    const view = (claims: Claim[]) =>
      claims
        .map((c) => ({ ...identity(c), resourceVersion: c.metadata.resourceVersion }))
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(view(back)).toEqual(view(seen));
    expect(back.find((c) => c.metadata.name === 'db')?.spec.writeConnectionSecretToRef?.name).toBe('db-conn');

    // They are the user's again: changes through the new connection reach the same control-plane objects.
    await kubectlOk(app, ['label', claimResource, '-n', namespace, 'web', 'reattached=yes']);
    const stored = await listClaims(cp, target);
    const web = stored.find((c) => c.metadata.labels?.['connect.ctp.dev/app-name'] === 'web');
    expect(web?.metadata.uid).toBe(seen.find((c) => c.metadata.name === 'web')?.metadata.uid);
    expect(web?.metadata.labels?.reattached).toBe('yes');
    expect(stored).toHaveLength(2);

    await disconnect(app, current);
    current = undefined;
    expect(await listClaims(cp, target)).toEqual([]);
    await deleteNamespace(namespace);
  });
});
