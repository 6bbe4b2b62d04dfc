// Journey: many app clusters, one control plane. The shared `app` cluster is app-1 (→ team-1); app-2 (→ team-2) is
// a cluster of its own, started here with its own operator and proxy. Claims with the same namespace and name in
// both land as distinct control-plane objects, each cluster sees only its own, and even a connection of app-2
// pointed at app-1's namespace cannot reach app-1's claims.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { KubeApiError, kubeconfigTextClient } from '../operator/src/kube/client.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import {
  applyClaims,
  claimManifest,
  claimAPIPath,
  claimResource,
  getClaim,
  listClaims,
  watchClaims,
  type Claim,
} from './harness/claims.ts';
import { connectCluster, disconnect, type Connected } from './harness/connect.ts';
import { operatorNamespace, prepareConnector, startTestOperator } from './harness/connector.ts';
import { startEnvironment, type Environment } from './harness/environment.ts';
import { kubectlOk, type KubectlTarget } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster } from './harness/shared.ts';
import { record, reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';

const app1 = sharedCluster('app');
const cp = sharedCluster('control-plane');
const origin = ['connect.ctp.dev/cluster-id', 'connect.ctp.dev/app-namespace', 'connect.ctp.dev/app-name'];

/**
 * The claims of `clusterID` stored in the control-plane namespace `namespace` (other tests leave claims of the shared
 * app cluster's identity in their own namespaces).
 */
async function storedClaims(clusterID: string, namespace: string): Promise<Claim[]> {
  const list = JSON.parse(
    await kubectlOk(cp, [
      'get',
      'claim',
      '-n',
      namespace,
      '-l',
      `connect.ctp.dev/cluster-id=${clusterID}`,
      '-o',
      'json',
    ]),
  ) as { items: Claim[] };
  return list.items;
}

const ids = (claims: Claim[]) => claims.map((c) => `${c.metadata.namespace}/${c.metadata.name}=${c.spec.id}`);

describe('many app clusters, one control plane', () => {
  const timings: Timings = {};
  let env: Environment | undefined;
  let app2: KubectlTarget & { dir: string };
  const operators: RunningOperator[] = [];
  let ports: number[];
  let one: Connected | undefined;
  let two: Connected | undefined;
  let twoConnectStarted: number;

  beforeAll(async () => {
    const started = Date.now();
    env = await startEnvironment({ names: ['app-2'], handleSignals: false });
    record(timings, 'app-2 cluster started', started);
    app2 = env.cluster('app-2');
    ports = await freePorts(2);
    const kubeconfig = readFileSync(cp.kubeconfigPath, 'utf8');
    await prepareConnector(app1, kubeconfig);
    await prepareConnector(app2, kubeconfig);
    operators.push(await startTestOperator(app1, ports[0]!), await startTestOperator(app2, ports[1]!));
  });

  afterAll(async () => {
    try {
      await disconnect(app1, one);
      if (app2) await disconnect(app2, two);
    } finally {
      for (const operator of operators) await operator.stop();
      await env?.stop();
      reportTimings('many clusters, one control plane', timings);
    }
  });

  it('connects app-1 to team-1 and app-2 to team-2, each Ready with its own clusterID', async () => {
    twoConnectStarted = Date.now();
    [one, two] = await Promise.all([
      connectCluster(app1, 'app-1', { targetNamespace: 'team-1', deletionPolicy: 'Delete' }, ports[0]!),
      connectCluster(app2, 'app-2', { targetNamespace: 'team-2', deletionPolicy: 'Delete' }, ports[1]!),
    ]);
    timings['app-1 connection applied → Ready'] = one.readyMs;
    timings['app-2 connection applied → Ready'] = two.readyMs;
    const kubeSystemUID = (cluster: KubectlTarget) =>
      kubectlOk(cluster, ['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}']);
    expect(one.clusterID).toBe(await kubeSystemUID(app1));
    expect(two.clusterID).toBe(await kubeSystemUID(app2));
    expect(one.clusterID).not.toBe(two.clusterID);
  });

  it('stores claims with identical names and namespaces in both clusters as distinct control-plane objects', async () => {
    await applyClaims(app1, [claimManifest({ name: 'shared-name', namespace: 'default', id: 'from-app-1' })]);
    const applied = Date.now();
    await applyClaims(app2, [claimManifest({ name: 'shared-name', namespace: 'default', id: 'from-app-2' })]);
    await waitFor(
      async () => ((await storedClaims(two!.clusterID, 'team-2')).length === 1 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: "app-2's claim in the control plane",
      },
    );
    record(timings, 'app-2 claim applied → listed in the control plane', applied);
    record(timings, 'app-2 connection applied → first claim in the control plane', twoConnectStarted);

    const stored = async (connected: Connected, targetNamespace: string) => {
      const claims = await storedClaims(connected.clusterID, targetNamespace);
      expect(claims).toHaveLength(1);
      expect(claims[0]?.metadata).toMatchObject({
        namespace: targetNamespace,
        name: controlPlaneName('shared-name', 'default', connected.clusterID),
        labels: {
          'connect.ctp.dev/cluster-id': connected.clusterID,
          'connect.ctp.dev/app-namespace': 'default',
          'connect.ctp.dev/app-name': 'shared-name',
        },
      });
      return claims[0]!;
    };
    const fromOne = await stored(one!, 'team-1');
    const fromTwo = await stored(two!, 'team-2');
    expect(fromOne.metadata.name).not.toBe(fromTwo.metadata.name);
    expect([fromOne.spec.id, fromTwo.spec.id]).toEqual(['from-app-1', 'from-app-2']);

    // What a platform engineer sees: every cluster's claims, with where they came from.
    const table = await kubectlOk(cp, ['get', 'claim', '-A', '-L', origin.join(',')]);
    const row = (ns: string, clusterID: string) =>
      new RegExp(
        `^${ns}\\s+\\S*shared-name-[0-9a-f]{16}\\s+.*\\s${clusterID}\\s+default\\s+shared-name$`,
        'm',
      );
    expect(table).toMatch(/^NAMESPACE\s+NAME\s+.*\sCLUSTER-ID\s+APP-NAMESPACE\s+APP-NAME$/m);
    expect(table).toMatch(row('team-1', one!.clusterID));
    expect(table).toMatch(row('team-2', two!.clusterID));
  });

  it('shows each cluster only its own claims', async () => {
    expect(ids(await listClaims(app1))).toEqual(['default/shared-name=from-app-1']);
    expect(ids(await listClaims(app2))).toEqual(['default/shared-name=from-app-2']);
    expect((await getClaim(app1, 'default', 'shared-name'))?.spec.id).toBe('from-app-1');
    expect((await getClaim(app2, 'default', 'shared-name'))?.spec.id).toBe('from-app-2');
    // Nothing of the connector's bookkeeping shows on the app side.
    const seen = await getClaim(app2, 'default', 'shared-name');
    expect(Object.keys(seen?.metadata.labels ?? {}).filter((k) => origin.includes(k))).toEqual([]);
  });

  it("keeps app-1's claims out of reach of an app-2 connection pointed at team-1 with its own clusterID", async () => {
    const twoClusterID = two!.clusterID;
    await disconnect(app2, two);
    two = undefined;
    expect(await storedClaims(twoClusterID, 'team-2')).toEqual([]); // deletionPolicy Delete
    two = await connectCluster(
      app2,
      'app-2-to-team-1',
      { targetNamespace: 'team-1', deletionPolicy: 'Delete' },
      ports[1]!,
    );
    timings['app-2 re-pointed at team-1: connection applied → Ready'] = two.readyMs;
    expect(two.clusterID).toBe(twoClusterID);
    const mapped = controlPlaneName('shared-name', 'default', one!.clusterID);

    // List, in every namespace and with selectors naming app-1's claim or app-1's identity.
    expect(await listClaims(app2)).toEqual([]);
    expect(await listClaims(app2, 'default')).toEqual([]);
    expect(await listClaims(app2, 'team-1')).toEqual([]);
    for (const selector of [
      ['--field-selector', `metadata.name=${mapped}`],
      ['--field-selector', 'metadata.name=shared-name'],
      ['-l', `connect.ctp.dev/cluster-id=${one!.clusterID}`],
    ]) {
      expect(await kubectlOk(app2, ['get', claimResource, '-A', ...selector, '-o', 'name'])).toBe('');
    }
    // Get, by the app-side name and by the control-plane name, in the app namespace and in team-1.
    expect(await getClaim(app2, 'default', 'shared-name')).toBeUndefined();
    expect(await getClaim(app2, 'default', mapped)).toBeUndefined();
    expect(await getClaim(app2, 'team-1', mapped)).toBeUndefined();

    // Watch from "0" (existing objects first, as ADDED) in all namespaces: the first claim app-2 creates itself is
    // the first event. app-1's watch meanwhile never sees app-2's claim, though both live in team-1 under the
    // same app namespace and name: app-1's own next claim arrives, app-2's never did before it.
    // (`kubectl get -o json` wraps lists without their resourceVersion: read the API's own list.)
    const list = JSON.parse(
      await kubectlOk(app1, ['get', '--raw', `${claimAPIPath}/namespaces/default/kubernetesclusters`]),
    ) as { metadata: { resourceVersion: string } };
    const watchTwo = await watchClaims(app2, undefined, '0');
    const watchOne = await watchClaims(app1, 'default', list.metadata.resourceVersion);
    try {
      await applyClaims(app2, [
        claimManifest({ name: 'shared-name', namespace: 'default', id: 'from-app-2' }),
      ]);
      const added = await watchTwo.next((e) => e.type === 'ADDED', "app-2's own claim");
      expect(added.object.spec.id).toBe('from-app-2');
      await applyClaims(app1, [claimManifest({ name: 'sentinel', namespace: 'default', id: 'sentinel' })]);
      await watchOne.next((e) => e.object.metadata?.name === 'sentinel', "app-1's next claim");
      const changes = (w: typeof watchOne) =>
        w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.spec.id}`);
      // Each watch sees its own cluster's claims only; Crossplane's writes to them are MODIFIED events.
      expect(changes(watchOne)).toContain('ADDED sentinel');
      expect(changes(watchOne).join(', ')).toMatch(/^((ADDED|MODIFIED) (sentinel|from-app-1)(, |$))+$/);
      expect(changes(watchTwo).join(', ')).toMatch(/^ADDED from-app-2(, MODIFIED from-app-2)*$/);
    } finally {
      await watchTwo.stop();
      await watchOne.stop();
    }

    // Both claims named default/shared-name are in team-1 now, apart; each cluster still gets its own.
    const inTeam1 = await listClaims(cp, 'team-1');
    expect(
      inTeam1.filter((c) => c.metadata.labels?.['connect.ctp.dev/app-name'] === 'shared-name'),
    ).toHaveLength(2);
    expect((await getClaim(app1, 'default', 'shared-name'))?.spec.id).toBe('from-app-1');
    expect((await getClaim(app2, 'default', 'shared-name'))?.spec.id).toBe('from-app-2');
    expect(ids(await listClaims(app2))).toEqual(['default/shared-name=from-app-2']);
    expect(ids(await listClaims(app1)).sort()).toEqual([
      'default/sentinel=sentinel',
      'default/shared-name=from-app-1',
    ]);
  });

  it('says on each connection whether its target namespace is shared with other clusters', async () => {
    const shared = async (cluster: KubectlTarget, name: string) =>
      JSON.parse(
        await kubectlOk(cluster, [
          ...['get', 'ctpc', name, '-o'],
          'jsonpath={.status.conditions[?(@.type=="NamespaceShared")]}',
        ]),
      ) as { status: string; reason: string; message: string };
    expect(await shared(app2, 'app-2-to-team-1')).toMatchObject({
      status: 'True',
      reason: 'SharedWithOtherClusters',
      message: expect.stringContaining(
        '1 other app cluster(s) keep their claims in team-1',
      ) as unknown as string,
    });
    // app-1 saw team-1 alone when it connected; its next reconcile (any change of the object starts one) sees app-2.
    await kubectlOk(app1, ['annotate', 'ctpc', 'app-1', `touched=${Date.now()}`, '--overwrite']);
    await waitFor(async () => ((await shared(app1, 'app-1')).status === 'True' ? true : undefined), {
      what: "app-1's NamespaceShared=True",
      timeoutMs: 60_000,
    });
  });

  it("fences app-2's own control-plane token out of app-1's claims in the shared namespace", async () => {
    // The token the proxy of app-2 holds, used directly: what anyone who stole it could do.
    const secret = JSON.parse(
      await kubectlOk(app2, [
        '-n',
        operatorNamespace,
        'get',
        'secret',
        ownedNames('app-2-to-team-1').token,
        '-o',
        'json',
      ]),
    ) as { data: { kubeconfig: string } };
    const token = kubeconfigTextClient(Buffer.from(secret.data.kubeconfig, 'base64').toString('utf8'));
    const claims = `${claimAPIPath}/namespaces/team-1/kubernetesclusters`;
    const theirs = `${claims}/${controlPlaneName('shared-name', 'default', one!.clusterID)}`;
    const mine = `${claims}/${controlPlaneName('shared-name', 'default', two!.clusterID)}`;
    const refused = async (what: string, call: () => Promise<unknown>) => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ what, code: err instanceof KubeApiError ? err.code : String(err) }).toEqual({
        what,
        code: 403,
      });
      expect((err as KubeApiError).message).toContain('ValidatingAdmissionPolicy');
    };
    try {
      const before = JSON.parse(await kubectlOk(cp, ['get', '--raw', theirs])) as Claim;
      await refused('merge patch of their claim', () =>
        token.request('PATCH', theirs, {
          body: { spec: { id: 'stolen' } },
          contentType: 'application/merge-patch+json',
        }),
      );
      await refused('delete of their claim', () => token.request('DELETE', theirs));
      await refused('taking their claim over by relabelling it', () =>
        token.request('PATCH', theirs, {
          body: { metadata: { labels: { 'connect.ctp.dev/cluster-id': two!.clusterID } } },
          contentType: 'application/merge-patch+json',
        }),
      );
      await refused('a claim forged with their cluster ID', () =>
        token.request('POST', claims, {
          body: {
            ...claimManifest({ name: 'forged', namespace: 'team-1', id: 'forged' }),
            metadata: { name: 'forged', labels: { 'connect.ctp.dev/cluster-id': one!.clusterID } },
          },
        }),
      );
      await refused('handing its own claim to them', () =>
        token.request('PATCH', mine, {
          body: { metadata: { labels: { 'connect.ctp.dev/cluster-id': one!.clusterID } } },
          contentType: 'application/merge-patch+json',
        }),
      );
      // Its own claims it may still write; reads of the shared namespace are what sharing it still shares.
      await token.request('PATCH', mine, {
        body: { spec: { id: 'from-app-2-again' } },
        contentType: 'application/merge-patch+json',
      });
      const after = JSON.parse(await kubectlOk(cp, ['get', '--raw', theirs])) as Claim;
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect((await getClaim(app1, 'default', 'shared-name'))?.spec.id).toBe('from-app-1');
    } finally {
      await token.close();
    }
  });
});
