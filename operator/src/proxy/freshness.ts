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
