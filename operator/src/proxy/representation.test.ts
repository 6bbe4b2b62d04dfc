import { describe, expect, it } from '@jest/globals';
import { claimResource } from '../catalog/testdata.ts';
import { humanDuration, negotiateRepresentation, renderList, renderObject } from './representation.ts';

const resource = claimResource({
  xrd: 'xkubernetesclusters.platform.example.org',
  printerColumns: [
    { name: 'READY', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
const ctx = {
  resource,
  apiVersion: 'platform.example.org/v1alpha1',
  resourceVersion: '42',
  now: Date.parse('2026-11-24T10:05:30Z'),
};
const claim = {
  apiVersion: 'platform.example.org/v1alpha1',
  kind: 'KubernetesCluster',
  metadata: { name: 'a', namespace: 'shop', creationTimestamp: '2026-11-24T10:00:00Z' },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
};

describe('representations', () => {
  it('negotiates Table, metadata-only and plain JSON the way kubectl and the metadata client ask', () => {
    expect(
      negotiateRepresentation(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    ).toEqual({ as: 'Table', version: 'v1' });
    expect(
      negotiateRepresentation(
        'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      ),
    ).toEqual({ as: 'PartialObjectMetadata', version: 'v1' });
    expect(negotiateRepresentation(undefined)).toEqual({ as: 'Object' });
    expect(negotiateRepresentation('application/json;as=Table;g=example.org;v=v9,*/*')).toEqual({
      as: 'Object',
    });
    expect(negotiateRepresentation('application/yaml')).toBeUndefined();
  });

  it('renders lists with the list kind, metadata only, or as a Table with the printer columns', () => {
    expect(renderList([claim], { as: 'Object' }, ctx)).toEqual({
      kind: 'KubernetesClusterList',
      apiVersion: 'platform.example.org/v1alpha1',
      metadata: { resourceVersion: '42' },
      items: [claim],
    });
    expect(renderList([claim], { as: 'PartialObjectMetadata', version: 'v1' }, ctx)).toEqual({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '42' },
      items: [{ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: claim.metadata }],
    });
    const table = renderList([claim], { as: 'Table', version: 'v1' }, ctx) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'READY', 'AGE']);
    expect(table.rows[0]?.cells).toEqual(['a', 'True', '5m30s']);
    expect(table.rows[0]?.object.kind).toBe('PartialObjectMetadata');
  });

  it('gives a CRD without printer columns the default Age column and honours includeObject', () => {
    const bare = { ...ctx, resource: { ...resource, printerColumns: [] }, includeObject: 'None' };
    const table = renderObject(claim, { as: 'Table', version: 'v1' }, bare) as {
      columnDefinitions: { name: string }[];
      rows: Record<string, unknown>[];
    };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Age']);
    expect(table.rows).toEqual([{ cells: ['a', '5m30s'] }]);
  });
});

describe('ages', () => {
  it('are printed like kube-apiserver prints them', () => {
    const cases: [number, string][] = [
      [-5_000, '<invalid>'],
      [-500, '0s'],
      [59_000, '59s'],
      [119_000, '119s'],
      [150_000, '2m30s'],
      [600_000, '10m'],
      [179 * 60_000, '179m'],
      [3 * 3600_000 + 5 * 60_000, '3h5m'],
      [8 * 3600_000, '8h'],
      [50 * 3600_000, '2d2h'],
      [10 * 86400_000, '10d'],
      [800 * 86400_000, '2y70d'],
      [9 * 365 * 86400_000, '9y'],
    ];
    expect(cases.map(([ms]) => humanDuration(ms))).toEqual(cases.map(([, text]) => text));
  });
});
