import type { ServerResponse } from 'node:http';
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { claimResource } from '../catalog/testdata.ts';
import { matches, selectionOf } from './cachelist.ts';
import { eventFor, serveWatchFromCache } from './cachewatch.ts';
import type { CacheEvent, CachedClaim, ClaimCache } from './claimcache.ts';
import { watchStartOf } from './freshness.ts';
import { snapshots } from './snapshots.ts';
import { claimRequest } from './testdata.ts';
import { toControlPlane } from './translate.ts';

const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
const resource = claimResource();
const claim = (namespace: string, name: string, rv: number, labels: Record<string, string> = {}) => {
  const c = toControlPlane(
    { apiVersion: 'platform.example.org/v1alpha1', kind: 'KubernetesCluster', metadata: { name, labels } },
    scope,
    { namespace, name },
  ) as CachedClaim;
  c.metadata.resourceVersion = String(rv);
  return c;
};
const kept = snapshots(() => scope);
const appView = (c: CachedClaim) => kept.appView(c);
const q = (params: Record<string, string>) => new URLSearchParams(params);

describe('where a watch starts, by kube-apiserver rules', () => {
  it('reads resourceVersion, resourceVersionMatch and sendInitialEvents', () => {
    expect(watchStartOf(q({}))).toEqual({
      freshness: { kind: 'consistent' },
      start: { state: true, initialEventsEnd: false },
    });
    expect(watchStartOf(q({ resourceVersion: '0' }))).toEqual({
      freshness: { kind: 'any' },
      start: { state: true, initialEventsEnd: false },
    });
    expect(watchStartOf(q({ resourceVersion: '9' }))).toEqual({
      freshness: { kind: 'notOlderThan', resourceVersion: 9n },
      start: { after: 9n },
    });
    expect(
      watchStartOf(
        q({
          resourceVersion: '9',
          sendInitialEvents: 'true',
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: 'true',
        }),
      ),
    ).toEqual({
      freshness: { kind: 'notOlderThan', resourceVersion: 9n },
      start: { state: true, initialEventsEnd: true },
    });
    expect(
      watchStartOf(
        q({ sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' }),
      ),
    ).toMatchObject({
      freshness: { kind: 'consistent' },
    });
    expect(
      watchStartOf(
        q({ resourceVersion: '9', sendInitialEvents: 'false', resourceVersionMatch: 'NotOlderThan' }),
      ),
    ).toMatchObject({ start: { after: 9n } });
    // Left to the control plane, which refuses them.
    for (const params of [
      { sendInitialEvents: 'true' },
      { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' },
      { resourceVersion: '9', resourceVersionMatch: 'Exact' },
      { resourceVersion: 'x' },
      { sendInitialEvents: 'yes' },
    ] as Record<string, string>[])
      expect(watchStartOf(q(params))).toBeUndefined();
  });
});

describe('what a change means to a watcher', () => {
  it("is ADDED, MODIFIED or DELETED by whether the claim matched before and after, as kube-apiserver's cacheWatcher says", () => {
    const tier = fc.option(fc.constantFrom('gold', 'silver'), { nil: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom('ADDED', 'MODIFIED', 'DELETED'),
        tier,
        tier,
        fc.constantFrom('shop', 'blog'),
        fc.constantFrom('', 'tier=gold', 'tier'),
        (type, before, after, namespace, labelSelector) => {
          const selection = selectionOf('shop', q({ labelSelector }))!;
          const prev =
            type === 'ADDED' ? undefined : claim(namespace, 'db', 1, before ? { tier: before } : {});
          const now = claim(namespace, 'db', 2, after ? { tier: after } : {});
          const change: CacheEvent = {
            type: type,
            object: type === 'DELETED' ? prev! : now,
            previous: type === 'DELETED' ? prev : prev,
            resourceVersion: 2n,
          };
          const event = eventFor(change, selection, appView);
          const was = prev !== undefined && matches(selection, appView(prev)!);
          const is = type !== 'DELETED' && matches(selection, appView(now)!);
          expect(event?.type).toBe(is ? (was ? 'MODIFIED' : 'ADDED') : was ? 'DELETED' : undefined);
          if (event)
            expect(event.object.metadata).toMatchObject({ name: 'db', namespace, resourceVersion: '2' });
        },
      ),
    );
  });
});

/** A response that records what is written. */
function response() {
  const lines: Record<string, unknown>[] = [];
  const res = {
    destroyed: false,
    ended: false,
    writeHead: () => res,
    flushHeaders: () => undefined,
    write: (chunk: string | Buffer) => {
      lines.push(
        ...chunk
          .toString()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );
      return true;
    },
    end: () => void (res.ended = true),
  };
  return { res: res as unknown as ServerResponse & { ended: boolean }, lines };
}

/** A cache of one resource holding `items`, with a history after `from`. */
function cacheOf(items: CachedClaim[], history: CacheEvent[], from: bigint) {
  let listener: ((e: CacheEvent) => void) | undefined;
  let ended: (() => void) | undefined;
  const claims = {
    resourceVersion: () => '10',
    follow: (_g: string, _v: string, _p: string, l: (e: CacheEvent) => void, e: () => void) => {
      listener = l;
      ended = e;
      return {
        view: { items, resourceVersion: '10', generation: 1 },
        since: (rv: bigint) => (rv < from ? 'expired' : history.filter((h) => h.resourceVersion > rv)),
        stop: () => (listener = undefined),
      };
    },
  } as unknown as ClaimCache;
  return { claims, emit: (e: CacheEvent) => listener?.(e), relist: () => ended?.() };
}

const request = claimRequest('watch', 'shop');
const tick = () => new Promise((r) => setImmediate(r));

describe('watches served from the cache', () => {
  it('sends the state, the end of the initial events, then each change of the namespace', async () => {
    const { res, lines } = response();
    const cache = cacheOf([claim('shop', 'db', 5), claim('blog', 'web', 6)], [], 0n);
    const abort = new AbortController();
    const done = serveWatchFromCache({
      res,
      request,
      query: q({
        allowWatchBookmarks: 'true',
        sendInitialEvents: 'true',
        resourceVersionMatch: 'NotOlderThan',
      }),
      representation: { as: 'Object' },
      resource,
      claims: cache.claims,
      appView,
      start: { state: true, initialEventsEnd: true },
      signal: abort.signal,
    });
    await tick();
    cache.emit({
      type: 'ADDED',
      object: claim('shop', 'api', 11),
      previous: undefined,
      resourceVersion: 11n,
    });
    cache.emit({ type: 'ADDED', object: claim('blog', 'x', 12), previous: undefined, resourceVersion: 12n });
    await tick();
    abort.abort();
    await done;
    expect(lines.map((l) => [l.type, (l.object as { metadata: Record<string, unknown> }).metadata])).toEqual([
      ['ADDED', expect.objectContaining({ name: 'db', namespace: 'shop' })],
      ['BOOKMARK', { resourceVersion: '10', annotations: { 'k8s.io/initial-events-end': 'true' } }],
      ['ADDED', expect.objectContaining({ name: 'api', namespace: 'shop', resourceVersion: '11' })],
    ]);
    expect(res.ended).toBe(true);
  });

  it('replays the changes after a resourceVersion, or ends with 410 Expired once they are gone', async () => {
    const history: CacheEvent[] = [
      { type: 'ADDED', object: claim('shop', 'a', 7), previous: undefined, resourceVersion: 7n },
      { type: 'ADDED', object: claim('shop', 'b', 9), previous: undefined, resourceVersion: 9n },
    ];
    const watch = async (after: bigint) => {
      const { res, lines } = response();
      const cache = cacheOf([], history, 6n);
      const done = serveWatchFromCache({
        res,
        request,
        query: q({ resourceVersion: String(after) }),
        representation: { as: 'Object' },
        resource,
        claims: cache.claims,
        appView,
        start: { after },
        signal: new AbortController().signal,
      });
      await tick();
      cache.relist(); // the cache listed anew: the watch ends, the client watches again
      await done;
      return lines.map(
        (l) =>
          `${l.type as string} ${JSON.stringify((l.object as { metadata?: { name?: string } }).metadata?.name ?? (l.object as { code?: number }).code)}`,
      );
    };
    expect(await watch(7n)).toEqual(['ADDED "b"']);
    expect(await watch(6n)).toEqual(['ADDED "a"', 'ADDED "b"']);
    expect(await watch(5n)).toEqual(['ERROR 410']);
  });

  it('from a resourceVersion beyond the cache, sends only the later changes as they reach it, and no older bookmark', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.bigInt({ min: 11n, max: 60n }), { minLength: 1, maxLength: 12 }),
        fc.bigInt({ min: 11n, max: 60n }),
        async (versions, after) => {
          const { res, lines } = response();
          const cache = cacheOf([], [], 0n);
          const abort = new AbortController();
          const done = serveWatchFromCache({
            res,
            request,
            query: q({ resourceVersion: String(after), allowWatchBookmarks: 'true' }),
            representation: { as: 'Object' },
            resource,
            claims: cache.claims,
            appView,
            start: { after },
            signal: abort.signal,
            bookmarkEveryMs: 1,
          });
          await tick();
          const sorted = [...versions].sort((a, b) => (a < b ? -1 : 1));
          for (const rv of sorted)
            cache.emit({
              type: 'ADDED',
              object: claim('shop', `c${rv}`, Number(rv)),
              previous: undefined,
              resourceVersion: rv,
            });
          await new Promise((r) => setTimeout(r, 5));
          abort.abort();
          await done;
          const sent = lines.map((l) => ({
            type: l.type as string,
            rv: BigInt((l.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion),
          }));
          expect(sent.filter((e) => e.type === 'ADDED').map((e) => e.rv)).toEqual(
            sorted.filter((rv) => rv > after),
          );
          // The cache stands at 10, below the start: a bookmark at 10 would send the client back before its list.
          expect(sent.filter((e) => e.type === 'BOOKMARK' && e.rv <= after)).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('encodes each change once for all the watches it reaches, however many there are', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (watchers, changes) => {
          const listeners: ((e: CacheEvent) => void)[] = [];
          const claims = {
            resourceVersion: () => '10',
            follow: (_g: string, _v: string, _p: string, l: (e: CacheEvent) => void) => {
              listeners.push(l);
              return {
                view: { items: [], resourceVersion: '10', generation: 1 },
                since: () => [],
                stop: () => undefined,
              };
            },
          } as unknown as ClaimCache;
          const abort = new AbortController();
          const watches = Array.from({ length: watchers }, () => {
            const { res, lines } = response();
            const done = serveWatchFromCache({
              res,
              request,
              query: q({ resourceVersion: '10' }),
              representation: { as: 'Object' },
              resource,
              claims,
              appView,
              start: { after: 10n },
              signal: abort.signal,
            });
            return { lines, done };
          });
          await tick();
          const stringify = jest.spyOn(JSON, 'stringify');
          try {
            for (let i = 1; i <= changes; i++) {
              const change: CacheEvent = {
                type: 'ADDED',
                object: claim('shop', `c${i}`, 10 + i),
                previous: undefined,
                resourceVersion: BigInt(10 + i),
              };
              for (const l of listeners) l(change);
            }
            expect(stringify).toHaveBeenCalledTimes(changes);
          } finally {
            stringify.mockRestore();
          }
          await tick();
          abort.abort();
          await Promise.all(watches.map((w) => w.done));
          const names = (lines: Record<string, unknown>[]) =>
            lines.map((l) => (l.object as { metadata: { name: string } }).metadata.name);
          for (const w of watches) expect(names(w.lines)).toEqual(names(watches[0]!.lines));
          expect(names(watches[0]!.lines)).toHaveLength(changes);
        },
      ),
      { numRuns: 30 },
    );
  });
});
