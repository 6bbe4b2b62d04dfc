// Which APIs of a control plane a connection serves: the claim APIs of its CompositeResourceDefinitions
// (Crossplane v1 claims via claimNames, v2 LegacyCluster claims) and Crossplane v2 namespaced XRs, described by
// the CRDs Crossplane generated for them, filtered by spec.apis. Pure: the caller lists XRDs and CRDs.
import type { ControlPlaneConnectionSpec } from '../api/connection.ts';
import type { PrinterColumn, ServedGroupVersion, ServedResource } from '../catalog/catalog.ts';

export interface XRD {
  metadata: { name: string };
  spec: {
    group: string;
    scope?: 'Namespaced' | 'Cluster' | 'LegacyCluster';
    names: { kind: string; plural: string };
    claimNames?: { kind: string; plural: string };
  };
}

export interface CRDVersion {
  name: string;
  served: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: PrinterColumn[];
}

export interface CRD {
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      kind: string;
      plural: string;
      singular?: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: CRDVersion[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export function servedAPIs(
  xrds: readonly XRD[],
  crds: readonly CRD[],
  apis: ControlPlaneConnectionSpec['apis'],
): ServedGroupVersion[] {
  if (apis.discovery === 'None') return [];
  const crdsByName = new Map(crds.map((crd) => [crd.metadata.name, crd]));
  const byGroupVersion = new Map<string, ServedGroupVersion>();
  for (const xrd of xrds) {
    const served = servedNames(xrd);
    if (!served) continue;
    if (!selected(apis, xrd.spec.group, served.names.kind)) continue;
    const crd = crdsByName.get(`${served.names.plural}.${xrd.spec.group}`);
    // Not generated (or not established) yet: Crossplane's status update will bring us back.
    if (!crd || crd.spec.scope !== 'Namespaced' || !established(crd)) continue;
    for (const version of crd.spec.versions) {
      if (!version.served) continue;
      const key = `${crd.spec.group}/${version.name}`;
      let gv = byGroupVersion.get(key);
      if (!gv)
        byGroupVersion.set(key, (gv = { group: crd.spec.group, version: version.name, resources: [] }));
      gv.resources.push({
        kind: crd.spec.names.kind,
        listKind: crd.spec.names.listKind ?? `${crd.spec.names.kind}List`,
        plural: crd.spec.names.plural,
        singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase(),
        shortNames: crd.spec.names.shortNames ?? [],
        categories: crd.spec.names.categories ?? [],
        xrd: xrd.metadata.name,
        origin: served.origin,
        hasStatus: version.subresources?.status !== undefined,
        schema: version.schema?.openAPIV3Schema,
        printerColumns: version.additionalPrinterColumns ?? [],
      });
    }
  }
  return [...byGroupVersion.values()]
    .map((gv) => ({ ...gv, resources: gv.resources.sort((a, b) => a.plural.localeCompare(b.plural)) }))
    .sort((a, b) => `${a.group}/${a.version}`.localeCompare(`${b.group}/${b.version}`));
}

/** A collection of stored claims in the control plane: one resource, in one of the versions it is served in. */
export interface ClaimCollection {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/**
 * Where a connection may have stored claims: the resources it serves now (spec.apis over the control plane's XRDs,
 * as the reconciler computes them) and the kinds its status recorded as served, as long as the control plane still
 * has them (without the CRD there are no claims). One entry per resource: a list in any version returns them all.
 */
export function claimCollections(
  xrds: readonly XRD[],
  crds: readonly CRD[],
  apis: ControlPlaneConnectionSpec['apis'],
  recorded: readonly { group: string; kinds: readonly string[] }[],
): ClaimCollection[] {
  const kinds = recorded.flatMap((api) => api.kinds.map((kind) => ({ group: api.group, kind })));
  const served = [
    ...servedAPIs(xrds, crds, apis),
    // An empty include would mean "everything".
    ...(kinds.length ? servedAPIs(xrds, crds, { discovery: 'Crossplane', include: kinds }) : []),
  ];
  const collections = new Map<string, ClaimCollection>();
  for (const gv of served) {
    for (const r of gv.resources) {
      const key = `${r.plural}.${gv.group}`;
      if (!collections.has(key))
        collections.set(key, { group: gv.group, version: gv.version, plural: r.plural, kind: r.kind });
    }
  }
  return [...collections.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c);
}

function servedNames(
  xrd: XRD,
): { names: { kind: string; plural: string }; origin: ServedResource['origin'] } | undefined {
  const scope = xrd.spec.scope;
  if (scope === 'Namespaced') return { names: xrd.spec.names, origin: 'NamespacedXR' };
  // v1 XRDs (no scope) and v2 LegacyCluster XRDs offer a namespaced claim when claimNames is set.
  if ((scope === undefined || scope === 'LegacyCluster') && xrd.spec.claimNames) {
    return { names: xrd.spec.claimNames, origin: 'Claim' };
  }
  return undefined;
}

function selected(apis: ControlPlaneConnectionSpec['apis'], group: string, kind: string): boolean {
  const matches = (s: { group: string; kind?: string | undefined }) =>
    s.group === group && (!s.kind || s.kind === kind);
  if (apis.include && apis.include.length > 0 && !apis.include.some(matches)) return false;
  return !(apis.exclude ?? []).some(matches);
}

function established(crd: CRD): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}
