// Watches served from the claim cache: every watch of a resource shares the cache's one watch of the control plane,
// with kube-apiserver's semantics (its cacheWatcher): the state first (synthetic ADDED events) or the changes after a
// resourceVersion (410 Gone once the cache no longer holds them all), then each change as it comes, filtered by the
// watch's namespace and selectors — a claim that stops matching is DELETED for it, one that starts matching ADDED —,
// bookmarks when asked for, and the end of the initial events marked for watch-lists (sendInitialEvents).
import type { ServerResponse } from 'node:http';
import type { ServedResource } from '../catalog/catalog.ts';
import { matches, selectionOf, type ListedObject, type Selection } from './cachelist.ts';
import type { CacheEvent, CachedClaim, ClaimCache, Following } from './claimcache.ts';
import { watchStartOf } from './freshness.ts';
import { negotiateRepresentation, renderObject, type Representation } from './representation.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { statusBody } from './respond.ts';
import { drained } from './watchstream.ts';

export interface CacheWatchOptions {
  res: ServerResponse;
  request: ResourceRequest;
  query: URLSearchParams;
  representation: Representation;
  resource: ServedResource;
  claims: ClaimCache;
  /** The app view of a cached claim (undefined: another cluster's). */
  appView: (claim: CachedClaim) => ListedObject | undefined;
  /** The state first, or the changes after this resourceVersion. */
  start: { state: true; initialEventsEnd: boolean } | { after: bigint };
  signal: AbortSignal;
  /** Bookmarks at most this often (when asked for and the cache moved on). */
  bookmarkEveryMs?: number;
}

/**
 * Whether the cache can serve this watch as the control plane would: JSON objects or metadata (kube-apiserver's Table
 * watches are the control plane's), the namespace and selectors the cache evaluates, a start it can honour.
 */
export function cacheCanWatch(query: URLSearchParams, accept: string | undefined): boolean {
  const representation = negotiateRepresentation(accept);
  if (!representation || representation.as === 'Table' || !watchStartOf(query)) return false;
  try {
    return selectionOf(undefined, query) !== undefined;
  } catch {
    return false; // a malformed selector: the control plane's 400
  }
}

/**
 * The encoded lines of a change, by what else they depend on (event type, apiVersion, representation; Tables, which
 * hold the time, are never served from the cache): every watch of the change shares one UTF-8 buffer, so 200 watches
 * of a namespace encode each event once, their queues hold one copy of it, and writing it to each socket copies
 * nothing (a string would be encoded again for every socket). Dropped with the change.
 */
const lines = new WeakMap<CacheEvent, Map<string, Buffer>>();

function sharedLine(change: CacheEvent, key: string, encode: () => string): Buffer {
  let byKey = lines.get(change);
  if (!byKey) lines.set(change, (byKey = new Map<string, Buffer>()));
  let line = byKey.get(key);
  if (line === undefined) byKey.set(key, (line = Buffer.from(`${encode()}\n`)));
  return line;
}

/** Events a client may fall behind by before its watch is ended (it watches again from its last resourceVersion). */
const maxQueued = 10_000;

