// Discovery documents served from the catalog, never from the control plane: the aggregator's availability
// probe, aggregated discovery and kubectl's RESTMapper all read these, and they must answer even when the control
// plane is down (an unavailable APIService blocks namespace deletion cluster-wide). Pure.
import type { Catalog } from '../catalog/catalog.ts';
import type { ServedGroupVersion, ServedResource } from '../catalog/catalog.ts';

export const resourceVerbs = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];
export const statusVerbs = ['get', 'patch', 'update'];

export type DiscoveryFormat = 'v2' | 'v2beta1' | 'legacy';

/** Which /apis document the client asked for (first acceptable entry of Accept wins). */
export function negotiateDiscovery(accept: string | undefined): DiscoveryFormat {
  for (const entry of (accept ?? '').split(',')) {
    const params = new Map(
      entry
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    const type = entry.split(';')[0]?.trim();
    if (
      type === 'application/json' &&
      params.get('g') === 'apidiscovery.k8s.io' &&
      params.get('as') === 'APIGroupDiscoveryList'
    ) {
      if (params.get('v') === 'v2') return 'v2';
      if (params.get('v') === 'v2beta1') return 'v2beta1';
    }
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'legacy';
  }
  return 'legacy';
}

export function discoveryContentType(format: DiscoveryFormat): string {
  return format === 'legacy'
    ? 'application/json'
    : `application/json;g=apidiscovery.k8s.io;v=${format};as=APIGroupDiscoveryList`;
}

/** Groups in catalog order, each with its versions (the first is preferred). */
function groups(catalog: Catalog): Map<string, ServedGroupVersion[]> {
  const byGroup = new Map<string, ServedGroupVersion[]>();
  for (const gv of catalog.groupVersions) {
    const list = byGroup.get(gv.group) ?? [];
    list.push(gv);
    byGroup.set(gv.group, list);
  }
  return byGroup;
}

export function apiGroupList(catalog: Catalog): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups(catalog)].map(([name, gvs]) => apiGroupBody(name, gvs)),
  };
}

function apiGroupBody(name: string, gvs: ServedGroupVersion[]): Record<string, unknown> {
  const versions = gvs.map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name, versions, preferredVersion: versions[0] };
}

export function apiGroup(catalog: Catalog, group: string): Record<string, unknown> | undefined {
  const gvs = groups(catalog).get(group);
  return gvs ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupBody(group, gvs) } : undefined;
}

export function apiResourceList(
  catalog: Catalog,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const gv = catalog.groupVersions.find((g) => g.group === group && g.version === version);
  if (!gv) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: gv.resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: true,
        kind: r.kind,
        verbs: resourceVerbs,
        ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length ? { categories: r.categories } : {}),
      },
      ...(r.hasStatus
        ? [
            {
              name: `${r.plural}/status`,
              singularName: '',
              namespaced: true,
              kind: r.kind,
              verbs: statusVerbs,
            },
          ]
        : []),
    ]),
  };
}

export function aggregatedDiscovery(catalog: Catalog, format: 'v2' | 'v2beta1'): Record<string, unknown> {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${format}`,
    metadata: {},
    items: [...groups(catalog)].map(([name, gvs]) => ({
      metadata: { name },
      versions: gvs.map((gv) => ({
        version: gv.version,
        freshness: 'Current',
        resources: gv.resources.map((r) => discoveryResource(gv, r)),
      })),
    })),
  };
}

function discoveryResource(gv: ServedGroupVersion, r: ServedResource): Record<string, unknown> {
  const responseKind = { group: gv.group, version: gv.version, kind: r.kind };
  return {
    resource: r.plural,
    responseKind,
    scope: 'Namespaced',
    singularResource: r.singular,
    verbs: resourceVerbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.hasStatus ? { subresources: [{ subresource: 'status', responseKind, verbs: statusVerbs }] } : {}),
  };
}
