// Answers the proxy gives from its claim cache instead of the control plane: reads while the control plane is
// unreachable, and lists or deletecollections in app namespaces that hold no claims (the namespace controller asks
// every namespaced API of the cluster on every namespace deletion; those must never wait for the control plane).
// Pure: the cache's view in, the response out.
import { appNamespaceLabel, clusterIDLabel, labelValue } from '../claims/identity.ts';
import type { ServedResource } from '../catalog/catalog.ts';
import type { ClaimView } from './claimcache.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { negotiateRepresentation, renderList, renderObject } from './representation.ts';
import { matchesLabels, parseLabelSelector } from './selectors.ts';
import { fromControlPlane, type Scope } from './translate.ts';

export interface LocalAnswer {
  code: number;
  body: Record<string, unknown>;
}

type Obj = Record<string, unknown> & {
  metadata?: Record<string, unknown> & { name?: string; namespace?: string };
};

/**
 * Whether the cache knows of no claim of this resource in the app namespace. By labels only, without checking each
 * stored name (thousands per list): a forged label can only make a namespace look non-empty, and then the control
 * plane answers.
 */
export function namespaceIsEmpty(view: ClaimView, scope: Scope, namespace: string): boolean {
  const cluster = labelValue(scope.clusterID);
  return !view.items.some((claim) => {
    const labels = claim.metadata.labels;
    return labels?.[appNamespaceLabel] === namespace && labels[clusterIDLabel] === cluster;
  });
}

/**
 * get, list or deletecollection (of nothing) answered from the cache; undefined when the cache cannot answer
 * exactly as the control plane would (a continue token, a field selector on other fields, an unknown media type).
 */
export function answerFromCache(
  info: ResourceRequest,
  query: URLSearchParams,
  accept: string | undefined,
  view: ClaimView,
  scope: Scope,
  resource: ServedResource,
): LocalAnswer | undefined {
  const representation = negotiateRepresentation(accept);
  if (!representation || query.get('continue')) return undefined;
  const ctx = {
    resource,
    apiVersion: `${info.group}/${info.version}`,
    resourceVersion: view.resourceVersion,
    includeObject: query.get('includeObject'),
    now: Date.now(),
  };
  const objects = view.items
    .map((claim) => fromControlPlane(claim as Obj, scope))
    .filter((o): o is Obj => Boolean(o) && (!info.namespace || o!.metadata?.namespace === info.namespace))
    // kube-apiserver lists in storage-key order: by namespace, then name.
    .sort((a, b) => key(a).localeCompare(key(b)));
  if (info.verb === 'get') {
    const found = objects.find((o) => o.metadata?.name === info.name);
    if (!found) return notFound(info);
    return { code: 200, body: renderObject(found, representation, ctx) };
  }
  let labels;
  try {
    labels = parseLabelSelector(query.get('labelSelector'));
  } catch (err) {
    return { code: 400, body: failure(400, 'BadRequest', (err as Error).message) };
  }
  const fields: [string, boolean, string][] = [];
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const match = /^metadata\.(name|namespace)(==|=|!=)(.*)$/.exec(term);
    if (!match) return undefined;
    fields.push([match[1]!, match[2] !== '!=', match[3]!]);
  }
  const selected = objects.filter(
    (o) =>
      matchesLabels(labels, o.metadata?.labels as Record<string, string> | undefined) &&
      fields.every(([field, equal, value]) => (o.metadata?.[field] === value) === equal),
  );
  if (info.verb === 'deletecollection' && selected.length > 0) return undefined;
  return { code: 200, body: renderList(selected, representation, ctx) };
}

function key(o: Obj): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function notFound(info: ResourceRequest): LocalAnswer {
  return {
    code: 404,
    body: {
      ...failure(404, 'NotFound', `${info.resource}.${info.group} "${info.name ?? ''}" not found`),
      details: { name: info.name, group: info.group, kind: info.resource },
    },
  };
}

export function failure(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
