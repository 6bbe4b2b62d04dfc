// Claims through the app cluster's kube-apiserver and the proxy, compared with the control plane's own view.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { toControlPlane } from '../operator/src/proxy/translate.ts';
import { kubeconfigClient } from '../operator/src/kube/client.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { operatorNamespace, prepareConnector } from './harness/connector.ts';
import {
  claimManifest,
  pausedAnnotation,
  settledInControlPlane,
  writeConnectionSecret,
} from './harness/claims.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { fixturesDir } from './harness/fixtures.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { collectWatch, type CollectedWatch } from './harness/watch.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-proxy';
const claimFile = join(fixturesDir, 'samples', 'kubernetescluster-claim.yaml');

interface Claim {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { writeConnectionSecretToRef?: { name: string } };
}

describe('proxy: claims through the aggregation layer', () => {
  let connection: ProxiedConnection;
  let proxy: RunningProxy;
  let clusterID: string;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    connection = await connectWithProxy(app, 'claims', { targetNamespace: target, deletionPolicy: 'Delete' });
    ({ proxy, clusterID } = connection);
    await kubectl(app, ['create', 'namespace', 'other']);
  });

  afterAll(async () => {
    await connection?.stop();
  });

  it('applies the seed claim in the app cluster and stores it in targetNamespace under its mapped name', async () => {
    const applied = await waitFor(
      async () => {
        const r = await kubectl(app, ['apply', '-f', claimFile]);
        return r.code === 0 ? r.stdout : undefined;
      },
      { timeoutMs: 90_000, what: 'kubectl apply of the claim (discovery of the new API)' },
    );
    expect(applied.trim()).toBe('kubernetescluster.platform.example.org/my-cluster created');
    const mapped = controlPlaneName('my-cluster', 'default', clusterID);
    const stored = JSON.parse(
      await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', mapped, '-o', 'json']),
    ) as Claim;
    expect(stored.metadata.labels).toMatchObject({
      'connect.ctp.dev/cluster-id': clusterID,
      'connect.ctp.dev/app-namespace': 'default',
      'connect.ctp.dev/app-name': 'my-cluster',
    });
    expect(stored.spec.writeConnectionSecretToRef?.name).toBe(
      controlPlaneName('my-cluster-kubeconfig', 'default', clusterID),
    );
  });

  it('reads the claim back under its own name and namespace', async () => {
    const got = JSON.parse(
      await kubectlOk(app, ['-n', 'default', 'get', 'kubernetescluster', 'my-cluster', '-o', 'json']),
    ) as Claim;
    expect(got.metadata.name).toBe('my-cluster');
    expect(got.metadata.namespace).toBe('default');
    expect(Object.keys(got.metadata.labels ?? {}).filter((k) => k.startsWith('connect.ctp.dev'))).toEqual([]);
    expect(got.spec.writeConnectionSecretToRef?.name).toBe('my-cluster-kubeconfig');
    const table = await kubectlOk(app, ['get', 'kubernetesclusters', '-A']);
    expect(table).toMatch(/^NAMESPACE\s+NAME\s+SYNCED\s+READY\s+CONNECTION-SECRET\s+AGE/);
    // SYNCED and READY are Crossplane's to fill (empty where no Crossplane runs).
    expect(table).toMatch(/\ndefault\s+my-cluster\s+(?:(?:True|False)\s+){0,2}my-cluster-kubeconfig\s+\d+s/);
    // A second apply is a no-op.
    expect((await kubectlOk(app, ['apply', '-f', claimFile])).trim()).toBe(
      'kubernetescluster.platform.example.org/my-cluster unchanged',
    );
  });

  it('keeps namespaces apart: the same name in another namespace is another claim', async () => {
    await kubectlOk(
      app,
      ['apply', '-n', 'other', '-f', '-'],
      readFileSync(claimFile, 'utf8').replace('namespace: default', 'namespace: other'),
    );
    const inDefault = await kubectlOk(app, ['-n', 'default', 'get', 'kubernetesclusters', '-o', 'name']);
    const inOther = await kubectlOk(app, ['-n', 'other', 'get', 'kubernetesclusters', '-o', 'name']);
    expect(inDefault.trim()).toBe('kubernetescluster.platform.example.org/my-cluster');
    expect(inOther.trim()).toBe('kubernetescluster.platform.example.org/my-cluster');
    const stored = await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'name']);
    expect(stored.trim().split('\n')).toHaveLength(2);
    const empty = await kubectlOk(app, ['-n', 'kube-system', 'get', 'kubernetesclusters', '-o', 'name']);
    expect(empty.trim()).toBe('');
  });

  it('stores two claims whose names collided under the v1 naming scheme as two claims', async () => {
    // v1 joined name, namespace and cluster with "-x-": these two mapped to one control-plane name.
    const long = 'l'.repeat(50);
    const first = { name: `${long}-x-a`, namespace: 'b' };
    const second = { name: long, namespace: 'a-x-b' };
    expect(controlPlaneName(first.name, first.namespace, clusterID, 'v1')).toBe(
      controlPlaneName(second.name, second.namespace, clusterID, 'v1'),
    );
    for (const ns of [first.namespace, second.namespace]) await kubectl(app, ['create', 'namespace', ns]);
    for (const [claim, id] of [
      [first, 'first'],
      [second, 'second'],
    ] as const)
      await kubectlOk(
        app,
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify(claimManifest({ ...claim, id, paused: true })),
      );
    for (const claim of [first, second])
      await settledInControlPlane(cp, target, controlPlaneName(claim.name, claim.namespace, clusterID));
    const storedOf = async (claim: { name: string; namespace: string }) =>
      JSON.parse(
        await kubectlOk(cp, [
          ...['-n', target, 'get', 'kubernetesclusters'],
          ...[controlPlaneName(claim.name, claim.namespace, clusterID), '-o', 'json'],
        ]),
      ) as Claim & { spec: { id: string } };
    expect((await storedOf(first)).spec.id).toBe('first');
    const secondBefore = await storedOf(second);
    expect(secondBefore.spec.id).toBe('second');
    await kubectlOk(app, [
      ...['-n', first.namespace, 'patch', 'kubernetesclusters', first.name],
      ...['--type', 'merge', '-p', '{"spec":{"id":"first-changed"}}'],
    ]);
    expect((await storedOf(first)).spec.id).toBe('first-changed');
    expect(await storedOf(second)).toEqual(secondBefore);
    for (const claim of [first, second])
      await kubectlOk(app, ['-n', claim.namespace, 'delete', 'kubernetesclusters', claim.name]);
  });

  it('serves, updates and deletes claims stored under v1 names in place, and never re-creates them', async () => {
    // What the proxy of an earlier version stored: v1 names, no name-scheme label.
    const scope = { clusterID, targetNamespace: target };
    const legacy = { namespace: 'b', name: `${'l'.repeat(50)}-x-a` };
    const v1 = controlPlaneName(legacy.name, legacy.namespace, clusterID, 'v1');
    const stored = toControlPlane(
      claimManifest({ ...legacy, id: 'legacy', connectionSecret: 'legacy-conn', paused: true }) as never,
      scope,
      legacy,
      'v1',
    );
    expect(stored.metadata?.name).toBe(v1);
    await kubectl(app, ['create', 'namespace', legacy.namespace]);
    await kubectlOk(cp, ['create', '-f', '-'], JSON.stringify(stored));
    await settledInControlPlane(cp, target, v1);
    const storedNow = async () =>
      JSON.parse(
        await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', v1, '-o', 'json']),
      ) as Claim & {
        metadata: { uid: string; resourceVersion: string };
        spec: { id: string; writeConnectionSecretToRef: { name: string } };
      };
    const before = await storedNow();
    const inApp = ['-n', legacy.namespace];
    const got = await waitFor(
      async () => {
        const r = await kubectl(app, [...inApp, 'get', 'kubernetesclusters', legacy.name, '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as Claim) : undefined;
      },
      { what: 'the v1 claim through the proxy', timeoutMs: 10_000 },
    );
    expect(got.metadata.name).toBe(legacy.name);
    expect(got.spec.writeConnectionSecretToRef?.name).toBe('legacy-conn');
    expect(await kubectlOk(app, [...inApp, 'get', 'kubernetesclusters', '-o', 'name'])).toContain(
      legacy.name,
    );

    // A create of the same claim is refused; a merge patch and an apply change it in place.
    const again = await kubectl(
      app,
      ['create', '-f', '-'],
      JSON.stringify(claimManifest({ ...legacy, id: 'x' })),
    );
    expect(again.stderr).toContain('AlreadyExists');
    await kubectlOk(app, [
      ...inApp,
      'patch',
      'kubernetesclusters',
      legacy.name,
      '--type',
      'merge',
      '-p',
      '{"spec":{"id":"patched"}}',
    ]);
    await kubectlOk(
      app,
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      JSON.stringify(
        claimManifest({ ...legacy, id: 'applied', connectionSecret: 'legacy-conn', paused: true }),
      ),
    );
    const after = await storedNow();
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec.id).toBe('applied');
    // Its connection Secret keeps the v1 name the composition writes to; nothing was stored under the v2 name.
    expect(after.spec.writeConnectionSecretToRef.name).toBe(before.spec.writeConnectionSecretToRef.name);
    expect(after.metadata.labels).not.toHaveProperty('connect.ctp.dev/name-scheme');
    const v2 = controlPlaneName(legacy.name, legacy.namespace, clusterID);
    expect((await kubectl(cp, ['-n', target, 'get', 'kubernetesclusters', v2])).code).not.toBe(0);

    // The namespace whose v1 name collided cannot reach it: for that claim it does not exist.
    const intruder = { namespace: 'a-x-b', name: 'l'.repeat(50) };
    await kubectl(app, ['create', 'namespace', intruder.namespace]);
    const patched = await kubectl(app, [
      ...['-n', intruder.namespace, 'patch', 'kubernetesclusters', intruder.name],
      ...['--type', 'merge', '-p', '{"spec":{"id":"intruder"}}'],
    ]);
    expect(patched.stderr).toContain(`"${intruder.name}" not found`);
    const deleted = await kubectl(app, [
      '-n',
      intruder.namespace,
      'delete',
      'kubernetesclusters',
      intruder.name,
    ]);
    expect(deleted.stderr).toContain(`"${intruder.name}" not found`);
    expect((await storedNow()).metadata.resourceVersion).toBe(after.metadata.resourceVersion);

    await kubectlOk(app, [...inApp, 'delete', 'kubernetesclusters', legacy.name]);
    expect((await kubectl(cp, ['-n', target, 'get', 'kubernetesclusters', v1])).code).not.toBe(0);
  });

  it('answers a missing claim with a NotFound Status in the app namespace terms', async () => {
    const missing = await kubectl(app, ['-n', 'default', 'get', 'kubernetescluster', 'nope']);
    expect(missing.stderr.trim()).toBe(
      'Error from server (NotFound): kubernetesclusters.platform.example.org "nope" not found',
    );
  });

  it('watches claims through the proxy: translated events, only the watched namespace', async () => {
    const client = kubeconfigClient(app.kubeconfigPath);
    const path = '/apis/platform.example.org/v1alpha1/namespaces/default/kubernetesclusters';
    let watch: CollectedWatch<Claim> | undefined;
    try {
      const list = await client.request<{ metadata: { resourceVersion: string } }>('GET', path);
      expect(list.metadata.resourceVersion).toMatch(/^[1-9]\d*$/);
      watch = await collectWatch<Claim>(client, path, {
        resourceVersion: list.metadata.resourceVersion,
        allowWatchBookmarks: 'true',
      });
      const claim = (name: string, ns: string) =>
        readFileSync(claimFile, 'utf8')
          .replace('name: my-cluster', `name: ${name}`)
          .replace('namespace: default', `namespace: ${ns}`);
      await kubectlOk(app, ['apply', '-f', '-'], claim('elsewhere', 'other'));
      await kubectlOk(app, ['apply', '-f', '-'], claim('watched', 'default'));
      await kubectlOk(app, ['-n', 'default', 'delete', 'kubernetescluster', 'watched']);
      await watch.until(
        (e) => e.type === 'DELETED' && e.object.metadata.name === 'watched',
        'the DELETED event',
      );
      const changes = watch.events.filter((e) => e.type !== 'BOOKMARK');
      // Crossplane's writes in between (finalizer, references, status) are MODIFIED events.
      expect(changes.map((e) => e.type).join(' ')).toMatch(/^ADDED( MODIFIED)* DELETED$/);
      expect(
        changes.every(
          (e) => e.object.metadata.name === 'watched' && e.object.metadata.namespace === 'default',
        ),
      ).toBe(true);
      expect(
        changes.every(
          (e) => !Object.keys(e.object.metadata.labels ?? {}).some((k) => k.startsWith('connect.ctp.dev')),
        ),
      ).toBe(true);
    } finally {
      watch?.stop();
      await watch?.ended;
      await client.close();
      await kubectl(app, ['-n', 'other', 'delete', 'kubernetescluster', 'elsewhere']);
    }
  });

  it('serves the claim schema to kubectl explain through the aggregated OpenAPI v3', async () => {
    const explained = await waitFor(
      async () => {
        const r = await kubectl(app, ['explain', 'kubernetesclusters.spec.parameters.nodes']);
        return r.code === 0 ? r.stdout : undefined;
      },
      { timeoutMs: 60_000, what: 'kubectl explain' },
    );
    expect(explained).toContain('KIND:       KubernetesCluster');
    expect(explained).toMatch(/count\s+<integer>/);
    expect(explained).toMatch(/size\s+<string>/);
  });

  it('authenticates the aggregator and authorizes its users by app-cluster RBAC, even when called directly', async () => {
    const serving = JSON.parse(
      await kubectlOk(app, ['-n', operatorNamespace, 'get', 'secret', 'ctpc-claims-serving', '-o', 'json']),
    ) as {
      data: Record<string, string>;
    };
    const ca = Buffer.from(serving.data['ca.crt']!, 'base64').toString();
    const frontProxy = {
      cert: readFileSync(join(app.dir, 'pki', 'front-proxy-client.crt'), 'utf8'),
      key: readFileSync(join(app.dir, 'pki', 'front-proxy-client.key'), 'utf8'),
    };
    const call = (
      path: string,
      headers: Record<string, string | string[]>,
      client?: { cert: string; key: string },
    ) =>
      new Promise<{ status: number; body: { reason?: string; message?: string } }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: proxy.port,
            path,
            ca,
            servername: 'ctpc-claims-proxy.ctp-system.svc',
            headers,
            ...client,
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { reason?: string } }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    const list = (ns: string) => `/apis/platform.example.org/v1alpha1/namespaces/${ns}/kubernetesclusters`;

    const spoofed = await call(list('default'), {
      'x-remote-user': 'system:admin',
      'x-remote-group': 'system:masters',
    });
    expect(spoofed.status).toBe(401);
    const bob = { 'x-remote-user': 'bob', 'x-remote-group': 'developers' };
    const denied = await call(list('default'), bob, frontProxy);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe(
      'kubernetesclusters.platform.example.org is forbidden: User "bob" cannot list resource "kubernetesclusters" in API group "platform.example.org" in the namespace "default"',
    );
    await kubectlOk(app, [
      '-n',
      'default',
      'create',
      'role',
      'claims-reader',
      '--verb=list',
      '--resource=kubernetesclusters.platform.example.org',
    ]);
    await kubectlOk(app, [
      '-n',
      'default',
      'create',
      'rolebinding',
      'bob-reads-claims',
      '--role=claims-reader',
      '--group=developers',
    ]);
    // Decisions are cached for 10 s.
    const allowed = await waitFor(
      async () => {
        const r = await call(list('default'), bob, frontProxy);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1_000, what: 'the RoleBinding to take effect' },
    );
    expect(allowed.status).toBe(200);
    expect((await call(list('other'), bob, frontProxy)).status).toBe(403);
    expect((await call('/apis/platform.example.org/v1alpha1', bob, frontProxy)).status).toBe(200);
  });

  it('delivers the claim connection Secret into the app namespace, keeps it in sync, and removes it with the claim', async () => {
    const claim = readFileSync(claimFile, 'utf8')
      .replace(
        'name: my-cluster\n',
        `name: with-secret\n  annotations:\n    ${pausedAnnotation}: "true"\n    argocd.argoproj.io/tracking-id: app:platform.example.org/KubernetesCluster:default/with-secret\n`,
      )
      .replace('name: my-cluster-kubeconfig', 'name: with-secret-conn');
    await kubectlOk(app, ['apply', '-f', '-'], claim);
    // Crossplane writes the connection Secret in the control plane, under the mapped name: here the test does, the
    // claim being paused in Crossplane, so that what the copy must hold is known at every step.
    const mapped = await writeConnectionSecret(
      cp,
      { targetNamespace: target, namespace: 'default', clusterID },
      'with-secret-conn',
      {
        kubeconfig: 'first',
      },
    );
    const read = async () => {
      const r = await kubectl(app, ['-n', 'default', 'get', 'secret', 'with-secret-conn', '-o', 'json']);
      return r.code === 0
        ? (JSON.parse(r.stdout) as {
            data: Record<string, string>;
            metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
          })
        : undefined;
    };
    const delivered = await waitFor(read, {
      timeoutMs: 30_000,
      what: 'the connection Secret in the app namespace',
    });
    expect(Buffer.from(delivered.data.kubeconfig!, 'base64').toString()).toBe('first');
    expect(delivered.metadata.annotations?.['argocd.argoproj.io/tracking-id']).toBeUndefined();
    expect(
      Object.keys(delivered.metadata.labels ?? {}).filter(
        (k) => k.startsWith('kustomize.toolkit.fluxcd.io') || k === 'app.kubernetes.io/instance',
      ),
    ).toEqual([]);

    await kubectlOk(cp, [
      '-n',
      target,
      'patch',
      'secret',
      mapped,
      '-p',
      JSON.stringify({ data: { kubeconfig: Buffer.from('second').toString('base64') } }),
    ]);
    await waitFor(
      async () =>
        (await read())?.data.kubeconfig === Buffer.from('second').toString('base64') ? true : undefined,
      {
        timeoutMs: 30_000,
        what: 'the updated connection Secret',
      },
    );

    await kubectlOk(app, ['-n', 'default', 'delete', 'kubernetescluster', 'with-secret']);
    await waitFor(async () => ((await read()) === undefined ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the copy to be removed',
    });
    await kubectlOk(cp, ['-n', target, 'delete', 'secret', mapped]);
  });

  it('behaves like kube-apiserver for server-side apply, diff, dry-run, conflicts and patch types', async () => {
    // Paused in Crossplane: the resourceVersions compared below are the connector's writes alone.
    const file = readFileSync(claimFile, 'utf8').replace(
      'name: my-cluster\n',
      `name: ssa-claim\n  annotations:\n    ${pausedAnnotation}: "true"\n`,
    );
    const ssa = () => kubectlOk(app, ['apply', '--server-side', '--field-manager=gitops', '-f', '-'], file);
    const getSsaClaim = (...output: string[]) =>
      kubectlOk(app, ['-n', 'default', 'get', 'kubernetescluster', 'ssa-claim', ...output]);
    expect((await ssa()).trim()).toBe('kubernetescluster.platform.example.org/ssa-claim serverside-applied');
    await settledInControlPlane(cp, target, controlPlaneName('ssa-claim', 'default', clusterID));
    const before = JSON.parse(await getSsaClaim('-o', 'json', '--show-managed-fields')) as {
      metadata: { resourceVersion: string; managedFields: { manager: string }[] };
    };
    expect(before.metadata.managedFields.map((f) => f.manager)).toContain('gitops');
    await ssa();
    const after = JSON.parse(await getSsaClaim('-o', 'json')) as {
      metadata: { resourceVersion: string };
    };
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion); // a re-apply changes nothing
    const diff = await kubectl(app, ['diff', '--server-side', '--field-manager=gitops', '-f', '-'], file);
    expect(diff.code).toBe(0);

    const dryRun = await kubectlOk(
      app,
      ['apply', '--server-side', '--field-manager=gitops', '--dry-run=server', '-f', '-'],
      file.replace('count: 3', 'count: 9'),
    );
    expect(dryRun).toContain('(server dry run)');
    const count = await getSsaClaim('-o', 'jsonpath={.spec.parameters.nodes.count}');
    expect(count).toBe('3');

    const stale = JSON.stringify({
      ...JSON.parse(await getSsaClaim('-o', 'json')),
    });
    await kubectlOk(app, ['-n', 'default', 'label', 'kubernetescluster', 'ssa-claim', 'tier=gold']);
    const conflict = await kubectl(app, ['replace', '-f', '-'], stale);
    expect(conflict.stderr).toContain('Error from server (Conflict)');
    expect(conflict.stderr).toContain(
      'kubernetesclusters.platform.example.org "ssa-claim": the object has been modified',
    );

    const smp = await kubectl(app, [
      '-n',
      'default',
      'patch',
      'kubernetescluster',
      'ssa-claim',
      '--type=strategic',
      '-p',
      '{"spec":{"id":"x"}}',
    ]);
    expect(smp.stderr).toContain('application/strategic-merge-patch+json is not supported');
    await kubectlOk(app, [
      '-n',
      'default',
      'patch',
      'kubernetescluster',
      'ssa-claim',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/parameters/nodes/count","value":4}]',
    ]);
    expect(await getSsaClaim('-o', 'jsonpath={.spec.parameters.nodes.count} {.metadata.labels.tier}')).toBe(
      '4 gold',
    );
    await kubectlOk(app, ['-n', 'default', 'delete', 'kubernetescluster', 'ssa-claim', '--wait']);
  });

  it('lets an app namespace holding claims be deleted, deleting its claims in the control plane', async () => {
    await kubectlOk(app, ['create', 'namespace', 'doomed']);
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      readFileSync(claimFile, 'utf8').replace('namespace: default', 'namespace: doomed'),
    );
    const started = Date.now();
    await kubectlOk(app, ['delete', 'namespace', 'doomed', '--timeout=90s']);
    expect(Date.now() - started).toBeLessThan(90_000);
    const stored = await kubectlOk(cp, [
      '-n',
      target,
      'get',
      'kubernetesclusters',
      '-l',
      'connect.ctp.dev/app-namespace=doomed',
      '-o',
      'name',
    ]);
    expect(stored.trim()).toBe('');
  });

  it('deletes through the proxy', async () => {
    await kubectlOk(app, ['-n', 'other', 'delete', 'kubernetescluster', 'my-cluster']);
    const stored = await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'name']);
    expect(stored.trim().split('\n')).toEqual([
      `kubernetescluster.platform.example.org/${controlPlaneName('my-cluster', 'default', clusterID)}`,
    ]);
  });
});
