import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { byKey } from './cachelist.ts';
import type { CachedClaim } from './claimcache.ts';
import { find, snapshots } from './snapshots.ts';
import { fromControlPlane, toControlPlane, type Obj } from './translate.ts';

const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
const stored = (namespace: string, name: string, version: number) =>
  toControlPlane(
    {
      apiVersion: 'platform.example.org/v1alpha1',
      kind: 'KubernetesCluster',
      metadata: { name, resourceVersion: String(version) },
    },
    scope,
    { namespace, name },
  ) as CachedClaim;
const change = fc.record({
  namespace: fc.constantFrom('a', 'a-b', 'shop'),
  name: fc.constantFrom('db', 'web', 'x', 'db-2'),
  remove: fc.boolean(),
});

describe('snapshots of the claim cache', () => {
  it('hold the app view in key order after any sequence of changes, as a full sort would', () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { maxLength: 4 }), { maxLength: 12 }), (generations) => {
        const kept = snapshots(() => scope);
        const claims = new Map<string, CachedClaim>();
        let version = 0;
        generations.forEach((changes, generation) => {
          for (const c of changes) {
            const k = `${c.namespace}/${c.name}`;
            if (c.remove) claims.delete(k);
            else claims.set(k, stored(c.namespace, c.name, ++version));
          }
          const items = [...claims.values()];
          const snapshot = kept.of('r', { items, resourceVersion: String(version), generation });
          const expected = items.map((c) => fromControlPlane(c as Obj, scope)!).sort(byKey);
          expect(snapshot.objects).toEqual(expected);
          for (const o of expected)
            expect(find(snapshot, o.metadata!.namespace!, o.metadata!.name!)).toEqual(o);
        });
      }),
    );
  });

  it('keeps a snapshot for continue tokens five minutes, and at most sixteen', () => {
    let now = 0;
    const kept = snapshots(
      () => scope,
      () => now,
    );
    for (let rv = 1; rv <= 20; rv++) kept.keep('r', { resourceVersion: String(rv), objects: [] });
    expect(kept.at('r', '4')).toBeUndefined();
    expect(kept.at('r', '5')).toBeDefined();
    now += 5 * 60_000;
    expect(kept.at('r', '20')).toBeUndefined();
  });
});
