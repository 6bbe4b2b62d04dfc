// `ctp-connector import` with real Crossplane in both clusters: the app cluster's own Crossplane composed its claims
// and namespaced XRs (a ConfigMap and a Secret each, from the test function), and import moves them into the control
// plane through the connection. The dry run changes nothing; an import killed midway is finished by running it
// again; afterwards every object is in the control plane under the connector's name and served under its own name in
// the app cluster, its connection Secret is the same Secret (now the connector's copy), and not one composed resource
// of the app cluster was deleted or re-created (uids compared). Import refuses, with the reason, a claim that is not
// Ready and an object whose control-plane name is taken.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import type { ImportReport } from '../operator/src/cli/import.ts';
import { claimManifest, claimResource } from './harness/claims.ts';
import type { Cluster } from './harness/cluster.ts';
import { startProxyWhenServing } from './harness/connect.ts';
import {
  connectionManifest,
  operatorNamespace,
  prepareConnector,
  startTestOperator,
} from './harness/connector.ts';
import { ctpConnector } from './harness/connector-cli.ts';
import { startEnvironment, type Environment } from './harness/environment.ts';
import { installControlPlaneFixtures } from './harness/fixtures.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { waitFor } from './harness/wait.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';

const connection = 'import';
const target = 'team-import';
const ns = 'shop';
const databaseResource = 'databases.data.example.org';
const claims = ['cluster-1', 'cluster-2'];
const databases = ['orders', 'payments'];

interface Ref {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string }[];
  };
  spec?: Record<string, unknown> & {
    resourceRef?: { name: string };
    resourceRefs?: Ref[];
    crossplane?: { resourceRefs?: Ref[]; compositionRef?: { name: string } };
    compositionRef?: { name: string };
  };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
  data?: Record<string, string>;
}

const getJSON = async (cluster: KubectlTarget, args: string[]) =>
  JSON.parse(await kubectlOk(cluster, ['get', ...args, '-o', 'json'])) as Obj;
