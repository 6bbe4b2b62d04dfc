import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadAll } from 'js-yaml';
import { claimCollections, servedAPIs, type CRD, type XRD } from './discovery.ts';

// The same fixtures the local control plane gets, so unit and integration tests describe one world.
const dir = fileURLToPath(new URL('../../../e2e/fixtures/control-plane', import.meta.url));
const objects = readdirSync(dir).flatMap(
  (f) => loadAll(readFileSync(join(dir, f), 'utf8')) as { kind: string }[],
);
const xrds = objects.filter((o) => o.kind === 'CompositeResourceDefinition') as unknown as XRD[];
const established = (crd: CRD): CRD => ({
  ...crd,
  status: { conditions: [{ type: 'Established', status: 'True' }] },
});
const crds = (objects.filter((o) => o.kind === 'CustomResourceDefinition') as unknown as CRD[]).map(
  established,
);
const all = { discovery: 'Crossplane' as const };

describe('servedAPIs', () => {
  it('serves v1 claims and v2 namespaced XRs, never cluster-scoped XRs', () => {
    const served = servedAPIs(xrds, crds, all);
    expect(served.map((gv) => `${gv.group}/${gv.version}`)).toEqual([
      'data.example.org/v1beta1',
      'platform.example.org/v1alpha1',
    ]);
    const [data, platform] = served;
    expect(platform?.resources.map((r) => [r.kind, r.origin])).toEqual([['KubernetesCluster', 'Claim']]);
    expect(data?.resources.map((r) => [r.kind, r.origin])).toEqual([['Database', 'NamespacedXR']]);
    expect(data?.resources[0]).toMatchObject({
      plural: 'databases',
      shortNames: ['db'],
      categories: ['claim', 'composite'],
      hasStatus: true,
    });
    expect(platform?.resources[0]?.printerColumns.map((c) => c.name)).toEqual([
      'SYNCED',
      'READY',
      'CONNECTION-SECRET',
      'AGE',
    ]);
  });

  it('waits for the CRD to exist and be established', () => {
    expect(
      servedAPIs(
        xrds,
        crds.filter((c) => c.metadata.name !== 'databases.data.example.org'),
        all,
      ).map((gv) => gv.group),
    ).toEqual(['platform.example.org']);
    const unestablished = crds.map((c) =>
      c.metadata.name === 'databases.data.example.org' ? { ...c, status: {} } : c,
    );
    expect(servedAPIs(xrds, unestablished, all).map((gv) => gv.group)).toEqual(['platform.example.org']);
  });

  it('applies include, then exclude, by group and kind', () => {
    const groups = (apis: Parameters<typeof servedAPIs>[2]) =>
      servedAPIs(xrds, crds, apis).map((gv) => gv.group);
    expect(groups({ discovery: 'Crossplane', include: [{ group: 'data.example.org' }] })).toEqual([
      'data.example.org',
    ]);
    expect(
      groups({ discovery: 'Crossplane', include: [{ group: 'data.example.org', kind: 'Other' }] }),
    ).toEqual([]);
    expect(
      groups({
        discovery: 'Crossplane',
        exclude: [{ group: 'platform.example.org', kind: 'KubernetesCluster' }],
      }),
    ).toEqual(['data.example.org']);
    expect(groups({ discovery: 'None' })).toEqual([]);
  });
});

describe('claimCollections', () => {
  const platform = { group: 'platform.example.org', plural: 'kubernetesclusters', kind: 'KubernetesCluster' };

  it('lists each served resource once, whatever the number of versions it is served in', () => {
    const twoVersions = crds.map((c) =>
      c.metadata.name === 'kubernetesclusters.platform.example.org'
        ? {
            ...c,
            spec: {
              ...c.spec,
              versions: [{ ...c.spec.versions[0]!, name: 'v1beta1', storage: false }, ...c.spec.versions],
            },
          }
        : c,
    );
    expect(claimCollections(xrds, twoVersions, all, [])).toEqual([
      { group: 'data.example.org', version: 'v1beta1', plural: 'databases', kind: 'Database' },
      { ...platform, version: 'v1alpha1' },
    ]);
  });

  it('adds the kinds the status recorded as served, even when spec.apis no longer selects them', () => {
    const recorded = [{ group: 'platform.example.org', kinds: ['KubernetesCluster'] }];
    expect(claimCollections(xrds, crds, { discovery: 'None' }, recorded)).toEqual([
      { ...platform, version: 'v1alpha1' },
    ]);
    const onlyData = { discovery: 'Crossplane' as const, include: [{ group: 'data.example.org' }] };
    expect(claimCollections(xrds, crds, onlyData, recorded).map((c) => c.plural)).toEqual([
      'databases',
      'kubernetesclusters',
    ]);
    // An empty record adds nothing (an empty include would select everything).
    expect(claimCollections(xrds, crds, onlyData, []).map((c) => c.plural)).toEqual(['databases']);
  });

  it('has nothing for a recorded kind whose CRD the control plane no longer has: no claims can exist', () => {
    const recorded = [{ group: 'platform.example.org', kinds: ['KubernetesCluster'] }];
    const withoutClaimCRD = crds.filter((c) => c.metadata.name !== 'kubernetesclusters.platform.example.org');
    expect(claimCollections(xrds, withoutClaimCRD, { discovery: 'None' }, recorded)).toEqual([]);
  });
});
