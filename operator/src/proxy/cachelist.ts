// Selection and pagination over a snapshot of the claim cache, as kube-apiserver's cache lists: objects in storage-key
// order (namespace, then name), label and metadata.name/namespace field selectors, pages of `limit` with a continue
// token that names the snapshot's resourceVersion and the last key returned. Pure.
import { connectorLabels } from '../claims/identity.ts';
import { matchesLabels, parseLabelSelector } from './selectors.ts';

type Meta = { name?: string; namespace?: string; labels?: Record<string, string> };
export type ListedObject = Record<string, unknown> & { metadata?: Meta };

type Requirement = ReturnType<typeof parseLabelSelector>[number];
interface FieldTerm {
  field: 'name' | 'namespace';
  equal: boolean;
  value: string;
}

export interface Selection {
  /** The app namespace of the path, if any. */
  namespace: string | undefined;
  labels: Requirement[];
  fields: FieldTerm[];
}

/**
 * The selection a list asks for; a thrown Error is a malformed label selector (400), undefined a selector the cache
 * cannot evaluate exactly (fields other than name and namespace, escaped values, the connector's labels): the
 * control plane answers those.
 */
export function selectionOf(namespace: string | undefined, query: URLSearchParams): Selection | undefined {
  const fields: FieldTerm[] = [];
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const match = /^\s*metadata\.(name|namespace)\s*(==|=|!=)\s*([^\\]*?)\s*$/.exec(term);
    if (!match) return undefined;
    fields.push({ field: match[1] as FieldTerm['field'], equal: match[2] !== '!=', value: match[3]! });
  }
  const labels = parseLabelSelector(query.get('labelSelector'));
  // The app's view carries none of the connector's labels, which the control plane matches on: its answer stands.
  if (labels.some((r) => connectorLabels.includes(r.key))) return undefined;
  return { namespace, labels, fields };
}

export function matches(selection: Selection, object: ListedObject): boolean {
  const meta = object.metadata;
  if (selection.namespace !== undefined && meta?.namespace !== selection.namespace) return false;
  return (
    matchesLabels(selection.labels, meta?.labels) &&
    selection.fields.every((f) => (meta?.[f.field] === f.value) === f.equal)
  );
}

/** The storage key order kube-apiserver lists in: byte order of "<namespace>/<name>". */
export function keyOf(object: ListedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export function byKey(a: ListedObject, b: ListedObject): number {
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export interface Page {
  items: ListedObject[];
  /** The key of the last item, when more items match after it. */
  continueAfter: string | undefined;
  /** How many more objects the list holds, as kube-apiserver reports it: only when nothing is selected by label or field. */
  remainingItemCount: number | undefined;
}

/**
 * One page of the matching objects of `sorted` (in key order) after the key `after` (exclusive); `limit` 0 means
 * every one.
 */
export function selectPage(
  sorted: readonly ListedObject[],
  selection: Selection,
  limit: number,
  after: string | undefined,
): Page {
  // A namespace's objects are one run of keys, "<namespace>/" their common prefix: only that run is read.
  const prefix = selection.namespace === undefined ? undefined : `${selection.namespace}/`;
  let i = Math.max(
    after === undefined ? 0 : firstAfter(sorted, after),
    prefix === undefined ? 0 : firstAtOrAfter(sorted, prefix),
  );
  // '0' follows '/': every key with the prefix sorts before "<namespace>0", and no other key between the two.
  const end = prefix === undefined ? sorted.length : firstAtOrAfter(sorted, `${selection.namespace}0`);
  const items: ListedObject[] = [];
  for (; i < end; i++) {
    const object = sorted[i]!;
    if (!matches(selection, object)) continue;
    if (limit > 0 && items.length === limit) break;
    items.push(object);
  }
  const more = i < end;
  const unselected = selection.labels.length === 0 && selection.fields.length === 0;
  let remaining: number | undefined;
  if (more && unselected) {
    remaining = 0;
    for (; i < end; i++) if (matches(selection, sorted[i]!)) remaining++;
  }
  return {
    items,
    continueAfter: more ? keyOf(items[items.length - 1]!) : undefined,
    remainingItemCount: remaining,
  };
}

/** The index of the first object whose key sorts after `key` (binary search). */
function firstAfter(sorted: readonly ListedObject[], key: string): number {
  return bound(sorted, (k) => k <= key);
}

/** The object stored under a key, if any. */
export function findKey(sorted: readonly ListedObject[], key: string): ListedObject | undefined {
  const found = sorted[firstAtOrAfter(sorted, key)];
  return found && keyOf(found) === key ? found : undefined;
}

/** The index of the first object whose key sorts at or after `key`. */
function firstAtOrAfter(sorted: readonly ListedObject[], key: string): number {
  return bound(sorted, (k) => k < key);
}

/** The first index whose key is not `before` (which holds for a prefix of the sorted keys). */
function bound(sorted: readonly ListedObject[], before: (key: string) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(keyOf(sorted[mid]!))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The cache's continue tokens: base64 JSON like kube-apiserver's, with a version of their own, so a token of the
 * control plane's (meta.k8s.io/v1) is never mistaken for one of the cache's, nor the other way round.
 */
const tokenVersion = 'cache.connect.ctp.dev/v1';

export interface ContinueToken {
  resourceVersion: string;
  after: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: tokenVersion, rv: token.resourceVersion, after: token.after }),
  ).toString('base64url');
}

/** The cache's token, or undefined for anything else (the control plane's tokens, garbage). */
export function decodeContinue(token: string): ContinueToken | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (parsed.v !== tokenVersion || typeof parsed.rv !== 'string' || typeof parsed.after !== 'string')
      return undefined;
    return { resourceVersion: parsed.rv, after: parsed.after };
  } catch {
    return undefined;
  }
}
