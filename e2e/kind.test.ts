// The kind variant (`make e2e-kind`) cannot run here (no Docker); what it shares with the local run is checked here:
// its suite only uses what both providers offer, and the kind kubeconfigs are read into the same shared environment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { dump } from 'js-yaml';
import { describeKindCluster } from './kind/clusters.ts';
import { kindManifests } from './harness/connector.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { kindImage } from './harness/provider.ts';
import { sharedCluster } from './harness/shared.ts';

const kindSuite = JSON.parse(readFileSync(join(repoRoot, 'e2e', 'kind', 'suite.json'), 'utf8')) as string[];

describe('kind variant', () => {
  it('runs only files that drive the connector through the clusters, never through in-process handles', () => {
    expect(kindSuite.length).toBeGreaterThan(0);
    for (const name of kindSuite) {
      const source = readFileSync(join(repoRoot, 'e2e', `${name}.test.ts`), 'utf8');
      expect({
        name,
        inProcess: source.match(
          /startTest(Operator|Proxy)|spawnOperatorProcess|APIServer\(|connection\.(proxy|operator)\b/g,
        ),
      }).toEqual({
        name,
        inProcess: null,
      });
    }
  });

  it('installs the operator from the e2e image: every image of config/default is rewritten', async () => {
    const rendered = await kubectlOk(sharedCluster('app'), [
      'kustomize',
      join(repoRoot, 'config', 'default'),
    ]);
    const images = (text: string) => text.match(/(image|value): \S*ctp-connector:\S+/g) ?? [];
    expect(images(rendered).length).toBeGreaterThanOrEqual(2); // the operator image and PROXY_IMAGE
    expect(images(kindManifests(rendered))).toEqual(
      images(rendered).map((i) => i.replace(/ .*/, ` ${kindImage}`)),
    );
  });

  it('records a kind cluster like a local one: server, serving CA and the internal kubeconfig for the other cluster', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const kubeconfig = (server: string) =>
      dump({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'kind-ctp-e2e-control-plane',
            cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
          },
        ],
      });
    const described = describeKindCluster(
      'control-plane',
      '/tmp/x',
      kubeconfig('https://127.0.0.1:41234'),
      kubeconfig('https://ctp-e2e-control-plane-control-plane:6443'),
    );
    expect(described).toMatchObject({
      name: 'control-plane',
      server: 'https://127.0.0.1:41234',
      servingCAPem: ca,
    });
    expect(described.internalKubeconfig).toContain('https://ctp-e2e-control-plane-control-plane:6443');
    expect(() => describeKindCluster('app', '/tmp/x', dump({ clusters: [] }), '')).toThrow('has no cluster');
  });
});
