import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import type { Catalog } from '../catalog/catalog.ts';
import { servedAPIs, type CRD, type XRD } from '../connection/discovery.ts';
import { definitionName, openAPIV2, openAPIV3, openAPIV3Root } from './openapi.ts';

const fixture = (file: string) =>
  load(
    readFileSync(
      fileURLToPath(new URL(`../../../e2e/fixtures/control-plane/${file}`, import.meta.url)),
      'utf8',
    ),
  );
const crd = {
  ...(fixture('11-kubernetescluster-claim-crd.yaml') as CRD),
  status: { conditions: [{ type: 'Established', status: 'True' }] },
};
const catalog: Catalog = {
  connection: 'c',
  clusterID: 'id',
  targetNamespace: 't',
  groupVersions: servedAPIs([fixture('10-kubernetescluster-xrd.yaml') as XRD], [crd], {
    discovery: 'Crossplane',
  }),
};
const gv = catalog.groupVersions[0]!;

describe('OpenAPI from the catalog', () => {
  const v3 = openAPIV3(gv) as {
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: { content: Record<string, unknown> };
          parameters?: { name: string }[];
          'x-kubernetes-group-version-kind'?: unknown;
        }
      >
    >;
    components: {
      schemas: Record<
        string,
        { 'x-kubernetes-group-version-kind'?: unknown; properties?: Record<string, unknown> }
      >;
    };
  };
  const item = '/apis/platform.example.org/v1alpha1/namespaces/{namespace}/kubernetesclusters/{name}';

  it('describes the claim with its CRD schema and group/version/kind', () => {
    const schema =
      v3.components.schemas[definitionName('platform.example.org', 'v1alpha1', 'KubernetesCluster')];
    expect(schema?.['x-kubernetes-group-version-kind']).toEqual([
      { group: 'platform.example.org', version: 'v1alpha1', kind: 'KubernetesCluster' },
    ]);
    expect(Object.keys(schema?.properties ?? {})).toEqual(
      expect.arrayContaining(['spec', 'status', 'metadata', 'apiVersion', 'kind']),
    );
    expect(v3.paths[item]?.get?.['x-kubernetes-group-version-kind']).toEqual({
      group: 'platform.example.org',
      version: 'v1alpha1',
      kind: 'KubernetesCluster',
    });
  });

  it('offers JSON, merge and apply patches — never strategic merge — and declares fieldValidation', () => {
    const patch = v3.paths[item]?.patch;
    expect(Object.keys(patch?.requestBody?.content ?? {})).toEqual([
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    expect(patch?.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['fieldValidation', 'fieldManager', 'dryRun', 'force']),
    );
    expect(v3.paths[`${item}/status`]?.patch).toBeDefined();
  });

  it('lists each group/version in the v3 root, and every definition in v2', () => {
    const root = openAPIV3Root(catalog) as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(root.paths)).toEqual(['apis/platform.example.org/v1alpha1']);
    expect(root.paths['apis/platform.example.org/v1alpha1']?.serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/platform\.example\.org\/v1alpha1\?hash=[0-9A-F]{32}$/,
    );
    const v2 = openAPIV2(catalog) as {
      swagger: string;
      definitions: Record<string, unknown>;
      paths: Record<string, Record<string, { consumes: string[] }>>;
    };
    expect(v2.swagger).toBe('2.0');
    expect(Object.keys(v2.definitions)).toContain(
      definitionName('platform.example.org', 'v1alpha1', 'KubernetesClusterList'),
    );
    expect(v2.paths[item]?.patch?.consumes).not.toContain('application/strategic-merge-patch+json');
  });
});
