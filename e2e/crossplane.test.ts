// The connector in front of a control plane that runs real Crossplane (v2.3.4, `make tools`) with the test
// composition function (e2e/fixtures/function): a claim and a v2 namespaced XR applied in the app cluster become
// Synced and Ready because Crossplane bound, composed and marked them so — nothing here writes a status — and the
// claim's connection Secret, written by Crossplane from what the function returned, arrives in the app namespace,
// and so does the Secret the function composes for a v2 XR, under the XR's app name (never another cluster's).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { childPrefix } from '../operator/src/claims/composed.ts';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { createLogger } from '../operator/src/log.ts';
import { applyClaims, claimManifest, claimResource, pausedAnnotation } from './harness/claims.ts';
import type { Cluster } from './harness/cluster.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { credentialSecret, operatorNamespace, prepareConnector } from './harness/connector.ts';
import { testFunctionName } from './harness/crossplane.ts';
import { secretSuffixAnnotation } from './fixtures/function/compose.ts';
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
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: { manager: string; operation: string; subresource?: string }[];
  };
  spec?: Record<string, unknown> & {
    resourceRef?: { name: string };
    crossplane?: { resourceRefs?: { apiVersion: string; kind: string; name: string }[] };
  };
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
  type?: string;
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

/** A Database (v2 namespaced XR) of the app namespace, applied once its API is served. */
async function applyDatabase(name: string, annotations?: Record<string, string>): Promise<void> {
  const database = {
    apiVersion: 'data.example.org/v1beta1',
    kind: 'Database',
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec: { engine: 'postgres', storageGB: 5 },
  };
  await waitFor(
    async () =>
      (await kubectl(app, ['apply', '-f', '-'], JSON.stringify(database))).code === 0 ? true : undefined,
    { timeoutMs: 60_000, intervalMs: 1_000, what: `kubectl apply of the Database ${name}` },
  );
}

