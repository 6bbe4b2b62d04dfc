// How fresh the answer to a get or list must be, read from its resourceVersion, resourceVersionMatch, limit and
// continue the way kube-apiserver reads them (k8s.io/apiserver's storage.ValidateListOptions and the cacher's
// delegator): the storage rule decides from this whether the claim cache may answer. Pure.
//
// resourceVersions are opaque to clients, but kube-apiserver's are etcd revisions, decimal uint64s that its own
// cache compares as numbers; the proxy does the same, and leaves anything else to the control plane.

export type Freshness =
  /** resourceVersion "0": whatever the cache holds. */
  | { kind: 'any' }
  /** At least this resourceVersion (NotOlderThan, or a get or unpaginated list naming one). */
  | { kind: 'notOlderThan'; resourceVersion: bigint }
  /** Exactly this resourceVersion (Exact, or the legacy paginated list naming one). */
  | { kind: 'exact'; resourceVersion: bigint }
  /** No resourceVersion: every write acknowledged before the read must be in the answer. */
  | { kind: 'consistent' }
  /** The next page of a paginated list: the token decides. */
  | { kind: 'continue'; token: string }
  /** Invalid in kube-apiserver's eyes: the control plane answers with its own 400. */
  | { kind: 'invalid' };

export function freshnessOf(verb: 'get' | 'list', query: URLSearchParams): Freshness {
  const rv = query.get('resourceVersion') ?? '';
  const token = query.get('continue') ?? '';
  if (verb === 'get') {
    if (rv === '') return { kind: 'consistent' };
    const parsed = parseResourceVersion(rv);
    if (parsed === undefined) return { kind: 'invalid' };
    return parsed === 0n ? { kind: 'any' } : { kind: 'notOlderThan', resourceVersion: parsed };
  }
  const match = query.get('resourceVersionMatch') ?? '';
  if (token !== '') {
    if ((rv !== '' && rv !== '0') || match !== '') return { kind: 'invalid' };
    return { kind: 'continue', token };
  }
  if (rv === '') return match === '' ? { kind: 'consistent' } : { kind: 'invalid' };
  const parsed = parseResourceVersion(rv);
  if (parsed === undefined) return { kind: 'invalid' };
  switch (match) {
    case 'NotOlderThan':
      return parsed === 0n ? { kind: 'any' } : { kind: 'notOlderThan', resourceVersion: parsed };
    case 'Exact':
      return parsed === 0n ? { kind: 'invalid' } : { kind: 'exact', resourceVersion: parsed };
    case '':
      if (parsed === 0n) return { kind: 'any' };
      // The legacy rule: a paginated list naming a resourceVersion wants exactly that one.
      return limitOf(query) > 0
        ? { kind: 'exact', resourceVersion: parsed }
        : { kind: 'notOlderThan', resourceVersion: parsed };
    default:
      return { kind: 'invalid' };
  }
}

/** The page size kube-apiserver applies: none for resourceVersion "0", which its cache answers whole. */
export function pageLimit(query: URLSearchParams): number {
  return query.get('resourceVersion') === '0' ? 0 : limitOf(query);
}

function limitOf(query: URLSearchParams): number {
  const limit = Number(query.get('limit') ?? '0');
  return Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
}

const maxUint64 = (1n << 64n) - 1n;

/** A kube-apiserver resourceVersion as a number, or undefined if it is not one. */
export function parseResourceVersion(rv: string | undefined): bigint | undefined {
  if (!rv || !/^[0-9]{1,20}$/.test(rv)) return undefined;
  const parsed = BigInt(rv);
  return parsed <= maxUint64 ? parsed : undefined;
}

/** Where a watch starts: the state (synthetic ADDED events) or after a resourceVersion, and how fresh it must be. */
export interface WatchStart {
  freshness: Freshness;
  start: { state: true; initialEventsEnd: boolean } | { after: bigint };
}

/**
 * A watch's start by kube-apiserver's rules: without resourceVersion the state, consistent; "0" the state the cache
 * holds; N the changes after N (the cache must have reached N); sendInitialEvents=true (a watch-list, with
 * resourceVersionMatch=NotOlderThan and bookmarks) the state not older than its resourceVersion, then a bookmark
 * marking the end of the initial events. Other combinations are the control plane's to judge.
 */
export function watchStartOf(query: URLSearchParams): WatchStart | undefined {
  const rv = query.get('resourceVersion') ?? '';
  const match = query.get('resourceVersionMatch') ?? '';
  const initial = query.get('sendInitialEvents');
  const parsed = rv === '' ? undefined : parseResourceVersion(rv);
  if (rv !== '' && parsed === undefined) return undefined;
  if (initial === 'true') {
    if (match !== 'NotOlderThan' || query.get('allowWatchBookmarks') !== 'true') return undefined;
    const start = { state: true as const, initialEventsEnd: true };
    if (parsed === undefined) return { freshness: { kind: 'consistent' }, start };
    if (parsed === 0n) return { freshness: { kind: 'any' }, start };
    return { freshness: { kind: 'notOlderThan', resourceVersion: parsed }, start };
  }
  if (initial !== null && initial !== 'false') return undefined;
  if (match !== '' && !(initial === 'false' && match === 'NotOlderThan')) return undefined;
  const state = { state: true as const, initialEventsEnd: false };
  if (parsed === undefined) return { freshness: { kind: 'consistent' }, start: state };
  if (parsed === 0n) return { freshness: { kind: 'any' }, start: state };
  return { freshness: { kind: 'notOlderThan', resourceVersion: parsed }, start: { after: parsed } };
}
