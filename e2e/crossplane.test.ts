// The connector in front of a control plane that runs real Crossplane (v2.3.4, `make tools`) with the test
// composition function (e2e/fixtures/function): a claim and a v2 namespaced XR applied in the app cluster become
// Synced and Ready because Crossplane bound, composed and marked them so — nothing here writes a status — and the
// claim's connection Secret, written by Crossplane from what the function returned, arrives in the app namespace.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { createLogger } from '../operator/src/log.ts';
import { claimManifest, claimResource, applyClaims } from './harness/claims.ts';
import type { Cluster } from './harness/cluster.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { credentialSecret, operatorNamespace, prepareConnector } from './harness/connector.ts';
import { testFunctionName } from './harness/crossplane.ts';
import { startEnvironment, type Environment } from './harness/environment.ts';
import { installControlPlaneFixtures } from './harness/fixtures.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const target = 'team-crossplane';
const ns = 'crossplane-shop';
const databaseResource = 'databases.data.example.org';

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: { manager: string; operation: string; subresource?: string }[];
  };
  spec?: Record<string, unknown> & { resourceRef?: { name: string } };
  status?: { conditions?: Condition[] };
  data?: Record<string, string>;
}

async function getJSON(cluster: KubectlTarget, args: string[]): Promise<KubeObject> {
  return JSON.parse(
    await kubectlOk(cluster, ['get', ...args, '-o', 'json', '--show-managed-fields']),
  ) as KubeObject;
}

interface EventObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
  reason: string;
  message: string;
  count: number;
  source?: { component?: string };
  reportingComponent?: string;
}

async function eventsAbout(cluster: KubectlTarget, namespace: string, name: string): Promise<EventObject[]> {
  const list = JSON.parse(
    await kubectlOk(cluster, [
      '-n',
      namespace,
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'json',
    ]),
  ) as { items: EventObject[] };
  return list.items;
}

