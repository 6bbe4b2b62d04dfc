// The Helm chart against the local app cluster: lint, values validation, server dry-run of what it renders, and a
// real install, upgrade and uninstall. The release has its own name and namespace, so its cluster-scoped objects
// (ClusterRoles, bindings, the connection) never collide with config/default, which other tests install; the CRD is
// shared and the chart never deletes it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { crdFile } from '../operator/src/api/crd.ts';
import { installConnectorCRD } from './harness/connector.ts';
import { chartDir, helm, helmOk } from './harness/helm.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { manifestKey, parseManifests, type Manifest } from './harness/manifests.ts';
import { installMonitoringCRDs } from './harness/monitoring.ts';
import { repoRoot } from './harness/paths.ts';
import { sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const release = 'ctp-helm-test';
const ns = 'ctp-helm-test';
// The release name does not contain the chart name, so every object is "<release>-ctp-connector-…".
const fullname = `${release}-ctp-connector`;
const valuesFiles = readdirSync(join(chartDir, 'ci')).map((f) => join(chartDir, 'ci', f));

function set(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

async function exists(args: string[]): Promise<boolean> {
  return (await kubectl(app, ['get', ...args, '-o', 'name'])).code === 0;
}

/** Whether the object of a rendered manifest exists in the cluster. */
function manifestExists(m: Manifest): Promise<boolean> {
  const group = m.apiVersion.includes('/') ? `.${m.apiVersion.split('/')[0]}` : '';
  const where = m.metadata.namespace ? ['--namespace', m.metadata.namespace] : [];
  return exists([...where, `${m.kind}${group}`, m.metadata.name]);
}

describe('Helm chart', () => {
  beforeAll(async () => {
    await installConnectorCRD(app);
    await installMonitoringCRDs(app);
    // The namespace enforces the restricted Pod Security Standard, as NOTES.txt recommends: the operator's pods are
    // only created if their spec complies.
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      }),
    );
  });

  afterAll(async () => {
    await helm(app, ['uninstall', release, '--namespace', ns, '--wait']);
    await kubectl(app, ['delete', 'ctpc', release, '--ignore-not-found', '--wait=false']);
    await kubectl(app, ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  });

  it('lints clean with --strict, with its defaults and with each ci/ values file', async () => {
    for (const values of [[], ...valuesFiles.map((f) => ['--values', f])]) {
      const out = await helmOk(app, ['lint', '--strict', chartDir, ...values]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('ships the generated CRD', () => {
    expect(readFileSync(join(chartDir, 'crds', 'connect.ctp.dev_controlplaneconnections.yaml'), 'utf8')).toBe(
      readFileSync(join(repoRoot, crdFile), 'utf8'),
    );
  });

  const connected = { 'connection.targetNamespace': 'team-1', 'controlPlane.kubeconfig': 'kubeconfig' };
  it.each([
    [
      { ...connected, 'connection.targetNamespace': 'Team_1' },
      "at '/connection/targetNamespace': 'Team_1' does not match pattern",
    ],
    [{ 'operator.replicas': '0' }, "at '/operator/replicas': minimum: got 0, want 1"],
    [
      { 'connection.deletionPolicy': 'Orphan' },
      "at '/connection/deletionPolicy': value must be one of 'Migrate', 'Detach', 'Delete'",
    ],
    [
      { 'connection.targetNamspace': 'team-1' },
      "at '/connection': additional properties 'targetNamspace' not allowed",
    ],
    [
      { ...connected, 'connection.credentials.tokenTTLSeconds': '60' },
      "at '/connection/credentials/tokenTTLSeconds': minimum: got 60, want 600",
    ],
    [
      { 'controlPlane.server': 'http://cp:6443' },
      "at '/controlPlane/server': 'http://cp:6443' does not match pattern",
    ],
    [
      { 'image.pullPolicy': 'Sometimes' },
      "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
    ],
    [
      { 'connection.targetNamespace': 'team-1' },
      'connection.targetNamespace is set but no control-plane credential',
    ],
    [
      { 'controlPlane.kubeconfig': 'kubeconfig' },
      'controlPlane.kubeconfig is set but connection.targetNamespace is not',
    ],
    [{ ...connected, 'controlPlane.token': 't' }, 'controlPlane.kubeconfig goes alone'],
    [
      { 'connection.targetNamespace': 't', 'controlPlane.token': 't' },
      'controlPlane.token needs controlPlane.server',
    ],
    [
      { 'connection.targetNamespace': 't', 'controlPlane.server': 'https://cp:6443' },
      'controlPlane.server needs controlPlane.token',
    ],
    [{ 'operator.leaderElect': 'false' }, 'operator.leaderElect=false needs operator.replicas=1'],
  ])('rejects %j: %s', async (values, message) => {
    const result = await helm(app, ['template', release, chartDir, '--namespace', ns, ...set(values)]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it("validates the connection's fields with the CRD's own rules (patterns, enums, bounds)", () => {
    type Schema = { properties: Record<string, Schema>; pattern?: string; maxLength?: number };
    const values = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
    const crd = load(readFileSync(join(repoRoot, crdFile), 'utf8')) as {
      spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
    };
    const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec!.properties;
    const connection = values.properties.connection!.properties;
    // Closed objects (unknown keys rejected) but otherwise the CRD's subschemas; descriptions may differ.
    const rules = (s: unknown): unknown =>
      JSON.parse(JSON.stringify(s), (k, v: unknown) =>
        (k === 'additionalProperties' && v === false) || k === 'description' ? undefined : v,
      );
    for (const field of ['credentials', 'apis', 'proxy', 'deletionPolicy']) {
      expect([field, rules(connection[field])]).toEqual([field, rules(spec[field])]);
    }
    // Empty means "not set" for these two.
    for (const field of ['targetNamespace', 'clusterID']) {
      expect(connection[field]?.pattern).toBe(`^$|${spec[field]?.pattern}`);
      expect(connection[field]?.maxLength).toBe(spec[field]?.maxLength);
    }
  });

  it('renders manifests the API server accepts (server dry-run), with its defaults and each ci/ values file', async () => {
    for (const values of [[], ...valuesFiles.map((f) => ['--values', f])]) {
      const rendered = await helmOk(app, ['template', release, chartDir, '--namespace', ns, ...values]);
      const out = await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], rendered);
      expect(out.trim().split('\n')).toHaveLength(parseManifests(rendered).length);
    }
  });

  it('installs the operator, its RBAC, the credential Secret, the connection and the monitoring objects', async () => {
    const kubeconfig = readFileSync(join(chartDir, 'ci', 'kubeconfig-values.yaml'), 'utf8');
    const install = await helmOk(app, [
      'install',
      release,
      chartDir,
      '--namespace',
      ns,
      '--values',
      join(chartDir, 'ci', 'kubeconfig-values.yaml'),
      '--set',
      `connection.name=${release}`,
    ]);
    expect(install).toContain('STATUS: deployed');
    // NOTES.txt says what to check, with this release's names, and never the credential.
    expect(install).toContain(`kubectl -n ${ns} rollout status deployment/${fullname}-operator`);
    expect(install).toContain(
      `kubectl wait --for=condition=Ready controlplaneconnection/${release} --timeout=5m`,
    );
    expect(install).toContain(`kubectl delete controlplaneconnection ${release}`);
    expect(install).not.toContain('not-a-real-token');

    const manifest = parseManifests(await helmOk(app, ['get', 'manifest', release, '--namespace', ns]));
    expect(manifest.map(manifestKey).sort()).toEqual(
      [
        `ClusterRole ${fullname}-operator`,
        `ClusterRole ${fullname}-proxy`,
        `ClusterRole ${fullname}-proxy-secrets`,
        `ClusterRoleBinding ${fullname}-operator`,
        `ConfigMap ${ns}/${fullname}-dashboard`,
        `ControlPlaneConnection ${release}`,
        `Deployment ${ns}/${fullname}-operator`,
        `PodMonitor ${ns}/${fullname}-proxy`,
        `PrometheusRule ${ns}/${fullname}`,
        `Role ${ns}/${fullname}-operator`,
        `ValidatingAdmissionPolicy ${fullname}-connection-secrets`,
        `ValidatingAdmissionPolicy ${fullname}-operator-owned`,
        `ValidatingAdmissionPolicyBinding ${fullname}-connection-secrets`,
        `ValidatingAdmissionPolicyBinding ${fullname}-operator-owned`,
        `RoleBinding ${ns}/${fullname}-operator`,
        `Secret ${ns}/${fullname}-control-plane`,
        `Service ${ns}/${fullname}-operator-metrics`,
        `ServiceAccount ${ns}/${fullname}-operator`,
        `ServiceMonitor ${ns}/${fullname}-operator`,
      ].sort(),
    );
    for (const m of manifest)
      expect([manifestKey(m), await manifestExists(m)]).toEqual([manifestKey(m), true]);

    // The connection names the Secret the chart made, which holds the kubeconfig under "value".
    const connection = JSON.parse(await kubectlOk(app, ['get', 'ctpc', release, '-o', 'json'])) as {
      spec: { controlPlane: unknown; targetNamespace: string; deletionPolicy: string };
    };
    expect(connection.spec.controlPlane).toEqual({
      kubeconfigSecretRef: { namespace: ns, name: `${fullname}-control-plane`, key: 'value' },
    });
    expect(connection.spec).toMatchObject({ targetNamespace: 'team-1', deletionPolicy: 'Migrate' });
    const secret = await kubectlOk(app, [
      '-n',
      ns,
      'get',
      'secret',
      `${fullname}-control-plane`,
      '-o',
      'jsonpath={.data.value}',
    ]);
    const values = load(kubeconfig) as { controlPlane: { kubeconfig: string } };
    expect(Buffer.from(secret, 'base64').toString('utf8')).toBe(values.controlPlane.kubeconfig);

    // The operator runs with the release's proxy ClusterRole, which its own ClusterRole may bind.
    const deployment = JSON.parse(
      await kubectlOk(app, ['-n', ns, 'get', 'deployment', `${fullname}-operator`, '-o', 'json']),
    ) as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(deployment.spec.template.spec.containers[0]?.args).toContain(
      `--proxy-cluster-role=${fullname}-proxy`,
    );
    const bind = await kubectl(app, [
      'auth',
      'can-i',
      'bind',
      `clusterroles/${fullname}-proxy`,
      `--as=system:serviceaccount:${ns}:${fullname}-operator`,
    ]);
    expect(bind.stdout.trim()).toBe('yes');

    // No kubelet runs pods, but the ReplicaSet controller creates them: admission (restricted Pod Security,
    // ServiceAccount) accepted the pod spec.
    await waitFor(
      async () => {
        const pods = await kubectlOk(app, [
          '-n',
          ns,
          'get',
          'pods',
          '-l',
          `app.kubernetes.io/instance=${release}`,
          '-o',
          'name',
        ]);
        return pods.trim().split('\n').filter(Boolean).length === deployment.spec.replicas ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the operator pods to be created' },
    );
  });

  it('upgrades in place', async () => {
    await helmOk(app, [
      'upgrade',
      release,
      chartDir,
      '--namespace',
      ns,
      '--reuse-values',
      ...set({ 'operator.replicas': '1' }),
    ]);
    const replicas = await kubectlOk(app, [
      '-n',
      ns,
      'get',
      'deployment',
      `${fullname}-operator`,
      '-o',
      'jsonpath={.spec.replicas}',
    ]);
    expect(replicas).toBe('1');
  });

  it('uninstalls everything but the connection and its credential (kept for the finalizer) and the CRD', async () => {
    const before = parseManifests(await helmOk(app, ['get', 'manifest', release, '--namespace', ns]));
    await helmOk(app, ['uninstall', release, '--namespace', ns, '--wait']);
    const kept = [`ControlPlaneConnection ${release}`, `Secret ${ns}/${fullname}-control-plane`];
    for (const m of before) {
      expect([manifestKey(m), await manifestExists(m)]).toEqual([
        manifestKey(m),
        kept.includes(manifestKey(m)),
      ]);
    }
    expect(await exists(['crd', 'controlplaneconnections.connect.ctp.dev'])).toBe(true);
    expect((await helm(app, ['status', release, '--namespace', ns])).code).not.toBe(0);
  });
});