/** Serves the watch until the client goes, the cache lists anew, timeoutSeconds pass or the proxy ends it. */
export async function serveWatchFromCache(options: CacheWatchOptions): Promise<void> {
  const { res, request, query, claims } = options;
  const selection = selectionOf(request.namespace, query)!;
  const bookmarks = query.get('allowWatchBookmarks') === 'true';
  const apiVersion = `${request.group}/${request.version}`;
  const representationKey = `${options.representation.as}/${'version' in options.representation ? options.representation.version : ''}`;
  const queue: (string | Buffer)[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const end = () => {
    ended = true;
    wake?.();
  };
  const pushLine = (line: string | Buffer) => {
    if (queue.length >= maxQueued) return end();
    queue.push(line);
    wake?.();
  };
  const push = (event: Record<string, unknown>) => pushLine(`${JSON.stringify(event)}\n`);
  const render = (object: ListedObject) =>
    renderObject(object, options.representation, {
      resource: options.resource,
      apiVersion,
      resourceVersion: '',
      now: Date.now(),
    });
  let sentVersion = '';
  // A watch from a resourceVersion the cache has not reached yet (a forwarded list's): the changes up to it are what
  // the client's list already holds; they still reach the cache, in order, and are skipped, and so are bookmarks.
  const after = 'after' in options.start ? options.start.after : -1n;
  const deliver = (change: CacheEvent) => {
    if (change.resourceVersion <= after) return;
    const event = eventFor(change, selection, options.appView);
    if (event)
      pushLine(
        sharedLine(change, `${event.type} ${apiVersion} ${representationKey}`, () =>
          JSON.stringify({ type: event.type, object: render(event.object) }),
        ),
      );
    sentVersion = String(change.resourceVersion);
  };
  const following: Following | undefined = claims.follow(
    request.group,
    request.version,
    request.resource,
    (change) => deliver(change),
    () => end(),
  );
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  if (!following) return void res.end();
  let cacheVersion = following.view.resourceVersion;
  const bookmark = (annotations?: Record<string, string>) => {
    const rv = cacheVersion;
    push({
      type: 'BOOKMARK',
      object: render({
        kind: options.resource.kind,
        apiVersion,
        metadata: { resourceVersion: rv, ...(annotations ? { annotations } : {}) },
      } as ListedObject),
    });
    sentVersion = rv;
  };
  sentVersion = following.view.resourceVersion;
  if ('state' in options.start) {
    for (const claim of following.view.items) {
      const object = options.appView(claim);
      if (object && matches(selection, object)) push({ type: 'ADDED', object: render(object) });
    }
    if (options.start.initialEventsEnd) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const replay = following.since(options.start.after);
    if (replay === 'expired') {
      push({ type: 'ERROR', object: expired(options.start.after) });
      ended = true;
    } else for (const change of replay) deliver(change);
  }
  const timeout = Number(query.get('timeoutSeconds') ?? '0');
  const timers: NodeJS.Timeout[] = [];
  if (Number.isFinite(timeout) && timeout > 0) timers.push(setTimeout(end, timeout * 1000));
  if (bookmarks)
    timers.push(
      setInterval(() => {
        const current = claims.resourceVersion(request.group, request.version, request.resource);
        if (current && current !== sentVersion && BigInt(current) > after) {
          cacheVersion = current;
          bookmark();
        }
      }, options.bookmarkEveryMs ?? 10_000),
    );
  options.signal.addEventListener('abort', end, { once: true });
  try {
    while (!res.destroyed) {
      while (queue.length > 0 && !res.destroyed) {
        if (!res.write(queue.shift()!)) await drained(res, options.signal);
      }
      if (ended || options.signal.aborted) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    following.stop();
    for (const t of timers) clearTimeout(t);
    options.signal.removeEventListener('abort', end);
    if (!res.destroyed) res.end();
  }
}

/** What a change means to a watcher with this selection, as kube-apiserver's cacheWatcher decides it. */
export function eventFor(
  change: CacheEvent,
  selection: Selection,
  appView: (claim: CachedClaim) => ListedObject | undefined,
): { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ListedObject } | undefined {
  const now = change.type === 'DELETED' ? undefined : appView(change.object);
  const before = change.previous ? appView(change.previous) : undefined;
  const nowMatches = now !== undefined && matches(selection, now);
  const beforeMatched = before !== undefined && matches(selection, before);
  if (nowMatches) return { type: beforeMatched ? 'MODIFIED' : 'ADDED', object: now };
  if (!beforeMatched) return undefined;
  // Gone for this watcher (deleted, or no longer selected): the last state it matched, at the change's version.
  return {
    type: 'DELETED',
    object: {
      ...before,
      metadata: { ...before.metadata, resourceVersion: String(change.resourceVersion) },
    } as ListedObject,
  };
}

function expired(rv: bigint): Record<string, unknown> {
  return statusBody(410, 'Expired', `too old resource version: ${rv}`);
}
