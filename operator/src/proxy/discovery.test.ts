import { describe, expect, it } from '@jest/globals';
import type { Catalog } from '../catalog/catalog.ts';
import { claimCatalog, claimResource } from '../catalog/testdata.ts';
import { aggregatedDiscovery, apiGroupList, apiResourceList, negotiateDiscovery } from './discovery.ts';

const catalog: Catalog = claimCatalog(claimResource({ shortNames: ['kc'] }));

describe('discovery documents', () => {
  it('negotiates aggregated discovery as kube-apiserver asks for it', () => {
    const v2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
    const v2beta1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
    expect(negotiateDiscovery(`${v2},${v2beta1}`)).toBe('v2');
    expect(negotiateDiscovery(`${v2beta1},application/json`)).toBe('v2beta1');
    expect(negotiateDiscovery('application/json')).toBe('legacy');
    expect(negotiateDiscovery(undefined)).toBe('legacy');
  });

  it('describes resources, their status subresource, short names and categories, never strategic merge', () => {
    expect(apiResourceList(catalog, 'platform.example.org', 'v1alpha1')).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'platform.example.org/v1alpha1',
      resources: [
        {
          name: 'kubernetesclusters',
          singularName: 'kubernetescluster',
          namespaced: true,
          kind: 'KubernetesCluster',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['kc'],
          categories: ['claim'],
        },
        {
          name: 'kubernetesclusters/status',
          singularName: '',
          namespaced: true,
          kind: 'KubernetesCluster',
          verbs: ['get', 'patch', 'update'],
        },
      ],
    });
    expect(apiResourceList(catalog, 'platform.example.org', 'v9')).toBeUndefined();
  });

  it('sets responseKind on every aggregated resource and subresource', () => {
    const doc = aggregatedDiscovery(catalog, 'v2') as {
      apiVersion: string;
      items: {
        versions: { resources: { responseKind: unknown; subresources: { responseKind: unknown }[] }[] }[];
      }[];
    };
    expect(doc.apiVersion).toBe('apidiscovery.k8s.io/v2');
    const resource = doc.items[0]!.versions[0]!.resources[0]!;
    expect(resource.responseKind).toEqual({
      group: 'platform.example.org',
      version: 'v1alpha1',
      kind: 'KubernetesCluster',
    });
    expect(resource.subresources[0]!.responseKind).toEqual(resource.responseKind);
    expect(apiGroupList(catalog)).toMatchObject({
      groups: [{ name: 'platform.example.org', preferredVersion: { version: 'v1alpha1' } }],
    });
  });
});
