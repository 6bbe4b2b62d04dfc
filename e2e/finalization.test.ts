// Finalization under every way a connection is deleted. For each deletion propagation (background; foreground, as
// Argo CD prunes, where the garbage collector deletes the token Secret and the catalog while the finalizer runs;
// orphan) and each deletionPolicy, a connection with claims made through the app cluster is deleted with kubectl and
// the control plane ends exactly as DESIGN §6 says. Then an operator killed right after finalization started, whose
// owned objects the garbage collector removes before a fresh operator takes over, still ends correct.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { connectorLabels } from '../operator/src/claims/identity.ts';
import { connectionLabel, finalizer } from '../operator/src/connection/names.ts';
import { scopedIdentityName } from '../operator/src/connection/scoped.ts';
import { isNotFound, kubeconfigClient } from '../operator/src/kube/client.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import {
  applyClaims,
  claimAPIPath,
  claimManifest,
  claimResource,
  listClaims,
  pausedAnnotation,
  settledInControlPlane,
  type Claim,
  writeConnectionSecret,
} from './harness/claims.ts';
import { connectCluster, type Connected } from './harness/connect.ts';
import {
  operatorNamespace,
  prepareConnector,
  spawnOperatorProcess,
  startTestOperator,
} from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { record, reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';
import { collectWatch } from './harness/watch.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const claimCount = 30;
const policies = ['Delete', 'Detach', 'Migrate'] as const;
const propagations = ['background', 'foreground', 'orphan'] as const;
type Policy = (typeof policies)[number];

/** Every kind of object a connection owns in the app cluster. */
const ownedKinds =
  'apiservices.apiregistration.k8s.io,deployments.apps,poddisruptionbudgets.policy,services,serviceaccounts,' +
  'roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,' +
  'clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io,secrets,configmaps';

async function ownedObjects(connection: string): Promise<string[]> {
  const out = await kubectlOk(app, [
    'get',
    ownedKinds,
    '-A',
    '-l',
    `${connectionLabel}=${connection}`,
    '-o',
    'name',
  ]);
  return out.split('\n').filter(Boolean);
}

/** What identifies a claim and what its users set; Detach must leave all of it as it was. */
const untouched = (c: Claim) => ({
  name: c.metadata.name,
  uid: c.metadata.uid,
  resourceVersion: c.metadata.resourceVersion,
  labels: c.metadata.labels,
  annotations: c.metadata.annotations,
  spec: c.spec,
});
/** Whether the finalizer has dealt with a claim: deleting (Delete) or handed over (Migrate). */
const handled = (c: Claim) =>
  Boolean((c.metadata as { deletionTimestamp?: string }).deletionTimestamp) ||
  !c.metadata.labels?.['connect.ctp.dev/cluster-id'];
const byName = <T extends { name: string }>(items: T[]) => items.sort((a, b) => a.name.localeCompare(b.name));

/** The control plane as DESIGN §6 says for `policy`, given the claims stored before the connection was deleted. */
function expectOutcome(
  policy: Policy,
  stored: Claim[],
  left: Claim[],
  connection: Connected,
  appNamespace: string,
) {
  if (policy === 'Delete') {
    expect(left.map((c) => c.metadata.name)).toEqual([]);
    return;
  }
  if (policy === 'Detach') {
    expect(byName(left.map(untouched))).toEqual(byName(stored.map(untouched)));
    return;
  }
  expect(left.map((c) => c.metadata.uid).sort()).toEqual(stored.map((c) => c.metadata.uid).sort());
  for (const claim of left) {
    const before = stored.find((c) => c.metadata.uid === claim.metadata.uid)!;
    expect(Object.keys(claim.metadata.labels ?? {}).filter((k) => connectorLabels.includes(k))).toEqual([]);
    expect(claim.metadata.annotations).toMatchObject({
      'connect.ctp.dev/migrated-from-cluster': connection.clusterID,
      'connect.ctp.dev/migrated-from-namespace': appNamespace,
      'connect.ctp.dev/migrated-from-name': before.metadata.labels!['connect.ctp.dev/app-name'],
      'connect.ctp.dev/migrated-from-connection': connection.name,
    });
    expect(claim.spec).toEqual(before.spec);
  }
}

describe('finalization under every deletion propagation and policy', () => {
  const timings: Timings = {};
  const counts: string[] = [];
  let operator: RunningOperator | undefined;
  let port: number;
  const controlPlane = kubeconfigClient(cp.kubeconfigPath);
  const appClient = kubeconfigClient(app.kubeconfigPath);

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    [port] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, port);
  });

  afterAll(async () => {
    await operator?.stop();
    await controlPlane.close();
    await appClient.close();
    reportTimings('finalization', timings);
    if (counts.length)
      process.stdout.write(`\nclaims in the control plane before → after:\n${counts.join('\n')}\n`);
  });

  /**
   * A Ready connection with `claimCount` claims created through the app cluster in its own app namespace; the first
   * has a connection Secret, delivered into the app namespace before this returns.
   */
  async function connectWithClaims(name: string, policy: Policy, spec: Record<string, unknown> = {}) {
    const target = `team-${name}`;
    await kubectlOk(app, ['create', 'namespace', name]);
    const connected = await connectCluster(
      app,
      name,
      { targetNamespace: target, deletionPolicy: policy, ...spec },
      port,
    );
    await applyClaims(
      app,
      Array.from({ length: claimCount }, (_, i) =>
        claimManifest({
          name: `claim-${i}`,
          namespace: name,
          connectionSecret: i === 0 ? 'claim-0-conn' : undefined,
          // Paused in Crossplane: claim-0, whose connection Secret the test writes, and under Detach and Migrate
          // every claim, which must be exactly as they were after finalization. Under Delete Crossplane composes
          // the others, and the finalizer waits for Crossplane to let them go.
          paused: i === 0 || policy !== 'Delete',
        }),
      ),
    );
    for (const claim of await listClaims(cp, target))
      if (claim.metadata.annotations?.[pausedAnnotation])
        await settledInControlPlane(cp, target, claim.metadata.name);
    const stored = await listClaims(cp, target);
    expect(stored).toHaveLength(claimCount);
    await writeConnectionSecret(
      cp,
      { targetNamespace: target, namespace: name, clusterID: connected.clusterID },
      'claim-0-conn',
      {
        password: 'p',
      },
    );
    await waitFor(async () => ((await copyExists(name)) ? true : undefined), {
      timeoutMs: 60_000,
      what: `the connection Secret copy in ${name}`,
    });
    return { connected, target, stored };
  }

  const copyExists = async (namespace: string) =>
    (await kubectl(app, ['-n', namespace, 'get', 'secret', 'claim-0-conn'])).code === 0;

  /** The connection as the app cluster has it now, or undefined once it is gone. */
  async function getConnection(name: string) {
    try {
      return await appClient.request<{ metadata: { finalizers?: string[] } }>(
        'GET',
        `/apis/connect.ctp.dev/v1alpha1/controlplaneconnections/${name}`,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Sets (or with null removes) the claims' finalizers in the control plane. */
  async function setFinalizers(target: string, claims: Claim[], finalizers: string[] | null) {
    await Promise.all(
      claims.map((claim) =>
        controlPlane.request(
          'PATCH',
          `${claimAPIPath}/namespaces/${target}/kubernetesclusters/${claim.metadata.name}`,
          {
            body: { metadata: { finalizers } },
            contentType: 'application/merge-patch+json',
          },
        ),
      ),
    );
  }

  /** Removes what a case leaves on purpose (Detach and Migrate keep the claims) and its app namespace. */
  async function cleanUp(name: string, target: string) {
    await kubectlOk(cp, ['delete', claimResource, '-n', target, '--all', '--wait=false']);
    await kubectlOk(app, ['delete', 'namespace', name, '--wait=false']);
  }

  const cases = propagations.flatMap((propagation) =>
    policies.map((policy) => [propagation, policy] as const),
  );
  it.each(cases)('kubectl delete --cascade=%s, deletionPolicy %s', async (propagation, policy) => {
    const name = `fin-${propagation}-${policy.toLowerCase()}`;
    // The claims' connection Secret copies stay under Migrate and Detach unless asked otherwise (one case asks).
    const removeCopies = policy === 'Delete' || name === 'fin-orphan-migrate';
    const { connected, target, stored } = await connectWithClaims(
      name,
      policy,
      name === 'fin-orphan-migrate' ? { connectionSecretsOnDeletion: 'Delete' } : {},
    );
    const started = Date.now();
    try {
      await kubectlOk(app, ['delete', 'ctpc', name, `--cascade=${propagation}`, '--wait=false']);
      // When the connector's finalizer was released, and when the connection was gone (the garbage collector's own
      // finalizer, under foreground and orphan propagation, goes after ours).
      let released: number | undefined;
      await waitFor(
        async () => {
          const now = Date.now();
          const found = await getConnection(name);
          if (!found?.metadata.finalizers?.includes(finalizer)) released ??= now;
          return found ? undefined : now;
        },
        { timeoutMs: 120_000, intervalMs: 100, what: `${name} to be gone` },
      ).then((gone) => {
        timings[`${name}: deleted → finalizer released`] = released! - started;
        timings[`${name}: deleted → gone`] = gone - started;
      });
    } finally {
      await connected.proxy.stop();
    }

    expect((await kubectl(app, ['get', 'ctpc', name])).stderr).toContain('NotFound');
    // The finalizer removes what the connection owned whatever the propagation (orphan would keep it otherwise).
    expect(await ownedObjects(name)).toEqual([]);
    const left = await listClaims(cp, target);
    counts.push(`  ${name}: ${stored.length} → ${left.length}`);
    expect(await copyExists(name)).toBe(!removeCopies);
    expectOutcome(policy, stored, left, connected, name);
    const identity = await kubectl(cp, [
      '-n',
      target,
      'get',
      'serviceaccount',
      scopedIdentityName(connected.clusterID),
    ]);
    expect(identity.stderr).toContain('NotFound');
    await cleanUp(name, target);
  });

  it.each(policies)(
    'deletionPolicy %s: an operator killed as finalization starts, with its objects collected meanwhile, is finished by a fresh one',
    async (policy) => {
      const name = `fin-killed-${policy.toLowerCase()}`;
      const { connected, target, stored } = await connectWithClaims(name, policy);
      // Delete: each claim holds a finalizer of its own, as Crossplane's do while the resources behind them go, so
      // finalization is still waiting for them whenever the operator dies.
      const hold = 'e2e.ctp.dev/hold';
      if (policy === 'Delete') await setFinalizers(target, stored, [hold]);
      await operator?.stop();
      operator = undefined;

      const child = spawnOperatorProcess(app, { leaderElect: false, localProxyPort: port });
      const output: string[] = [];
      child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
      child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
      const names = ownedNames(name);
      try {
        await waitFor(() => (output.join('').includes('caches synced') ? true : undefined), {
          timeoutMs: 30_000,
          what: 'the operator process to start its controller',
        });
        const apiServices = await collectWatch<{ metadata: { name: string } }>(
          appClient,
          '/apis/apiregistration.k8s.io/v1/apiservices',
          { labelSelector: `${connectionLabel}=${name}` },
        );
        try {
          await kubectlOk(app, ['delete', 'ctpc', name, '--cascade=foreground', '--wait=false']);
          // The finalizer's first step: the connection's APIServices go. Killed there, mid-finalization.
          await apiServices.until((e) => e.type === 'DELETED', 'the finalizer to remove an APIService');
          child.kill('SIGKILL');
        } finally {
          apiServices.stop();
        }
        const atKill = await listClaims(cp, target);
        counts.push(
          `  ${name}: killed with ${atKill.filter(handled).length} of ${claimCount} claims handled`,
        );

        // Foreground deletion: the garbage collector removes the token Secret and the catalog while no operator runs.
        await waitFor(
          async () => {
            const r = await kubectl(app, [
              '-n',
              operatorNamespace,
              'get',
              `secret/${names.token}`,
              `configmap/${names.catalog}`,
            ]);
            return r.stderr.split('NotFound').length - 1 === 2 ? true : undefined;
          },
          { timeoutMs: 60_000, what: 'the garbage collector to delete the token Secret and the catalog' },
        );
        expect((await kubectl(app, ['get', 'ctpc', name])).code).toBe(0);

        const restarted = Date.now();
        operator = await startTestOperator(app, port);
        if (policy === 'Delete') {
          // The fresh operator deletes every claim and keeps the connection until they are gone.
          await waitFor(
            async () => {
              const claims = await listClaims(cp, target);
              return claims.length === claimCount && claims.every(handled) ? true : undefined;
            },
            { timeoutMs: 60_000, what: 'every claim to be deleting' },
          );
          const held = JSON.parse(await kubectlOk(app, ['get', 'ctpc', name, '-o', 'json'])) as {
            status?: { conditions?: { type: string; reason: string }[] };
          };
          expect(held.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('DeletingClaims');
          await setFinalizers(target, stored, null);
        }
        await kubectlOk(app, ['wait', '--for=delete', `ctpc/${name}`, '--timeout=120s']);
        record(timings, `${name}: fresh operator started → connection gone`, restarted);
      } finally {
        child.kill('SIGKILL');
        await connected.proxy.stop();
      }
      expect(await ownedObjects(name)).toEqual([]);
      expectOutcome(policy, stored, await listClaims(cp, target), connected, name);
      await cleanUp(name, target);
    },
  );
});
