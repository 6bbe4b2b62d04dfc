// kustomize: config/default renders with `kubectl kustomize` and applies cleanly, an image change reaches the
// proxies, and the Helm chart renders the same RBAC, operator workload and monitoring objects, so the two install
// paths cannot drift apart.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { dump, load } from 'js-yaml';
import { operatorNamespace, prepareConnector } from './harness/connector.ts';
import { chartDir, helmOk } from './harness/helm.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { comparable, manifestKey, parseManifests, type Manifest } from './harness/manifests.ts';
import { repoRoot } from './harness/paths.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');

const workloadKinds = [
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Deployment',
];
const monitoringKinds = ['Service', 'ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap'];

async function kustomize(dir: string): Promise<Manifest[]> {
  return parseManifests(await kubectlOk(app, ['kustomize', dir]));
}

/** The chart as `helm install ctp-connector charts/ctp-connector -n ctp-system` renders it. */
async function chart(...set: string[]): Promise<Manifest[]> {
  const args = ['template', 'ctp-connector', chartDir, '--namespace', operatorNamespace];
  return parseManifests(await helmOk(app, [...args, ...set.flatMap((s) => ['--set', s])]));
}

function container(manifests: Manifest[]) {
  const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as {
    spec: {
      template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } };
    };
  };
  return deployment.spec.template.spec.containers[0]!;
}

describe('config/default (kustomize)', () => {
  beforeAll(() => prepareConnector(app, controlPlaneCredential(cp)));

  it('renders the CRD, the namespace, least-privilege RBAC and the operator Deployment', async () => {
    const keys = (await kustomize(join(repoRoot, 'config', 'default'))).map(manifestKey).sort();
    expect(keys).toEqual([
      'ClusterRole ctp-connector-operator',
      'ClusterRole ctp-connector-proxy',
      'ClusterRole ctp-connector-proxy-secrets',
      'ClusterRoleBinding ctp-connector-operator',
      'CustomResourceDefinition controlplaneconnections.connect.ctp.dev',
      'Deployment ctp-system/ctp-connector-operator',
      'Namespace ctp-system',
      'Role ctp-system/ctp-connector-operator',
      'RoleBinding ctp-system/ctp-connector-operator',
      'ServiceAccount ctp-system/ctp-connector-operator',
      'ValidatingAdmissionPolicy ctp-connector-connection-secrets',
      'ValidatingAdmissionPolicy ctp-connector-operator-owned',
      'ValidatingAdmissionPolicyBinding ctp-connector-connection-secrets',
      'ValidatingAdmissionPolicyBinding ctp-connector-operator-owned',
    ]);
  });

  it('applies cleanly: a server dry-run passes and a re-apply changes nothing', async () => {
    const dir = join(repoRoot, 'config', 'default');
    const dryRun = await kubectlOk(app, ['apply', '--server-side', '--dry-run=server', '-k', dir]);
    expect(dryRun).toContain('deployment.apps/ctp-connector-operator serverside-applied (server dry run)');
    // kubectl diff exits 0 only when applying would change nothing in the cluster.
    const diff = await kubectl(app, ['diff', '--server-side', '-k', dir]);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toBe('');
    expect(diff.code).toBe(0);
  });

  it('hands a changed image to the proxies (PROXY_IMAGE follows the operator image)', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'ctp-kustomize-'));
    try {
      cpSync(join(repoRoot, 'config'), join(copy, 'config'), { recursive: true });
      cpSync(join(repoRoot, 'crds'), join(copy, 'crds'), { recursive: true });
      const file = join(copy, 'config', 'default', 'kustomization.yaml');
      const kustomization = load(readFileSync(file, 'utf8')) as { images: Record<string, string>[] };
      kustomization.images = [
        { name: 'ghcr.io/ctp-connector/ctp-connector', newName: 'registry.example.com/ctp', newTag: 'v9' },
      ];
      writeFileSync(file, dump(kustomization));
      const operator = container(await kustomize(join(copy, 'config', 'default')));
      expect(operator.image).toBe('registry.example.com/ctp:v9');
      expect(operator.env.find((e) => e.name === 'PROXY_IMAGE')?.value).toBe('registry.example.com/ctp:v9');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('Helm chart and kustomize agree', () => {
  it('on RBAC, ServiceAccount and the operator Deployment (chart defaults, release ctp-connector in ctp-system)', async () => {
    const fromChart = comparable(await chart(), workloadKinds);
    const fromKustomize = comparable(await kustomize(join(repoRoot, 'config', 'default')), workloadKinds);
    expect(Object.keys(fromChart)).toEqual(Object.keys(fromKustomize));
    expect(fromChart).toEqual(fromKustomize);
  });

  it('on the image: the chart default is the kustomize image, tagged with the package version', async () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
    const chartYaml = load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as {
      version: string;
      appVersion: string;
    };
    expect([chartYaml.version, chartYaml.appVersion]).toEqual([version, version]);
    expect(container(await chart()).image).toBe(`ghcr.io/ctp-connector/ctp-connector:${version}`);
  });

  it('on the monitoring objects: metrics Service, ServiceMonitor, PodMonitor, alerts and dashboard', async () => {
    const fromChart = comparable(
      await chart(
        'metrics.serviceMonitor.enabled=true',
        'metrics.podMonitor.enabled=true',
        'metrics.prometheusRule.enabled=true',
        'metrics.dashboard.enabled=true',
      ),
      monitoringKinds,
    );
    const fromKustomize = comparable(
      await kustomize(join(repoRoot, 'config', 'observability')),
      monitoringKinds,
    );
    expect(Object.keys(fromChart)).toEqual([
      'ConfigMap ctp-system/ctp-connector-dashboard',
      'PodMonitor ctp-system/ctp-connector-proxy',
      'PrometheusRule ctp-system/ctp-connector',
      'Service ctp-system/ctp-connector-operator-metrics',
      'ServiceMonitor ctp-system/ctp-connector-operator',
    ]);
    expect(fromChart).toEqual(fromKustomize);
  });

  it('and the chart renders none of them by default', async () => {
    expect((await chart()).filter((m) => monitoringKinds.includes(m.kind))).toEqual([]);
  });
});
