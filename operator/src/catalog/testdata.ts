// The seed's KubernetesCluster claim as a served resource and a one-group catalog, for unit tests.
import type { Catalog, ServedResource } from './catalog.ts';

export function claimResource(overrides: Partial<ServedResource> = {}): ServedResource {
  return {
    kind: 'KubernetesCluster',
    listKind: 'KubernetesClusterList',
    plural: 'kubernetesclusters',
    singular: 'kubernetescluster',
    shortNames: [],
    categories: ['claim'],
    xrd: 'x',
    origin: 'Claim',
    hasStatus: true,
    schema: undefined,
    printerColumns: [],
    ...overrides,
  };
}

export function claimCatalog(resource: ServedResource = claimResource()): Catalog {
  return {
    connection: 'c',
    clusterID: 'id',
    targetNamespace: 't',
    groupVersions: [{ group: 'platform.example.org', version: 'v1alpha1', resources: [resource] }],
  };
}
