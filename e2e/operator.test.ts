// The operator against the real app and control-plane clusters: objects, scoped credentials, discovery that
// follows XRDs, precise conditions for bad input, and finalization.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubeconfigTextClient } from '../operator/src/kube/client.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import {
  credentialSecret,
  startTestProxy,
  connectionManifest,
  operatorNamespace,
  prepareConnector,
  startTestOperator,
} from './harness/connector.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';
import { scrapeMetrics } from './harness/metrics.ts';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const ns = operatorNamespace;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}
interface ConnectionObject {
  metadata: { uid: string; finalizers?: string[] };
  status?: {
    conditions?: Condition[];
    clusterID?: string;
    apis?: { apiService: string; available: boolean }[];
    credentials?: { expiresAt?: string };
  };
}

async function connection(name: string): Promise<ConnectionObject | undefined> {
  const result = await kubectl(app, ['get', 'ctpc', name, '-o', 'json']);
  return result.code === 0 ? (JSON.parse(result.stdout) as ConnectionObject) : undefined;
}

async function condition(
  name: string,
  type: string,
  match: (c: Condition) => boolean,
  timeoutMs = 60_000,
): Promise<Condition> {
  return waitFor(
    async () => {
      const c = (await connection(name))?.status?.conditions?.find((x) => x.type === type);
      return c && match(c) ? c : undefined;
    },
    { timeoutMs, what: `condition ${type} of ${name}` },
  );
}

/** A connection to the control plane through the kubeconfig Secret `secret` of the operator namespace. */
function connectWith(name: string, secret: string, targetNamespace: string): Promise<string> {
  return apply(
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: ns, name: secret } },
      targetNamespace,
    }),
  );
}

/** A Secret in the operator namespace with one literal key. */
function literalSecret(name: string, key: string, value: string): Promise<string> {
  return kubectlOk(app, ['-n', ns, 'create', 'secret', 'generic', name, `--from-literal=${key}=${value}`]);
}

function apply(manifest: string): Promise<string> {
  return kubectlOk(app, ['apply', '-f', '-'], manifest);
}

/** Another namespaced-XR API, made from the Database fixtures: group <name>.example.org, kind <Name>. */
function renamedDatabase(name: string, file: string): string {
  const kind = name[0]!.toUpperCase() + name.slice(1);
  return readFileSync(join(repoRoot, 'e2e/fixtures/control-plane', file), 'utf8')
    .replaceAll('data.example.org', `${name}.example.org`)
    .replaceAll('Database', kind)
    .replaceAll('database', name)
    .replace('shortNames: [db]', `shortNames: [${name}db]`);
}

/**
 * A renamed copy of the Database XRD in the control plane, and its XR CRD: Crossplane generates it where it runs,
 * the hand-written copy stands in where not.
 */
async function applyXRD(name: string): Promise<void> {
  const crd = `crd/${name}s.${name}.example.org`;
  if (!cp.crossplane) {
    await kubectlOk(cp, ['apply', '-f', '-'], renamedDatabase(name, '21-database-xr-crd.yaml'));
    await kubectlOk(cp, ['wait', '--for=condition=Established', crd]);
  }
  await kubectlOk(cp, ['apply', '-f', '-'], renamedDatabase(name, '20-database-xrd.yaml'));
  await waitFor(async () => ((await kubectl(cp, ['get', crd])).code === 0 ? true : undefined), {
    timeoutMs: 30_000,
    what: `the ${crd} of the new XRD`,
  });
  await kubectlOk(cp, ['wait', '--for=condition=Established', crd]);
}

/** Removes what applyXRD made: Crossplane deletes the CRDs of a deleted XRD itself. */
async function deleteXRD(name: string): Promise<void> {
  await kubectlOk(cp, ['delete', 'compositeresourcedefinition', `${name}s.${name}.example.org`]);
  await kubectlOk(cp, ['delete', 'crd', `${name}s.${name}.example.org`, '--ignore-not-found']);
}

