// The kubectl workflows of the proxy issue that need a running client or a control-plane status change: `get -w`,
// `describe`, `wait --for=condition=Ready`, `-o wide`, `get claim -A`, streaming lists (sendInitialEvents), and what
// the proxy reports about them (metrics, request logs with the audit ID).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { kubeconfigClient } from '../operator/src/kube/client.ts';
import { prepareConnector } from './harness/connector.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { claimManifest, pausedAnnotation } from './harness/claims.ts';
import { kubectl, kubectlOk, kubectlRunning } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster, sharedCrossplane } from './harness/shared.ts';
import { collectWatch } from './harness/watch.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-kubectl';
const ns = 'shop';
const claims = '/apis/platform.example.org/v1alpha1/namespaces/shop/kubernetesclusters';

interface Claim {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
}

function claim(name: string, namespace = ns, paused = false): string {
  return JSON.stringify(claimManifest({ name, namespace, connectionSecret: `${name}-kubeconfig`, paused }));
}

/** Sets the claim's conditions in the control plane, as Crossplane's claim controller does (where it does not run). */
async function setConditions(name: string, namespace: string, clusterID: string, ready: 'True' | 'False') {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    lastTransitionTime: now,
  });
  await kubectlOk(
    cp,
    [
      '-n',
      target,
      'patch',
      'kubernetesclusters',
      controlPlaneName(name, namespace, clusterID),
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          conditions: [
            condition('Synced', 'True', 'ReconcileSuccess'),
            condition('Ready', ready, ready === 'True' ? 'Available' : 'Creating'),
          ],
        },
      }),
    ],
    undefined,
  );
}

describe('proxy: kubectl workflows', () => {
  let connection: ProxiedConnection;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    connection = await connectWithProxy(app, 'kubectl', {
      targetNamespace: target,
      deletionPolicy: 'Delete',
    });
    await kubectl(app, ['create', 'namespace', ns]);
    await kubectl(app, ['create', 'namespace', 'storefront']);
  });

  afterAll(async () => {
    await kubectl(app, ['delete', 'namespace', ns, 'storefront', '--wait=false']);
    await connection?.stop();
  });

  it('kubectl get -w shows a claim being created, changed and deleted', async () => {
    const watch = kubectlRunning(app, ['-n', ns, 'get', 'kubernetesclusters', '-w', '--output-watch-events']);
    try {
      await kubectlOk(app, ['apply', '-f', '-'], claim('watched'));
      expect(await watch.until(/^ADDED\s+watched\s/)).toMatch(/\swatched-kubeconfig\s/);
      await kubectlOk(app, ['-n', ns, 'label', 'kubernetescluster', 'watched', 'tier=gold']);
      await watch.until(/^MODIFIED\s+watched\s/);
      await kubectlOk(app, ['-n', ns, 'delete', 'kubernetescluster', 'watched', '--wait']);
      await watch.until(/^DELETED\s+watched\s/);
      expect(watch.lines[0]).toMatch(/^EVENT\s+NAME\s+SYNCED\s+READY\s+CONNECTION-SECRET\s+AGE$/);
      expect(watch.lines.filter((l) => !/\swatched\s/.test(l) && !l.startsWith('EVENT'))).toEqual([]);
    } finally {
      await watch.stop();
    }
  });

  it('kubectl wait --for=condition=Ready returns once the control plane marks the claim Ready', async () => {
    // Where Crossplane runs, the claim is applied paused (Crossplane leaves it alone) and resumed later, so that
    // Crossplane and the composition function make it Ready; elsewhere the test writes what Crossplane would.
    await kubectlOk(app, ['apply', '-f', '-'], claim('waited', ns, sharedCrossplane()));
    if (!sharedCrossplane()) await setConditions('waited', ns, connection.clusterID, 'False');
    const wait = kubectlRunning(app, [
      '-n',
      ns,
      'wait',
      '--for=condition=Ready',
      '--timeout=60s',
      'kubernetescluster/waited',
    ]);
    // Not Ready yet: kubectl must still be waiting a moment later.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(wait.lines).toEqual([]);
    if (sharedCrossplane())
      await kubectlOk(app, ['-n', ns, 'annotate', 'kubernetescluster', 'waited', `${pausedAnnotation}-`]);
    else await setConditions('waited', ns, connection.clusterID, 'True');
    const result = await wait.exited;
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('kubernetescluster.platform.example.org/waited condition met');
    const row = await kubectlOk(app, ['-n', ns, 'get', 'kubernetescluster', 'waited', '--no-headers']);
    expect(row).toMatch(/^waited\s+True\s+True\s+waited-kubeconfig\s+\d+s/);
  });

  it('kubectl describe shows the claim under its app-cluster identity', async () => {
    const described = await kubectlOk(app, ['-n', ns, 'describe', 'kubernetescluster', 'waited']);
    expect(described).toMatch(/^Name:\s+waited$/m);
    expect(described).toMatch(/^Namespace:\s+shop$/m);
    expect(described).toMatch(/^Kind:\s+KubernetesCluster$/m);
    expect(described).toMatch(/^API Version:\s+platform.example.org\/v1alpha1$/m);
    expect(described).toMatch(/Write Connection Secret To Ref:\s+Name:\s+waited-kubeconfig/);
    expect(described).toMatch(/Type:\s+Ready/);
    expect(described).not.toMatch(/connect\.ctp\.dev|team-kubectl/);
  });

  it('kubectl get -o wide and get claim -A show what the control plane holds, under app names', async () => {
    await kubectlOk(app, ['apply', '-f', '-'], claim('front', 'storefront'));
    const wideApp = (await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters', '-o', 'wide'])).trim();
    const wideCP = (await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'wide'])).trim();
    const mapped = controlPlaneName('waited', ns, connection.clusterID);
    const cpRow = wideCP.split('\n').find((l) => l.startsWith(mapped));
    const header = (table: string) => table.split('\n')[0]?.split(/\s+/);
    expect(header(wideApp)).toEqual(header(wideCP));
    // Same cells; the name and connection Secret columns are translated back (column widths differ).
    const cells = (row: string | undefined) => row?.split(/\s+/).slice(1, -1);
    expect(cells(wideApp.split('\n').find((l) => l.startsWith('waited ')))).toEqual(
      cells(cpRow)?.map((c) =>
        c === controlPlaneName('waited-kubeconfig', ns, connection.clusterID) ? 'waited-kubeconfig' : c,
      ),
    );

    const all = await kubectlOk(app, ['get', 'claim', '-A', '--no-headers']);
    const rows = all
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(0, 2).join(' '))
      .sort();
    expect(rows).toEqual([
      'shop kubernetescluster.platform.example.org/waited',
      'storefront kubernetescluster.platform.example.org/front',
    ]);
    const stored = await kubectlOk(cp, ['-n', target, 'get', 'claim', '-o', 'name']);
    expect(stored.trim().split('\n')).toHaveLength(2);
  });

  it('streams a list with sendInitialEvents: translated initial events, then the initial-events-end bookmark', async () => {
    const client = kubeconfigClient(app.kubeconfigPath);
    const watch = await collectWatch<Claim>(client, claims, {
      sendInitialEvents: 'true',
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: 'true',
    });
    try {
      const end = await watch.until(
        (e) =>
          e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true',
        'the initial-events-end bookmark',
      );
      const initial = watch.events.slice(0, watch.events.indexOf(end)).filter((e) => e.type !== 'BOOKMARK');
      expect(
        initial.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
      ).toEqual(['ADDED shop/waited']);
    } finally {
      watch.stop();
      await watch.ended;
      await client.close();
    }
  });
});