function condition(obj: KubeObject, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** The objects composed for `xr` in the control plane's target namespace: owned by it, as Crossplane labels them. */
async function composedFor(cp: KubectlTarget, kind: 'configmaps' | 'secrets', xr: KubeObject) {
  const list = JSON.parse(
    await kubectlOk(cp, [
      '-n',
      target,
      'get',
      kind,
      '-l',
      `crossplane.io/composite=${xr.metadata.name}`,
      '-o',
      'json',
    ]),
  ) as { items: KubeObject[] };
  return list.items;
}

/** Waits like `kubectl wait --for=condition=Ready` in the app namespace; returns the object as the app cluster reads it. */
async function readyInApp(resource: string, name: string): Promise<KubeObject> {
  await kubectlOk(app, ['-n', ns, 'wait', '--for=condition=Ready', '--timeout=60s', `${resource}/${name}`]);
  return getJSON(app, [resource, '-n', ns, name]);
}

/** Status writers of a stored object: the managers of its status subresource. */
function statusManagers(obj: KubeObject): string[] {
  return (obj.metadata.managedFields ?? []).filter((f) => f.subresource === 'status').map((f) => f.manager);
}

describe('a control plane with real Crossplane', () => {
  let env: Environment;
  let cp: Cluster;
  let connection: ProxiedConnection;
  const timings: Record<string, unknown> = {};

  /**
   * Crossplane's Events about a stored object appear on the app object, once each, with the app's names: in
   * `kubectl get events`, `kubectl events --for` and `kubectl describe`.
   */
  async function expectEventsInApp(resource: string, kind: string, name: string, reasons: string[]) {
    const storedName = controlPlaneName(name, ns, connection.clusterID);
    const stored = await getJSON(cp, [resource, '-n', target, storedName]);
    const inControlPlane = await eventsAbout(cp, target, storedName);
    for (const reason of reasons) expect(inControlPlane.map((e) => e.reason)).toContain(reason);
    const started = Date.now();
    // Every control-plane Event has its app Event, with at least the count it had when read.
    const mirrors = (events: EventObject[], source: EventObject) =>
      events.find((e) => e.metadata.annotations?.['connect.ctp.dev/source-event'] === source.metadata.uid);
    const seen = await waitFor(
      async () => {
        const events = await eventsAbout(app, ns, name);
        return inControlPlane.every((c) => (mirrors(events, c)?.count ?? 0) >= c.count) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `Crossplane's events on ${kind} ${name} in the app cluster` },
    );
    timings[`eventsOn${kind}`] = Date.now() - started;
    // One app Event per control-plane Event, named after the source's uid, with the app's names.
    const delivered = seen.filter(
      (e) => e.metadata.labels?.['connect.ctp.dev/delivered-by'] === 'crossplane',
    );
    expect(delivered).toHaveLength(seen.length);
    const sources = delivered.map((e) => e.metadata.annotations?.['connect.ctp.dev/source-event']);
    expect(new Set(sources).size).toBe(delivered.length);
    for (const event of delivered) {
      expect(event.involvedObject).toMatchObject({ kind, name, namespace: ns, uid: stored.metadata.uid });
      expect(event.source?.component).toMatch(/ via ctp-connector$/);
      expect(event.message).not.toContain(target);
      expect(event.message).not.toContain(storedName);
    }
    const forKind = await kubectlOk(app, ['-n', ns, 'events', '--for', `${kind}/${name}`]);
    for (const reason of reasons) expect(forKind).toContain(reason);
    const described = await kubectlOk(app, ['-n', ns, 'describe', resource, name]);
    const eventsSection = described.slice(described.lastIndexOf('Events:'));
    for (const reason of reasons) expect(eventsSection).toContain(reason);
    expect(eventsSection).toContain('via ctp-connector');
  }

  /** The object as the control plane stores it, after checking that its status was written by Crossplane alone. */
  async function storedByCrossplane(resource: string, name: string): Promise<KubeObject> {
    const stored = await getJSON(cp, [
      resource,
      '-n',
      target,
      controlPlaneName(name, ns, connection.clusterID),
    ]);
    const managers = statusManagers(stored);
    expect(managers.length).toBeGreaterThan(0);
    expect(managers.filter((m) => !m.includes('crossplane'))).toEqual([]);
    return stored;
  }

  beforeAll(async () => {
    let started = Date.now();
    env = await startEnvironment({
      names: ['crossplane-cp'],
      crossplane: ['crossplane-cp'],
      handleSignals: false,
    });
    cp = env.cluster('crossplane-cp');
    timings.clusterWithCrossplane = Date.now() - started;
    timings.crossplane = cp.crossplane?.timings;
    started = Date.now();
    await installControlPlaneFixtures(cp);
    timings.xrdsEstablished = Date.now() - started;

    started = Date.now();
    await prepareConnector(app, controlPlaneCredential(sharedCluster('control-plane')));
    await credentialSecret(app, 'crossplane-control-plane', readFileSync(cp.kubeconfigPath, 'utf8'));
    connection = await connectWithProxy(
      app,
      'crossplane',
      {
        controlPlane: {
          kubeconfigSecretRef: { namespace: operatorNamespace, name: 'crossplane-control-plane' },
        },
        targetNamespace: target,
        deletionPolicy: 'Delete',
      },
      { log: createLogger({ level: 'silent' }) },
    );
    await kubectlOk(app, ['create', 'namespace', ns]);
    timings.connected = Date.now() - started;
  });

  afterAll(async () => {
    await connection?.stop();
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    await env?.stop();
    console.info(`crossplane timings (ms): ${JSON.stringify(timings)}`);
  });

  it('runs Crossplane with the XRDs established and the function wired in', async () => {
    for (const xrd of ['xkubernetesclusters.platform.example.org', 'databases.data.example.org']) {
      const got = await getJSON(cp, ['xrd', xrd]);
      expect(condition(got, 'Established')?.status).toBe('True');
    }
    const revision = JSON.parse(
      await kubectlOk(cp, [
        'get',
        'functionrevisions',
        '-l',
        `pkg.crossplane.io/package=${testFunctionName}`,
        '-o',
        'json',
      ]),
    ) as { items: (KubeObject & { status: { endpoint?: string } })[] };
    expect(revision.items.map((r) => r.status.endpoint)).toEqual([cp.crossplane?.functionEndpoint]);
  });

  it('a claim applied in the app cluster is bound, composed and made Ready by Crossplane, and its connection Secret arrives', async () => {
    const started = Date.now();
    await applyClaims(app, [
      claimManifest({ name: 'cluster-1', namespace: ns, connectionSecret: 'cluster-1-kubeconfig' }),
    ]);
    const seen = await readyInApp(claimResource, 'cluster-1');
    timings.claimReady = Date.now() - started;
    expect(condition(seen, 'Synced')?.status).toBe('True');
    expect(condition(seen, 'Ready')?.status).toBe('True');

    // In the control plane: the claim bound to an XR that the function composed, and written to by Crossplane alone.
    const stored = await storedByCrossplane(claimResource, 'cluster-1');
    const xrName = stored.spec?.resourceRef?.name;
    expect(xrName).toBeDefined();
    const xr = await getJSON(cp, ['xkubernetesclusters.platform.example.org', xrName!]);
    expect(condition(xr, 'Ready')?.status).toBe('True');
    const [configMap] = await composedFor(cp, 'configmaps', xr);
    expect(configMap?.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'XKubernetesCluster',
        name: xrName,
        uid: xr.metadata.uid,
        controller: true,
      }),
    ]);
    expect(configMap?.data).toMatchObject({ kind: 'XKubernetesCluster', name: xrName });
    expect(await composedFor(cp, 'secrets', xr)).toHaveLength(1);
    const events = await kubectlOk(cp, [
      '-n',
      target,
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${stored.metadata.name}`,
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    expect(events.split(' ')).toContain('BindCompositeResource');

    // The connection details the function returned: Crossplane wrote the claim's Secret, the connector delivered it.
    const delivered = await waitFor(
      async () => {
        const r = await kubectl(app, ['-n', ns, 'get', 'secret', 'cluster-1-kubeconfig', '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as KubeObject) : undefined;
      },
      { timeoutMs: 30_000, what: 'the claim connection Secret in the app namespace' },
    );
    timings.connectionSecretDelivered = Date.now() - started;
    const kubeconfig = Buffer.from(delivered.data?.kubeconfig ?? '', 'base64').toString();
    expect(kubeconfig).toContain(`server: 'https://${xrName}.clusters.example.org'`);

    await expectEventsInApp(claimResource, 'KubernetesCluster', 'cluster-1', ['BindCompositeResource']);
  });

  it('a v2 namespaced XR applied in the app cluster is composed in the target namespace and made Ready by Crossplane', async () => {
    const started = Date.now();
    const database = {
      apiVersion: 'data.example.org/v1beta1',
      kind: 'Database',
      metadata: { name: 'orders', namespace: ns },
      spec: { engine: 'postgres', storageGB: 5 },
    };
    await waitFor(
      async () =>
        (await kubectl(app, ['apply', '-f', '-'], JSON.stringify(database))).code === 0 ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'kubectl apply of the Database' },
    );
    const seen = await readyInApp(databaseResource, 'orders');
    timings.xrReady = Date.now() - started;
    expect(condition(seen, 'Synced')?.status).toBe('True');

    const stored = await storedByCrossplane(databaseResource, 'orders');
    const [configMap] = await composedFor(cp, 'configmaps', stored);
    expect(configMap?.metadata.namespace).toBe(target);
    expect(configMap?.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Database',
        name: stored.metadata.name,
        uid: stored.metadata.uid,
        controller: true,
      }),
    ]);
    const [secret] = await composedFor(cp, 'secrets', stored);
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(['endpoint', 'password', 'port', 'username']);

    const reasons = [...new Set((await eventsAbout(cp, target, stored.metadata.name)).map((e) => e.reason))];
    expect(reasons.length).toBeGreaterThan(0);
    await expectEventsInApp(databaseResource, 'Database', 'orders', reasons);
  });

  it("never delivers the events of another cluster's claims in the shared namespace", async () => {
    // Another cluster's claim, stored as its connector would store it: Crossplane binds it and records events.
    const foreignName = controlPlaneName('cluster-1', ns, 'another-cluster');
    const foreign = claimManifest({
      name: foreignName,
      namespace: target,
      labels: {
        'connect.ctp.dev/cluster-id': 'another-cluster',
        'connect.ctp.dev/app-namespace': ns,
        'connect.ctp.dev/app-name': 'cluster-1',
        'connect.ctp.dev/name-scheme': 'v2',
      },
      annotations: { 'connect.ctp.dev/app-name': 'cluster-1' },
    });
    await kubectlOk(cp, ['apply', '-f', '-'], JSON.stringify(foreign));
    await waitFor(
      async () =>
        (await eventsAbout(cp, target, foreignName)).some((e) => e.reason === 'BindCompositeResource')
          ? true
          : undefined,
      { timeoutMs: 30_000, what: "Crossplane's events on the other cluster's claim" },
    );
    // Long enough for a delivery to have happened (ours arrive within a second or two).
    await new Promise((r) => setTimeout(r, 3_000));
    const ours = new Set([
      (await getJSON(app, [claimResource, '-n', ns, 'cluster-1'])).metadata.uid,
      (await getJSON(app, [databaseResource, '-n', ns, 'orders'])).metadata.uid,
    ]);
    const all = JSON.parse(await kubectlOk(app, ['get', 'events', '-A', '-o', 'json'])) as {
      items: EventObject[];
    };
    const delivered = all.items.filter((e) => e.metadata.labels?.['connect.ctp.dev/delivered-by']);
    expect(delivered.length).toBeGreaterThan(0);
    for (const event of delivered) expect(ours.has(event.involvedObject.uid)).toBe(true);
    expect(JSON.stringify(all.items)).not.toContain(foreignName);
    await kubectlOk(cp, ['-n', target, 'delete', claimResource, foreignName, '--wait=false']);
  });
});
