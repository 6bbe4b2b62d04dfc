// Answers the proxy gives from its claim cache instead of the control plane, whenever the storage rule lets it: reads
// the cache is fresh enough for, reads while the control plane is unreachable, and lists or deletecollections in app
// namespaces that hold no claims (the namespace controller asks every namespaced API of the cluster on every
// namespace deletion; those must never wait for the control plane). Pure: the cache's snapshots in, the response out.
import { appNamespaceLabel, clusterIDLabel, labelValue } from '../claims/identity.ts';
import type { ServedResource } from '../catalog/catalog.ts';
import type { ClaimView } from './claimcache.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { decodeContinue, encodeContinue, selectionOf, selectPage } from './cachelist.ts';
import { freshnessOf, pageLimit } from './freshness.ts';
import { negotiateRepresentation, renderList, renderObject } from './representation.ts';
import { find, type Snapshot } from './snapshots.ts';
import type { Scope } from './translate.ts';

export interface LocalAnswer {
  code: number;
  body: Record<string, unknown>;
}

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

/** What the cache needs to answer a read: the snapshot now, and those kept for continue tokens. */
export interface CacheState {
  current: Snapshot;
  at(resourceVersion: string): Snapshot | undefined;
  /** Keep this snapshot for the continue token just handed out. */
  keep(snapshot: Snapshot): void;
}

/**
 * Whether the cache can answer this get, list or deletecollection exactly as the control plane would, whatever it
 * holds: not for a media type it cannot produce, a field selector on other fields, or a continue token of the
 * control plane's.
 */
export function cacheCanAnswer(
  info: ResourceRequest,
  query: URLSearchParams,
  accept: string | undefined,
): boolean {
  if (!negotiateRepresentation(accept)) return false;
  const token = query.get('continue');
  if (token && !decodeContinue(token)) return false;
  if (info.verb === 'get') return true;
  try {
    return selectionOf(info.namespace, query) !== undefined;
  } catch {
    return true; // a malformed label selector: the cache answers the 400
  }
}

/**
 * get, list or deletecollection (of nothing) answered from the cache; undefined when the cache cannot answer
 * exactly as the control plane would (cacheCanAnswer, or a deletecollection that would delete something). The
 * caller decided the cache is fresh enough (the storage rule); an exact resourceVersion or continue token is read
 * from the snapshot taken at it, or is answered 410 Expired once that is gone, as kube-apiserver answers after
 * compaction.
 */
export function answerFromCache(
  info: ResourceRequest,
  query: URLSearchParams,
  accept: string | undefined,
  cache: CacheState,
  resource: ServedResource,
): LocalAnswer | undefined {
  const representation = negotiateRepresentation(accept);
  if (!representation || !cacheCanAnswer(info, query, accept)) return undefined;
  const token = query.get('continue') ? decodeContinue(query.get('continue')!) : undefined;
  const exact = info.verb === 'list' ? freshnessOf('list', query) : undefined;
  let snapshot = cache.current;
  if (token || exact?.kind === 'exact') {
    const rv = token ? token.resourceVersion : String((exact as { resourceVersion: bigint }).resourceVersion);
    const then = rv === snapshot.resourceVersion ? snapshot : cache.at(rv);
    if (!then) return token ? expired() : undefined;
    snapshot = then;
  }
  const ctx = {
    resource,
    apiVersion: `${info.group}/${info.version}`,
    resourceVersion: snapshot.resourceVersion,
    includeObject: query.get('includeObject'),
    now: Date.now(),
  };
  if (info.verb === 'get') {
    const found = info.namespace && info.name ? find(snapshot, info.namespace, info.name) : undefined;
    if (!found) return notFound(info);
    return { code: 200, body: renderObject(found, representation, ctx) };
  }
  let selection;
  try {
    selection = selectionOf(info.namespace, query)!;
  } catch (err) {
    return { code: 400, body: failure(400, 'BadRequest', (err as Error).message) };
  }
  const limit = info.verb === 'list' ? pageLimit(query) : 0;
  const page = selectPage(snapshot.objects, selection, limit, token?.after);
  if (info.verb === 'deletecollection' && page.items.length > 0) return undefined;
  let next: string | undefined;
  if (page.continueAfter !== undefined) {
    next = encodeContinue({ resourceVersion: snapshot.resourceVersion, after: page.continueAfter });
    cache.keep(snapshot);
  }
  const rendered = renderList(page.items, representation, {
    ...ctx,
    ...(next ? { continue: next } : {}),
    ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}),
  });
  return { code: 200, body: rendered };
}

/** kube-apiserver's answer to a continue token whose revision was compacted. */
function expired(): LocalAnswer {
  return {
    code: 410,
    body: failure(
      410,
      'Expired',
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    ),
  };
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