/** A Secret of the app namespace, or undefined while there is none. */
async function appSecretNamed(name: string): Promise<KubeObject | undefined> {
  const r = await kubectl(app, ['-n', ns, 'get', 'secret', name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as KubeObject) : undefined;
}

/** The names of the Secrets this connection delivered into the app namespace. */
async function deliveredSecretNames(): Promise<string[]> {
  const names = await kubectlOk(app, [
    ...['-n', ns, 'get', 'secrets', '-l', 'connect.ctp.dev/delivered-by=crossplane'],
    ...['-o', 'jsonpath={.items[*].metadata.name}'],
  ]);
  return names.split(' ').filter(Boolean).sort();
}

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

/** Events of one reason about an app object, as the app cluster lists them. */
async function appEvents(reason: string, name: string): Promise<EventObject[]> {
  const list = JSON.parse(
    await kubectlOk(app, [
      ...['-n', ns, 'get', 'events', '--field-selector', `reason=${reason},involvedObject.name=${name}`],
      ...['-o', 'json'],
    ]),
  ) as { items: EventObject[] };
  return list.items;
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
    await applyDatabase('orders');
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
    // The app cluster is shared: other suites' connections deliver their own claims' Events into it.
    const delivered = all.items.filter(
      (e) => e.metadata.labels?.['connect.ctp.dev/delivered-by'] === 'crossplane',
    );
    expect(delivered.length).toBeGreaterThan(0);
    for (const event of delivered) expect(ours.has(event.involvedObject.uid)).toBe(true);
    expect(JSON.stringify(all.items)).not.toContain(foreignName);
    await kubectlOk(cp, ['-n', target, 'delete', claimResource, foreignName, '--wait=false']);
  });
  /** The Secret the function composed for Database `name` in the target namespace, and its name in the app cluster. */
  async function composedSecret(
    name: string,
  ): Promise<{ secret: KubeObject; appName: string; stored: KubeObject }> {
    const storedName = controlPlaneName(name, ns, connection.clusterID);
    const stored = await getJSON(cp, [databaseResource, '-n', target, storedName]);
    const secret = await waitFor(async () => (await composedFor(cp, 'secrets', stored))[0], {
      timeoutMs: 30_000,
      what: `the Secret composed for Database ${name}`,
    });
    // What Crossplane composes begins with the XR's stored name, cut by Crossplane where it is long.
    const kept = childPrefix(storedName);
    expect(secret.metadata.name.startsWith(kept)).toBe(true);
    return { secret, appName: `${name}-${secret.metadata.name.slice(kept.length)}`, stored };
  }

  const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name });

  it("the Secret composed for a v2 XR arrives in the app namespace under the XR's app name, and follows it", async () => {
    const { secret, appName, stored } = await composedSecret('orders');
    // Crossplane named it "<stored name>-<12 hex>"; in the app cluster the stored name is the XR's app name.
    expect(appName).toMatch(/^orders-[0-9a-f]{12}$/);
    const delivered = await waitFor(() => appSecretNamed(appName), {
      timeoutMs: 30_000,
      what: "the v2 XR's connection Secret in the app namespace",
    });
    expect(Object.keys(delivered.data ?? {}).sort()).toEqual(['endpoint', 'password', 'port', 'username']);
    expect(decode(delivered.data)).toEqual(decode(secret.data));
    // The function composed it from the XR it was given: the stored one.
    expect(decode(delivered.data)).toMatchObject({
      endpoint: `${stored.metadata.name}.postgres.databases.example.org`,
      password: stored.metadata.uid,
    });
    expect(delivered.metadata.labels).toMatchObject({
      'connect.ctp.dev/delivered-by': 'crossplane',
      'connect.ctp.dev/connection-secret-of': 'Database.orders',
    });
    expect(delivered.metadata.annotations?.['connect.ctp.dev/connection-secret-of']).toBe(
      'Database.data.example.org/orders',
    );
    // The app cluster shows Crossplane's references as stored: what the XR composed, by its control-plane name.
    const seen = await getJSON(app, [databaseResource, '-n', ns, 'orders']);
    expect(seen.spec?.crossplane?.resourceRefs).toContainEqual(secretRef(secret.metadata.name));

    // The XR changes in the app cluster; the function composes another endpoint; the copy follows.
    const changed = Date.now();
    await kubectlOk(app, [
      ...['-n', ns, 'patch', databaseResource, 'orders', '--type', 'merge'],
      ...['-p', JSON.stringify({ spec: { engine: 'mysql' } })],
    ]);
    const mysql = `${stored.metadata.name}.mysql.databases.example.org`;
    // Crossplane's part: how soon it composes again is not the connector's to promise.
    const source = await waitFor(
      async () => {
        const now = await getJSON(cp, ['secret', '-n', target, secret.metadata.name]);
        return decode(now.data).endpoint === mysql ? now : undefined;
      },
      { timeoutMs: 120_000, what: 'Crossplane to compose the Secret anew' },
    );
    const recomposed = Date.now();
    timings.xrSecretRecomposed = recomposed - changed;
    const updated = await waitFor(
      async () => {
        const copy = await appSecretNamed(appName);
        return decode(copy?.data).endpoint === mysql ? copy : undefined;
      },
      { timeoutMs: 30_000, what: "the v2 XR's connection Secret updated in the app namespace" },
    );
    timings.xrConnectionSecretUpdated = Date.now() - recomposed;
    expect(decode(updated.data)).toEqual(decode(source.data));
  });

  it("never delivers another cluster's XR's Secret in the shared namespace, even named after ours and listed by ours", async () => {
    // Another cluster's Database, stored as its connector would store it, its app name chosen so that what Crossplane
    // composes for it begins with our XR's stored name (our name mapping alone would give it a name).
    const oursStored = controlPlaneName('forger', ns, connection.clusterID);
    const foreignApp = `${oursStored}-x`;
    const foreignStored = controlPlaneName(foreignApp, ns, 'another-cluster');
    const foreignXR = {
      apiVersion: 'data.example.org/v1beta1',
      kind: 'Database',
      metadata: {
        name: foreignStored,
        namespace: target,
        labels: {
          'connect.ctp.dev/cluster-id': 'another-cluster',
          'connect.ctp.dev/app-namespace': ns,
          'connect.ctp.dev/app-name': foreignApp,
          'connect.ctp.dev/name-scheme': 'v2',
        },
        annotations: { 'connect.ctp.dev/app-name': foreignApp },
      },
      spec: { engine: 'postgres' },
    };
    await kubectlOk(cp, ['apply', '-f', '-'], JSON.stringify(foreignXR));
    const foreign = await waitFor(
      async () =>
        (
          await composedFor(cp, 'secrets', await getJSON(cp, [databaseResource, '-n', target, foreignStored]))
        )[0],
      { timeoutMs: 30_000, what: "the Secret composed for the other cluster's Database" },
    );
    expect(foreign.metadata.name.startsWith(`${oursStored}-x-`)).toBe(true);
    const before = await deliveredSecretNames();

    // Our XR lists that Secret (spec.crossplane is the user's to write) and one named unlike it; paused in Crossplane
    // from the start, so that nothing rewrites its references.
    const forger = {
      apiVersion: 'data.example.org/v1beta1',
      kind: 'Database',
      metadata: { name: 'forger', namespace: ns, annotations: { [pausedAnnotation]: 'true' } },
      spec: {
        engine: 'postgres',
        crossplane: { resourceRefs: [secretRef(foreign.metadata.name), secretRef('db-credentials')] },
      },
    };
    await kubectlOk(app, ['apply', '-f', '-'], JSON.stringify(forger));
    // The one named unlike the XR is reported: the proxy has seen the references.
    const notDelivered = await waitFor(
      async () =>
        (await appEvents('ConnectionSecretNotDelivered', 'forger')).find((e) =>
          e.message.includes('db-credentials'),
        ),
      { timeoutMs: 30_000, what: 'the ConnectionSecretNotDelivered event on the Database' },
    );
    expect(notDelivered).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'Database', name: 'forger' },
    });
    // Long enough for a delivery to have happened (ours arrive within a second or two).
    await sleep(3_000);
    expect(await deliveredSecretNames()).toEqual(before);
    const everySecret = await kubectlOk(app, ['get', 'secrets', '-A', '-o', 'json']);
    expect(everySecret).not.toContain(foreign.data!.password!);

    await kubectlOk(app, ['-n', ns, 'delete', databaseResource, 'forger', '--timeout=60s']);
    await kubectlOk(cp, ['-n', target, 'delete', databaseResource, foreignStored, '--wait=false']);
  });

  it('never writes over a Secret of the mapped name that the connector did not deliver: the XR gets an event', async () => {
    const secretName = 'invoices-connection-details';
    await kubectlOk(app, ['-n', ns, 'create', 'secret', 'generic', secretName, '--from-literal=owner=users']);
    await applyDatabase('invoices', { [secretSuffixAnnotation]: 'connection-details' });
    await readyInApp(databaseResource, 'invoices');
    const { secret, appName, stored } = await composedSecret('invoices');
    expect(appName).toBe(secretName);
    expect(secret.metadata.name).toBe(`${stored.metadata.name}-connection-details`);
    const event = await waitFor(async () => (await appEvents('ConnectionSecretConflict', 'invoices'))[0], {
      timeoutMs: 30_000,
      what: 'the ConnectionSecretConflict event on the Database',
    });
    expect(event).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'Database', name: 'invoices', uid: stored.metadata.uid },
    });
    expect(event.message).toContain(
      `Secret ${ns}/${secretName} exists and was not delivered by connection crossplane`,
    );
    const kept = await appSecretNamed(secretName);
    expect(decode(kept?.data)).toEqual({ owner: 'users' });
    expect(kept?.metadata.labels?.['connect.ctp.dev/delivered-by']).toBeUndefined();
  });

  it('delivers the Secret of an XR whose stored name Crossplane cuts in what it composes', async () => {
    const name = 'reporting-warehouse-analytics-eu-west-1';
    await applyDatabase(name);
    await readyInApp(databaseResource, name);
    const { secret, appName, stored } = await composedSecret(name);
    // 56 characters and '-' leave no room for 12 hex digits in 63: Crossplane kept 50 of them.
    expect(stored.metadata.name).toHaveLength(56);
    expect(secret.metadata.name).toHaveLength(63);
    expect(secret.metadata.name.startsWith(`${stored.metadata.name}-`)).toBe(false);
    expect(appName).toMatch(new RegExp(`^${name}-[0-9a-f]{12}$`));
    const delivered = await waitFor(() => appSecretNamed(appName), {
      timeoutMs: 30_000,
      what: "the long-named XR's connection Secret in the app namespace",
    });
    expect(decode(delivered.data)).toEqual(decode(secret.data));
    await kubectlOk(app, ['-n', ns, 'delete', databaseResource, name, '--timeout=60s']);
    await waitFor(async () => ((await appSecretNamed(appName)) ? undefined : true), {
      timeoutMs: 30_000,
      what: "the long-named XR's connection Secret removed",
    });
  });

  it("removes the v2 XR's connection Secret with the XR, and leaves the user's Secret alone", async () => {
    const { appName } = await composedSecret('orders');
    await waitFor(() => appSecretNamed(appName), { timeoutMs: 30_000, what: `Secret ${appName}` });
    await kubectlOk(app, ['-n', ns, 'delete', databaseResource, 'orders', 'invoices', '--timeout=60s']);
    await waitFor(async () => ((await appSecretNamed(appName)) ? undefined : true), {
      timeoutMs: 30_000,
      what: "the v2 XR's connection Secret removed from the app namespace",
    });
    expect(await deliveredSecretNames()).not.toContain(appName);
    expect(decode((await appSecretNamed('invoices-connection-details'))?.data)).toEqual({ owner: 'users' });
  });
});
