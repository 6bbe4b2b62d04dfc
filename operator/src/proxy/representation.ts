// The forms kube-apiserver returns an object or a list in, chosen by the Accept header: the full object, metadata
// only (PartialObjectMetadata[List], used by the garbage collector and the namespace controller), or a Table
// (kubectl get) with the CRD's printer columns. Used for answers the proxy gives from its cache. Pure.
import type { ServedResource } from '../catalog/catalog.ts';
import { compileJSONPath } from './jsonpath.ts';

type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> & { resourceVersion?: string } };

export type Representation =
  { as: 'Object' } | { as: 'PartialObjectMetadata'; version: string } | { as: 'Table'; version: string };

/** The first representation in Accept that the proxy can produce (JSON only; binary types are never chosen). */
export function negotiateRepresentation(accept: string | undefined): Representation | undefined {
  for (const entry of (accept ?? 'application/json').split(',')) {
    const [mediaType, ...params] = entry.split(';').map((p) => p.trim());
    if (mediaType !== 'application/json' && mediaType !== '*/*' && mediaType !== 'application/*') continue;
    const p = Object.fromEntries(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (!p.as) return { as: 'Object' };
    if (p.g !== 'meta.k8s.io' || (p.v !== 'v1' && p.v !== 'v1beta1')) continue;
    if (p.as === 'Table') return { as: 'Table', version: p.v };
    if (p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList')
      return { as: 'PartialObjectMetadata', version: p.v };
  }
  return undefined;
}

export interface ListContext {
  resource: ServedResource;
  apiVersion: string;
  resourceVersion: string;
  /** For a page of a list: the token of the next page and how many objects follow, when known. */
  continue?: string;
  remainingItemCount?: number;
  /** The query's includeObject for Tables: None, Metadata (default) or Object. */
  includeObject?: string | null;
  /** Milliseconds since the epoch, for date columns (shown as ages, as kube-apiserver does). */
  now: number;
}

export function renderList(objects: Obj[], representation: Representation, ctx: ListContext): Obj {
  const metadata = {
    resourceVersion: ctx.resourceVersion,
    ...(ctx.continue ? { continue: ctx.continue } : {}),
    ...(ctx.remainingItemCount !== undefined ? { remainingItemCount: ctx.remainingItemCount } : {}),
  };
  switch (representation.as) {
    case 'Object':
      return { kind: ctx.resource.listKind, apiVersion: ctx.apiVersion, metadata, items: objects };
    case 'PartialObjectMetadata':
      return {
        kind: 'PartialObjectMetadataList',
        apiVersion: `meta.k8s.io/${representation.version}`,
        metadata,
        items: objects.map((o) => partial(o, representation.version)),
      };
    case 'Table':
      return table(objects, representation.version, ctx, metadata);
  }
}

export function renderObject(object: Obj, representation: Representation, ctx: ListContext): Obj {
  switch (representation.as) {
    case 'Object':
      return object;
    case 'PartialObjectMetadata':
      return partial(object, representation.version);
    case 'Table':
      return table([object], representation.version, ctx, {
        resourceVersion: object.metadata?.resourceVersion ?? '',
      });
  }
}

function partial(object: Obj, version: string): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: object.metadata };
}

function table(objects: Obj[], version: string, ctx: ListContext, metadata: Record<string, unknown>): Obj {
  // A CRD without printer columns gets kube-apiserver's default: the age.
  const printerColumns = ctx.resource.printerColumns.length ? ctx.resource.printerColumns : [defaultAge];
  const columns = printerColumns.map((c) => ({ ...c, value: compileJSONPath(c.jsonPath) }));
  const includeObject = ctx.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata,
    columnDefinitions: [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description: 'Name must be unique within a namespace.',
        priority: 0,
      },
      ...columns.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata?.name, ...columns.map((c) => cell(c.value(o), c.type, ctx.now))],
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? o : partial(o, version) }),
    })),
  };
}

const defaultAge: ServedResource['printerColumns'][number] = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

function cell(value: unknown, type: string, now: number): unknown {
  if (value === undefined) return null;
  if (type === 'date' && typeof value === 'string') {
    const at = Date.parse(value);
    return Number.isNaN(at) ? value : humanDuration(now - at);
  }
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/** An age as kubectl and kube-apiserver print it: 42s, 5m30s, 3h12m, 2d4h, 1y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  const with2 = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`;
  if (minutes < 10) return with2(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return with2(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return with2(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return with2(years, 'y', days % 365, 'd');
  return `${years}y`;
}