async function apiServiceExists(name: string): Promise<boolean> {
  return (await kubectl(app, ['get', 'apiservice', name])).code === 0;
}

describe('operator', () => {
  let operator: RunningOperator;
  let proxy: RunningProxy | undefined;
  let proxyPort: number;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    [proxyPort] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, proxyPort, undefined, {
      metrics: '127.0.0.1:0',
      health: '127.0.0.1:0',
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await operator?.stop();
  });

  it('creates the token Secret, catalog, proxy workload and one APIService per claim group/version', async () => {
    await connectWith('main', 'control-plane', 'team-op');
    const discovered = await condition('main', 'APIsDiscovered', (c) => c.status === 'True');
    expect(discovered.message).toBe('data.example.org/v1beta1, platform.example.org/v1alpha1');
    // No proxy runs yet: the APIServices exist but are not Available, and Ready says exactly that.
    const ready = await condition('main', 'Ready', (c) => c.reason === 'APIServiceUnavailable');
    expect(ready.status).toBe('False');

    const conn = (await connection('main'))!;
    expect(conn.metadata.finalizers).toContain('connect.ctp.dev/finalizer');
    const uid = conn.metadata.uid;
    const kubeSystem = JSON.parse(await kubectlOk(app, ['get', 'ns', 'kube-system', '-o', 'json'])) as {
      metadata: { uid: string };
    };
    expect(conn.status?.clusterID).toBe(kubeSystem.metadata.uid);

    for (const [kind, name] of [
      ['secret', 'ctpc-main-token'],
      ['secret', 'ctpc-main-serving'],
      ['configmap', 'ctpc-main-catalog'],
      ['deployment', 'ctpc-main-proxy'],
      ['service', 'ctpc-main-proxy'],
      ['serviceaccount', 'ctpc-main-proxy'],
      ['poddisruptionbudget', 'ctpc-main-proxy'],
    ] as const) {
      const obj = JSON.parse(await kubectlOk(app, ['-n', ns, 'get', kind, name, '-o', 'json'])) as {
        metadata: { ownerReferences: { uid: string; controller: boolean }[] };
      };
      expect(obj.metadata.ownerReferences).toEqual([expect.objectContaining({ uid, controller: true })]);
    }
    const deployment = JSON.parse(
      await kubectlOk(app, ['-n', ns, 'get', 'deployment', 'ctpc-main-proxy', '-o', 'json']),
    ) as {
      spec: {
        replicas: number;
        template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
      };
    };
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod).toMatchObject({
      serviceAccountName: 'ctpc-main-proxy',
      securityContext: { runAsNonRoot: true },
    });
    expect(pod.affinity).toHaveProperty('podAntiAffinity');
    expect(pod.containers[0]).toMatchObject({
      args: [
        'proxy',
        '--connection=main',
        `--namespace=${ns}`,
        '--port=8443',
        '--metrics-bind-address=:8080',
      ],
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      readinessProbe: { httpGet: { path: '/readyz' } },
      livenessProbe: { httpGet: { path: '/livez' } },
    });
    const apiServices = JSON.parse(
      await kubectlOk(app, ['get', 'apiservices', '-l', 'connect.ctp.dev/connection=main', '-o', 'json']),
    ) as {
      items: {
        metadata: { name: string; ownerReferences: { uid: string }[] };
        spec: { service: { name: string; port: number } };
      }[];
    };
    expect(apiServices.items.map((a) => a.metadata.name).sort()).toEqual([
      'v1alpha1.platform.example.org',
      'v1beta1.data.example.org',
    ]);
    expect(
      apiServices.items.every(
        (a) => a.metadata.ownerReferences[0]?.uid === uid && a.spec.service.name === 'ctpc-main-proxy',
      ),
    ).toBe(true);
    const svc = JSON.parse(
      await kubectlOk(app, ['-n', ns, 'get', 'service', 'ctpc-main-proxy', '-o', 'json']),
    ) as { spec: { type: string; externalName: string } };
    expect(svc.spec).toMatchObject({ type: 'ExternalName', externalName: 'localhost' });
  });

  it('mints a scoped token that works in targetNamespace only', async () => {
    const secret = JSON.parse(
      await kubectlOk(app, ['-n', ns, 'get', 'secret', 'ctpc-main-token', '-o', 'json']),
    ) as {
      data: Record<string, string>;
      metadata: { annotations: Record<string, string> };
    };
    const kubeconfig = Buffer.from(secret.data.kubeconfig!, 'base64').toString('utf8');
    const scoped = kubeconfigTextClient(kubeconfig);
    try {
      const inTarget = await scoped.request<{ items: unknown[] }>(
        'GET',
        '/apis/platform.example.org/v1alpha1/namespaces/team-op/kubernetesclusters',
      );
      expect(inTarget.items).toEqual([]);
      await expect(
        scoped.request('GET', '/apis/platform.example.org/v1alpha1/namespaces/default/kubernetesclusters'),
      ).rejects.toThrow(/403 Forbidden/);
      await expect(scoped.request('GET', '/api/v1/namespaces/kube-system/secrets')).rejects.toThrow(
        /403 Forbidden/,
      );
    } finally {
      await scoped.close();
    }
    const issued = new Date(secret.metadata.annotations['connect.ctp.dev/token-issued-at']!);
    const expires = new Date(secret.metadata.annotations['connect.ctp.dev/token-expires-at']!);
    expect((expires.getTime() - issued.getTime()) / 1000).toBeGreaterThanOrEqual(3500);
    expect((await connection('main'))?.status?.credentials?.expiresAt).toBeDefined();
  });

  it('becomes Ready once the proxy serves discovery, and kubectl sees the claim kinds', async () => {
    // In the local environment the proxy runs as a process; the aggregator reaches it through the
    // ExternalName Service at the operator's --local-proxy-port.
    proxy = await startTestProxy(app, 'main', proxyPort);
    await kubectlOk(app, ['wait', '--for=condition=Ready', '--timeout=90s', 'ctpc/main']);
    const ready = await condition('main', 'Ready', (c) => c.status === 'True');
    expect(ready.reason).toBe('Connected');
    const conn = (await connection('main')) as ConnectionObject & { status: { servedAPIs: number } };
    expect(conn.status.servedAPIs).toBe(2);
    expect(conn.status.apis?.every((a) => a.available)).toBe(true);
    const resources = await waitFor(
      async () => {
        const out = await kubectlOk(app, ['api-resources', '--api-group=platform.example.org', '-o', 'name']);
        return out.includes('kubernetesclusters') ? out : undefined;
      },
      { timeoutMs: 90_000, what: 'kubectl api-resources to list the claim' },
    );
    expect(resources.trim()).toBe('kubernetesclusters.platform.example.org');
    const events = await kubectlOk(app, [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=main,reason=Connected',
      '-o',
      'jsonpath={.items[*].type}',
    ]);
    expect(events.split(' ')).toContain('Normal');
    const table = await kubectlOk(app, ['get', 'ctpc', 'main']);
    expect(table).toMatch(/main\s+True\s+Connected\s+https:\/\/127\.0\.0\.1:\d+\s+team-op\s+2\s+/);
  });

  it('follows XRDs in the control plane: a new one adds its APIService, removing it removes the APIService', async () => {
    const started = Date.now();
    await applyXRD('cache');
    await waitFor(
      async () =>
        (await kubectl(app, ['get', 'apiservice', 'v1beta1.cache.example.org'])).code === 0
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        what: 'the APIService of the new XRD',
      },
    );
    const added = Date.now() - started;
    await deleteXRD('cache');
    await waitFor(
      async () =>
        (await kubectl(app, ['get', 'apiservice', 'v1beta1.cache.example.org'])).code !== 0
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        what: 'the APIService to go',
      },
    );
    expect(added).toBeLessThan(15_000);
  });

  it('adds and removes APIServices when include/exclude change', async () => {
    await kubectlOk(app, [
      'patch',
      'ctpc',
      'main',
      '--type=merge',
      '-p',
      '{"spec":{"apis":{"exclude":[{"group":"data.example.org"}]}}}',
    ]);
    await waitFor(async () => (!(await apiServiceExists('v1beta1.data.example.org')) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the excluded APIService to go',
    });
    expect(await apiServiceExists('v1alpha1.platform.example.org')).toBe(true);
    await kubectlOk(app, [
      'patch',
      'ctpc',
      'main',
      '--type=merge',
      '-p',
      '{"spec":{"apis":{"exclude":null}}}',
    ]);
    await waitFor(async () => ((await apiServiceExists('v1beta1.data.example.org')) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the APIService to come back',
    });
    await condition('main', 'Ready', (c) => c.status === 'True');
  });

  it('reports a group/version that a CRD of this cluster serves, and never overwrites it', async () => {
    await kubectlOk(app, ['apply', '-f', '-'], renamedDatabase('dup', '21-database-xr-crd.yaml'));
    await kubectlOk(app, ['wait', '--for=condition=Established', 'crd/dups.dup.example.org']);
    await applyXRD('dup');
    const conflict = await condition('main', 'Ready', (c) => c.reason === 'APIServiceConflict');
    expect(conflict.message).toBe(
      'APIService v1beta1.dup.example.org is owned by a CustomResourceDefinition or built-in API of this cluster',
    );
    const local = JSON.parse(
      await kubectlOk(app, ['get', 'apiservice', 'v1beta1.dup.example.org', '-o', 'json']),
    ) as {
      metadata: { labels: Record<string, string> };
      spec: { service?: unknown };
    };
    expect(local.metadata.labels['kube-aggregator.kubernetes.io/automanaged']).toBe('true');
    expect(local.metadata.labels['connect.ctp.dev/connection']).toBeUndefined();
    expect(local.spec.service).toBeUndefined();
    await deleteXRD('dup');
    await kubectlOk(app, ['delete', 'crd', 'dups.dup.example.org']);
    await condition('main', 'Ready', (c) => c.status === 'True');
  });

  it('reports bad input precisely and keeps running', async () => {
    await connectWith('missing-secret', 'nope', 'team-x');
    const missing = await condition('missing-secret', 'Ready', (c) => c.reason === 'CredentialsNotFound');
    expect(missing.message).toBe('Secret ctp-system/nope not found');

    await literalSecret('garbage', 'value', 'this is: [not yaml');
    await connectWith('garbage', 'garbage', 'team-x');
    const stalled = await condition('garbage', 'Stalled', (c) => c.status === 'True');
    expect(stalled.reason).toBe('InvalidKubeconfig');

    await literalSecret('unreachable-token', 'token', 'abc');
    const [closedPort] = (await freePorts(1)) as [number];
    await apply(
      connectionManifest('unreachable', {
        controlPlane: {
          server: `https://127.0.0.1:${closedPort}`,
          tokenSecretRef: { namespace: ns, name: 'unreachable-token' },
        },
        targetNamespace: 'team-x',
      }),
    );
    const unreachable = await condition(
      'unreachable',
      'Ready',
      (c) => c.reason === 'ControlPlaneUnreachable',
    );
    expect(unreachable.message).toContain('ECONNREFUSED');
    expect(
      (await connection('unreachable'))?.status?.conditions?.find((c) => c.type === 'Stalled')?.status,
    ).toBe('False');

    // Same control plane, other connection: the group/versions are taken by "main".
    await connectWith('conflicting', 'control-plane', 'team-y');
    const conflict = await condition('conflicting', 'Ready', (c) => c.reason === 'APIServiceConflict');
    expect(conflict.message).toContain(
      'APIService v1alpha1.platform.example.org is owned by ControlPlaneConnection main',
    );
    // And "main" still owns them.
    const owner = await kubectlOk(app, [
      'get',
      'apiservice',
      'v1alpha1.platform.example.org',
      '-o',
      'jsonpath={.metadata.labels.connect\\.ctp\\.dev/connection}',
    ]);
    expect(owner).toBe('main');

    for (const name of ['missing-secret', 'garbage', 'unreachable', 'conflicting']) {
      await kubectlOk(app, ['delete', 'ctpc', name, '--wait=false']);
    }
  });

  it('refuses a wrong CA and a credential without rights, with precise reasons', async () => {
    const cpConfig = load(readFileSync(cp.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: Record<string, string> }[];
      users: { user: Record<string, string> }[];
    };
    const wrongCA = structuredClone(cpConfig);
    wrongCA.clusters[0]!.cluster['certificate-authority-data'] = Buffer.from(app.servingCAPem).toString(
      'base64',
    );
    await credentialSecret(app, 'wrong-ca', JSON.stringify(wrongCA));
    await connectWith('wrong-ca', 'wrong-ca', 'team-x');
    const badCA = await condition('wrong-ca', 'Stalled', (c) => c.status === 'True');
    expect(badCA.reason).toBe('ControlPlaneCertificateInvalid');
    expect(badCA.message).toContain('does not verify against the configured CA');

    // A real token of a ServiceAccount that may do nothing in the control plane.
    await kubectlOk(cp, ['-n', 'default', 'create', 'serviceaccount', 'powerless']);
    const token = (await kubectlOk(cp, ['-n', 'default', 'create', 'token', 'powerless'])).trim();
    const powerless = structuredClone(cpConfig);
    powerless.users[0]!.user = { token };
    await credentialSecret(app, 'powerless', JSON.stringify(powerless));
    await connectWith('powerless', 'powerless', 'team-x');
    const forbidden = await condition('powerless', 'Stalled', (c) => c.status === 'True');
    expect(forbidden.reason).toBe('Forbidden');
    expect(forbidden.message).toContain('cannot read or create namespace team-x in the control plane');
    expect(forbidden.message).toContain('system:serviceaccount:default:powerless');
    for (const name of ['wrong-ca', 'powerless'])
      await kubectlOk(app, ['delete', 'ctpc', name, '--timeout=60s']);
  });

  it('serves health and controller-runtime style metrics', async () => {
    const health = await fetch(`http://${operator.addresses.health}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`http://${operator.addresses.health}/readyz`)).status).toBe(200);
    const metrics = await scrapeMetrics(operator.addresses.metrics);
    expect(metrics).toMatch(
      /controller_runtime_reconcile_total\{controller="controlplaneconnection",result="(success|requeue_after)"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /controller_runtime_reconcile_errors_total\{controller="controlplaneconnection"\} [1-9]/,
    );
    expect(metrics).toContain('controller_runtime_reconcile_time_seconds_bucket');
    expect(metrics).toMatch(/workqueue_depth\{name="controlplaneconnection"\} \d/);
    // Secret material never shows up in metrics labels.
    expect(metrics).not.toContain('BEGIN CERTIFICATE');
  });

  it('finalizes: APIServices and proxy objects go, the finalizer is released', async () => {
    await kubectlOk(app, [
      'patch',
      'ctpc',
      'main',
      '--type=merge',
      '-p',
      '{"spec":{"deletionPolicy":"Detach"}}',
    ]);
    await kubectlOk(app, ['delete', 'ctpc', 'main', '--timeout=60s']);
    expect(await connection('main')).toBeUndefined();
    expect(
      (
        await kubectlOk(app, ['get', 'apiservices', '-l', 'connect.ctp.dev/connection=main', '-o', 'name'])
      ).trim(),
    ).toBe('');
    expect((await kubectl(app, ['-n', ns, 'get', 'deployment', 'ctpc-main-proxy'])).code).not.toBe(0);
    expect((await kubectl(app, ['-n', ns, 'get', 'secret', 'ctpc-main-token'])).code).not.toBe(0);
  });
});