const tryGet = async (cluster: KubectlTarget, args: string[]) => {
  const r = await kubectl(cluster, ['get', ...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
};
const resourceOf = (ref: Ref) =>
  ref.apiVersion === 'v1'
    ? ref.kind.toLowerCase() + 's'
    : `${ref.kind.toLowerCase()}s.${ref.apiVersion.split('/')[0]}`;

describe('ctp-connector import: a local Crossplane into the control plane', () => {
  let env: Environment;
  let app: Cluster;
  let cp: Cluster;
  let operator: RunningOperator;
  let proxy: RunningProxy;
  let clusterID: string;
  const numbers: Record<string, unknown> = {};
  /** The app cluster's composed resources before the import: "<resource> <ns>/<name>" → uid. */
  const composedBefore = new Map<string, string>();
  const secretUIDs = new Map<string, string>();
  const localUIDs = new Map<string, string>();
  /** The composition each local object was composed with (spec.compositionRef, spec.crossplane.compositionRef). */
  const localCompositions = new Map<string, string>();

  const cli = (args: string[]) =>
    ctpConnector(['import', connection, ...args], { KUBECONFIG: app.kubeconfigPath });

  /**
   * What import writes (existence, uid, annotations, labels, finalizers, owners) of everything it may touch in the
   * app cluster and in the control plane's namespace. Not resourceVersions: Crossplane rewrites its objects by itself.
   */
  async function snapshot(): Promise<string> {
    const written =
      '{.metadata.uid} {.metadata.annotations} {.metadata.labels} {.metadata.finalizers} {.metadata.ownerReferences} {.metadata.deletionTimestamp}';
    const appState = await kubectlOk(app, [
      'get',
      `${claimResource},${databaseResource},xkubernetesclusters.platform.example.org,configmaps,secrets,compositeresourcedefinitions,customresourcedefinitions,controlplaneconnections`,
      '-A',
      '-o',
      `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}=${written}{"\\n"}{end}`,
    ]);
    const cpState = await kubectlOk(cp, [
      '-n',
      target,
      'get',
      `${claimResource},${databaseResource},secrets`,
      '-o',
      `jsonpath={range .items[*]}{.kind}/{.metadata.name}=${written}{"\\n"}{end}`,
    ]);
    // The connection's status and the connector's own objects (token, reports) change by themselves.
    return (appState + cpState)
      .split('\n')
      .filter((l) => !l.startsWith('ControlPlaneConnection/') && !l.includes(`/${operatorNamespace}/`))
      .sort()
      .join('\n');
  }

  async function composedRefs(resource: string, name: string): Promise<Ref[]> {
    const obj = await getJSON(app, [resource, '-n', ns, name]);
    if (resource === claimResource) {
      const xr = await getJSON(app, [
        'xkubernetesclusters.platform.example.org',
        obj.spec!.resourceRef!.name,
      ]);
      return xr.spec?.resourceRefs ?? [];
    }
    return (obj.spec?.crossplane?.resourceRefs ?? []).map((r) => ({ ...r, namespace: r.namespace ?? ns }));
  }

  beforeAll(async () => {
    let started = Date.now();
    env = await startEnvironment({
      names: ['import-app', 'import-cp'],
      crossplane: ['import-app', 'import-cp'],
      handleSignals: false,
    });
    app = env.cluster('import-app');
    cp = env.cluster('import-cp');
    await installControlPlaneFixtures(cp);
    await installControlPlaneFixtures(app);
    numbers.twoClustersWithCrossplaneMs = Date.now() - started;

    started = Date.now();
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
    const [port] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, port);
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      connectionManifest(connection, {
        controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } },
        targetNamespace: target,
      }),
    );
    proxy = await startProxyWhenServing(app, connection, port);
    // The local XRDs' CRDs hold the APIServices of both groups: the connection says so and serves the rest.
    await waitFor(
      async () => {
        const c = await tryGet(app, ['ctpc', connection]);
        const stalled = c?.status?.conditions?.find((x) => x.type === 'Stalled');
        return stalled?.reason === 'APIServiceConflict' ? true : undefined;
      },
      { timeoutMs: 90_000, what: 'the connection to report the local CRDs as APIService conflicts' },
    );
    clusterID = await kubectlOk(app, ['get', 'ctpc', connection, '-o', 'jsonpath={.status.clusterID}']);
    numbers.connectedMs = Date.now() - started;

    started = Date.now();
    await kubectlOk(app, ['create', 'namespace', ns]);
    const objects = [
      ...claims.map((name) =>
        claimManifest({ name, namespace: ns, id: name, connectionSecret: `${name}-kubeconfig` }),
      ),
      ...databases.map((name) => ({
        apiVersion: 'data.example.org/v1beta1',
        kind: 'Database',
        metadata: { name, namespace: ns },
        spec: { engine: 'postgres', storageGB: 5 },
      })),
    ];
    await kubectlOk(app, ['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
    await kubectlOk(app, [
      '-n',
      ns,
      'wait',
      '--for=condition=Ready',
      '--timeout=90s',
      ...claims.map((c) => `${claimResource}/${c}`),
      ...databases.map((d) => `${databaseResource}/${d}`),
    ]);
    numbers.localCrossplaneReadyMs = Date.now() - started;
    for (const [resource, names] of [
      [claimResource, claims],
      [databaseResource, databases],
    ] as const) {
      for (const name of names) {
        const local = await getJSON(app, [resource, '-n', ns, name]);
        localUIDs.set(`${resource}/${name}`, local.metadata.uid);
        const composition = local.spec?.compositionRef?.name ?? local.spec?.crossplane?.compositionRef?.name;
        expect(composition).toBeDefined();
        localCompositions.set(`${resource}/${name}`, composition!);
        const refs = await composedRefs(resource, name);
        expect(refs.map((r) => r.kind).sort()).toEqual(['ConfigMap', 'Secret']);
        for (const ref of refs) {
          const got = await getJSON(app, [resourceOf(ref), '-n', ref.namespace ?? ns, ref.name]);
          composedBefore.set(`${resourceOf(ref)} ${ref.namespace ?? ns}/${ref.name}`, got.metadata.uid);
        }
      }
    }
    for (const name of claims)
      secretUIDs.set(name, (await getJSON(app, ['secret', '-n', ns, `${name}-kubeconfig`])).metadata.uid);
  });

  afterAll(async () => {
    await proxy?.stop();
    await operator?.stop();
    await env?.stop();
    console.info(`import numbers: ${JSON.stringify(numbers)}`);
  });

  it('refuses, with the reason, a claim that is not Ready and an object whose control-plane name is taken; the dry run changes nothing', async () => {
    // Not Ready: its Composition does not exist, so local Crossplane never composes it.
    const broken = claimManifest({ name: 'broken', namespace: ns, id: 'broken' });
    broken.spec.compositionRef = { name: 'no-such-composition' };
    await kubectlOk(app, ['apply', '-f', '-'], JSON.stringify(broken));
    // Taken: something else already holds the name the connector gives payments in the control plane.
    const taken = controlPlaneName('payments', ns, clusterID);
    await kubectlOk(app, ['get', 'ns', ns]);
    await kubectl(cp, ['create', 'namespace', target]);
    await kubectlOk(
      cp,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'data.example.org/v1beta1',
        kind: 'Database',
        metadata: { name: taken, namespace: target },
        spec: { engine: 'mysql' },
      }),
    );
    await waitFor(
      async () => {
        const b = await tryGet(app, [claimResource, '-n', ns, 'broken']);
        // Bound to an XR that cannot select its Composition: reconciled, never Ready.
        return b?.status?.conditions?.some((c) => c.type === 'Synced') ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'local Crossplane to report the broken claim' },
    );

    const before = await snapshot();
    const started = Date.now();
    const dry = await cli(['-o', 'json']);
    numbers.dryRunMs = Date.now() - started;
    expect(dry.stderr).not.toContain('Error');
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as ImportReport;
    expect(report.dryRun).toBe(true);
    const byName = (name: string) => report.objects.find((o) => o.name === name)!;
    expect(byName('broken').outcome).toBe('refused');
    expect(byName('broken').reasons.join('\n')).toMatch(/^the claim is not Ready \(/m);
    expect(byName('payments').reasons.join('\n')).toContain(`name collision: ${target}/${taken}`);
    // Their groups stay local with them, and so do the other objects of those groups.
    expect(byName('cluster-1').reasons[0]).toContain(
      'group platform.example.org cannot be handed to the connection',
    );
    expect(byName('orders').reasons[0]).toContain(
      'group data.example.org cannot be handed to the connection',
    );
    expect(report.groups.map((g) => [g.group, g.outcome])).toEqual([
      ['data.example.org', 'refused'],
      ['platform.example.org', 'refused'],
    ]);
    const text = await cli([]);
    expect(text.stdout).toContain('Dry run: nothing was changed');
    expect(text.stdout).toMatch(/broken\s+broken-[0-9a-f]{16}\s+refused\s+the claim is not Ready/);
    // --apply with refusals does nothing either, and says why.
    const refused = await cli(['--apply']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused');
    expect(await snapshot()).toBe(before);

    await kubectlOk(app, ['-n', ns, 'delete', claimResource, 'broken', '--timeout=60s']);
    await kubectlOk(cp, ['-n', target, 'delete', databaseResource, taken, '--timeout=60s']);
    const clean = JSON.parse((await cli(['-o', 'json'])).stdout) as ImportReport;
    expect(clean.objects.map((o) => [o.name, o.outcome]).sort()).toEqual(
      [...claims, ...databases].map((n) => [n, 'would move']).sort(),
    );
    expect(clean.groups.map((g) => g.outcome)).toEqual(['would hand over', 'would hand over']);
  });

  it('moves every object, killed midway and run again, keeping every composed resource and connection Secret', async () => {
    const started = Date.now();
    // Killed (SIGKILL) as soon as the first object's copy exists in the control plane.
    const first = spawn(
      process.execPath,
      [join(repoRoot, 'operator', 'src', 'main.ts'), 'import', connection, '--apply'],
      { env: { ...process.env, KUBECONFIG: app.kubeconfigPath, HOME: '/nonexistent' } },
    );
    let stderr = '';
    const killedAt = await new Promise<string>((resolve, reject) => {
      first.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const line = stderr.split('\n').find((l) => l.endsWith(': create done'));
        if (line) {
          first.kill('SIGKILL');
          resolve(line);
        }
      });
      first.on('exit', () => reject(new Error(`import ended before it was killed:\n${stderr}`)));
    });
    numbers.killedAt = killedAt.replace(/^\[\s*\d+s\] /, '');
    await new Promise((r) => first.once('close', r));

    const resumed = await cli(['--apply', '-o', 'json']);
    numbers.importMs = Date.now() - started;
    console.info(`the resumed import:\n${resumed.stderr}`);
    expect(resumed.stderr).not.toMatch(/ctp-connector import: /);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as ImportReport;
    expect(report.counts).toMatchObject({ moved: 4, refused: 0, failed: 0 });
    numbers.objectsMoved = report.counts.moved;
    numbers.resumedRunMs = report.durationMs;
    expect(report.groups.map((g) => g.outcome)).toEqual(['served', 'served']);

    // The local Crossplane's XRDs and CRDs of both groups are gone; the connection serves them.
    expect((await kubectl(app, ['get', 'xrd', '-o', 'name'])).stdout.trim()).toBe('');
    await kubectlOk(app, ['wait', '--for=condition=Ready', '--timeout=60s', `ctpc/${connection}`]);

    for (const [resource, names] of [
      [claimResource, claims],
      [databaseResource, databases],
    ] as const) {
      for (const name of names) {
        // In the control plane under the connector's name, imported from the local object, Ready for real.
        const stored = await getJSON(cp, [resource, '-n', target, controlPlaneName(name, ns, clusterID)]);
        expect(stored.metadata.annotations?.['connect.ctp.dev/imported-from']).toBe(
          localUIDs.get(`${resource}/${name}`),
        );
        expect(stored.metadata.labels?.['connect.ctp.dev/cluster-id']).toBe(clusterID);
        expect(stored.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
        const composition =
          stored.spec?.compositionRef?.name ?? stored.spec?.crossplane?.compositionRef?.name;
        expect(composition).toBe(localCompositions.get(`${resource}/${name}`));
        // Served under its own name in the app cluster.
        const served = await getJSON(app, [resource, '-n', ns, name]);
        expect(served.metadata.name).toBe(name);
        expect(served.metadata.annotations?.['connect.ctp.dev/imported-from']).toBe(
          localUIDs.get(`${resource}/${name}`),
        );
      }
    }
    // The claims' connection Secrets are the same Secrets, now the connection's copies, with the control plane's data.
    for (const name of claims) {
      const secret = await waitFor(
        async () => {
          const s = await getJSON(app, ['secret', '-n', ns, `${name}-kubeconfig`]);
          const kubeconfig = Buffer.from(s.data?.kubeconfig ?? '', 'base64').toString();
          return kubeconfig.includes(controlPlaneName(name, ns, clusterID)) ? s : undefined;
        },
        { timeoutMs: 30_000, what: `the control plane's connection details in ${name}-kubeconfig` },
      );
      expect(secret.metadata.uid).toBe(secretUIDs.get(name));
      expect(secret.metadata.labels?.['connect.ctp.dev/delivered-by']).toBe(connection);
      expect(secret.metadata.ownerReferences ?? []).toEqual([]);
    }
    // Not one composed resource of the app cluster was deleted or re-created: orphaned, paused, marked.
    for (const [key, uid] of composedBefore) {
      const [resource, where] = key.split(' ') as [string, string];
      const [namespace, name] = where.split('/') as [string, string];
      const now = await getJSON(app, [resource, '-n', namespace, name]);
      expect(now.metadata.uid).toBe(uid);
      expect(now.metadata.ownerReferences ?? []).toEqual([]);
      expect(now.metadata.annotations?.['crossplane.io/paused']).toBe('true');
      expect(now.metadata.annotations?.['connect.ctp.dev/released-by-import']).toMatch(
        new RegExp(`^${target}/`),
      );
    }
    numbers.composedKept = composedBefore.size;

    // A third run finds nothing left to do and changes nothing.
    const again = await cli(['--apply', '-o', 'json']);
    expect(again.code).toBe(0);
    const last = JSON.parse(again.stdout) as ImportReport;
    expect(last.objects.every((o) => o.outcome === 'moved')).toBe(true);
  }, 600_000);
});
