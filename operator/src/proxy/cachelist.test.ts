import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  byKey,
  decodeContinue,
  encodeContinue,
  findKey,
  keyOf,
  matches,
  selectionOf,
  selectPage,
  type ListedObject,
} from './cachelist.ts';

const dnsName = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const object = fc.record({
  namespace: fc.constantFrom('a', 'a-b', 'b', 'shop'),
  name: dnsName,
  tier: fc.option(fc.constantFrom('gold', 'silver'), { nil: undefined }),
});
const objects = fc
  .uniqueArray(object, { selector: (o) => `${o.namespace}/${o.name}`, maxLength: 60 })
  .map((os) =>
    os
      .map((o): ListedObject => ({
        metadata: { namespace: o.namespace, name: o.name, ...(o.tier ? { labels: { tier: o.tier } } : {}) },
      }))
      .sort(byKey),
  );
const query = fc.record({
  namespace: fc.option(fc.constantFrom('a', 'shop', 'none'), { nil: undefined }),
  labelSelector: fc.constantFrom('', 'tier=gold', 'tier!=gold', 'tier', '!tier', 'tier in (gold,silver)'),
  fieldSelector: fc.constantFrom('', 'metadata.name=db', 'metadata.namespace!=a', 'metadata.name!=web'),
});

/** Every page from the first to the last, as a client's pager reads them. */
function allPages(sorted: ListedObject[], namespace: string | undefined, q: URLSearchParams, limit: number) {
  const selection = selectionOf(namespace, q)!;
  const seen: ListedObject[] = [];
  let after: string | undefined;
  for (let pages = 0; pages <= sorted.length + 1; pages++) {
    const page = selectPage(sorted, selection, limit, after);
    if (limit > 0) expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    if (page.continueAfter === undefined) return seen;
    expect(page.items.length).toBe(limit);
    after = decodeContinue(encodeContinue({ resourceVersion: '5', after: page.continueAfter }))!.after;
  }
  throw new Error('pagination did not end');
}

describe('lists over the cache', () => {
  it('selects what a naive filter selects, in key order', () => {
    fc.assert(
      fc.property(objects, query, (sorted, q) => {
        const params = new URLSearchParams({
          labelSelector: q.labelSelector,
          fieldSelector: q.fieldSelector,
        });
        const naive = sorted.filter((o) => {
          const m = o.metadata!;
          if (q.namespace && m.namespace !== q.namespace) return false;
          const tier = m.labels?.tier;
          const label = {
            '': true,
            'tier=gold': tier === 'gold',
            'tier!=gold': tier !== 'gold',
            tier: tier !== undefined,
            '!tier': tier === undefined,
            'tier in (gold,silver)': tier !== undefined,
          }[q.labelSelector];
          const field = {
            '': true,
            'metadata.name=db': m.name === 'db',
            'metadata.namespace!=a': m.namespace !== 'a',
            'metadata.name!=web': m.name !== 'web',
          }[q.fieldSelector];
          return label && field;
        });
        const selection = selectionOf(q.namespace, params)!;
        expect(sorted.filter((o) => matches(selection, o))).toEqual(naive);
        expect(selectPage(sorted, selection, 0, undefined).items).toEqual(naive);
      }),
    );
  });

  it('returns every matching object exactly once, in order, whatever the page size', () => {
    fc.assert(
      fc.property(objects, query, fc.integer({ min: 0, max: 12 }), (sorted, q, limit) => {
        const params = new URLSearchParams({
          labelSelector: q.labelSelector,
          fieldSelector: q.fieldSelector,
        });
        const whole = selectPage(sorted, selectionOf(q.namespace, params)!, 0, undefined).items;
        expect(allPages(sorted, q.namespace, params, limit)).toEqual(whole);
      }),
    );
  });

  it('counts the remaining objects only when nothing is selected, as kube-apiserver does', () => {
    fc.assert(
      fc.property(objects, fc.integer({ min: 1, max: 5 }), (sorted, limit) => {
        const page = selectPage(sorted, selectionOf(undefined, new URLSearchParams())!, limit, undefined);
        expect(page.remainingItemCount).toBe(sorted.length > limit ? sorted.length - limit : undefined);
        const selected = selectPage(
          sorted,
          selectionOf(undefined, new URLSearchParams({ labelSelector: 'tier' }))!,
          limit,
          undefined,
        );
        expect(selected.remainingItemCount).toBeUndefined();
      }),
    );
  });

  it('finds an object by key as a scan would', () => {
    fc.assert(
      fc.property(objects, object, (sorted, probe) => {
        const key = `${probe.namespace}/${probe.name}`;
        expect(findKey(sorted, key)).toBe(sorted.find((o) => keyOf(o) === key));
        for (const o of sorted) expect(findKey(sorted, keyOf(o))).toBe(o);
      }),
    );
  });

  it('sorts by storage key in byte order, as etcd does', () => {
    const sorted = [
      { metadata: { namespace: 'a', name: 'x' } },
      { metadata: { namespace: 'a-b', name: 'y' } },
      { metadata: { namespace: 'B', name: 'z' } },
    ].sort(byKey);
    expect(sorted.map(keyOf)).toEqual(['B/z', 'a-b/y', 'a/x']);
  });

  it("takes only its own continue tokens, never the control plane's", () => {
    const token = encodeContinue({ resourceVersion: '42', after: 'shop/db' });
    expect(decodeContinue(token)).toEqual({ resourceVersion: '42', after: 'shop/db' });
    const upstream = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 42, start: 'db\u0000' })).toString(
      'base64url',
    );
    expect(decodeContinue(upstream)).toBeUndefined();
    expect(decodeContinue('not a token')).toBeUndefined();
  });

  it('leaves field selectors it cannot evaluate exactly to the control plane', () => {
    expect(selectionOf(undefined, new URLSearchParams({ fieldSelector: 'spec.id=1' }))).toBeUndefined();
    expect(
      selectionOf(undefined, new URLSearchParams({ fieldSelector: 'metadata.name=a\\,b' })),
    ).toBeUndefined();
    expect(() => selectionOf(undefined, new URLSearchParams({ labelSelector: 'a in b' }))).toThrow();
    expect(
      selectionOf(undefined, new URLSearchParams({ labelSelector: '!connect.ctp.dev/cluster-id' })),
    ).toBeUndefined();
  });
});
