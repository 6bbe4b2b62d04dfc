import { describe, expect, it } from '@jest/globals';
import { controlPlaneName, originLabels } from '../claims/identity.ts';
import { claimResource } from '../catalog/testdata.ts';
import type { CachedClaim } from './claimcache.ts';
import { decodeContinue } from './cachelist.ts';
import { answerFromCache, namespaceIsEmpty, type CacheState } from './local.ts';
import { snapshots } from './snapshots.ts';
import { claimRequest } from './testdata.ts';
import { toControlPlane } from './translate.ts';

const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
const resource = claimResource();
const stored = (name: string, namespace: string, labels: Record<string, string> = {}) =>
  toControlPlane(
    { apiVersion: 'platform.example.org/v1alpha1', kind: 'KubernetesCluster', metadata: { name, labels } },
    scope,
    { namespace, name },
  ) as CachedClaim;
const otherCluster = {
  ...stored('web', 'shop'),
  metadata: {
    name: controlPlaneName('web', 'shop', 'c2'),
    labels: originLabels({ clusterID: 'c2', namespace: 'shop', name: 'web' }),
  },
} as CachedClaim;
const view = {
  items: [stored('web', 'shop', { tier: 'gold' }), stored('db', 'shop'), stored('web', 'blog'), otherCluster],
  resourceVersion: '77',
  generation: 1,
};
const kept = snapshots(() => scope);
const cache: CacheState = {
  current: kept.of('r', view),
  at: (rv) => kept.at('r', rv),
  keep: (snapshot) => kept.keep('r', snapshot),
};
const request = claimRequest;
const names = (body: Record<string, unknown>) =>
  (body.items as { metadata: { namespace: string; name: string } }[]).map(
    (i) => `${i.metadata.namespace}/${i.metadata.name}`,
  );

describe('answers from the claim cache', () => {
  it('lists one namespace of this cluster under app names, with selectors and the cache resourceVersion', () => {
    const all = answerFromCache(request('list', 'shop'), new URLSearchParams(), undefined, cache, resource);
    expect(all?.code).toBe(200);
    expect(all?.body).toMatchObject({ kind: 'KubernetesClusterList', metadata: { resourceVersion: '77' } });
    expect(names(all!.body)).toEqual(['shop/db', 'shop/web']);
    const gold = answerFromCache(
      request('list'),
      new URLSearchParams({ labelSelector: 'tier=gold' }),
      undefined,
      cache,
      resource,
    );
    expect(names(gold!.body)).toEqual(['shop/web']);
    const byName = answerFromCache(
      request('list'),
      new URLSearchParams({ fieldSelector: 'metadata.name=web,metadata.namespace!=shop' }),
      undefined,
      cache,
      resource,
    );
    expect(names(byName!.body)).toEqual(['blog/web']);
  });

  it("gets one claim, or a NotFound Status; never another cluster's", () => {
    const got = answerFromCache(
      request('get', 'shop', 'db'),
      new URLSearchParams(),
      undefined,
      cache,
      resource,
    );
    expect(got?.body).toMatchObject({ metadata: { name: 'db', namespace: 'shop' } });
    const missing = answerFromCache(
      request('get', 'blog', 'db'),
      new URLSearchParams(),
      undefined,
      cache,
      resource,
    );
    expect(missing?.code).toBe(404);
    expect(missing?.body).toMatchObject({
      reason: 'NotFound',
      message: 'kubernetesclusters.platform.example.org "db" not found',
    });
  });

  it('declines what it cannot answer exactly: continue tokens, other field selectors, deleting existing claims', () => {
    const q = (params: Record<string, string>) => new URLSearchParams(params);
    expect(
      answerFromCache(request('list', 'shop'), q({ continue: 'x' }), undefined, cache, resource),
    ).toBeUndefined();
    expect(
      answerFromCache(request('list', 'shop'), q({ fieldSelector: 'spec.id=1' }), undefined, cache, resource),
    ).toBeUndefined();
    expect(
      answerFromCache(request('deletecollection', 'shop'), q({}), undefined, cache, resource),
    ).toBeUndefined();
    expect(
      answerFromCache(request('deletecollection', 'empty'), q({}), undefined, cache, resource)?.code,
    ).toBe(200);
    expect(
      answerFromCache(request('list', 'shop'), q({ labelSelector: 'a in b' }), undefined, cache, resource)
        ?.code,
    ).toBe(400);
  });

  it('pages from the snapshot a continue token names, even after the cache moved on, and 410 once it is gone', () => {
    let now = 0;
    const pages = snapshots(
      () => scope,
      () => now,
    );
    const state = (v: typeof view): CacheState => ({
      current: pages.of('r', v),
      at: (rv) => pages.at('r', rv),
      keep: (snapshot) => pages.keep('r', snapshot),
    });
    const first = answerFromCache(
      request('list'),
      new URLSearchParams({ limit: '2' }),
      undefined,
      state(view),
      resource,
    );
    expect(names(first!.body)).toEqual(['blog/web', 'shop/db']);
    const meta = first!.body.metadata as {
      continue: string;
      remainingItemCount: number;
      resourceVersion: string;
    };
    expect(meta).toMatchObject({ resourceVersion: '77', remainingItemCount: 1 });
    expect(decodeContinue(meta.continue)).toEqual({ resourceVersion: '77', after: 'shop/db' });
    // A claim added after the first page is not on the second: the list reads one state.
    const later = { items: [...view.items, stored('zz', 'shop')], resourceVersion: '80', generation: 2 };
    const next = () =>
      answerFromCache(
        request('list'),
        new URLSearchParams({ limit: '2', continue: meta.continue }),
        undefined,
        state(later),
        resource,
      );
    const second = next();
    expect(names(second!.body)).toEqual(['shop/web']);
    expect(second!.body.metadata).toEqual({ resourceVersion: '77' });
    now += 6 * 60_000;
    expect(next()).toMatchObject({ code: 410, body: { reason: 'Expired' } });
  });

  it('answers an exact resourceVersion only from the snapshot at it', () => {
    const exact = (rv: string) =>
      answerFromCache(
        request('list'),
        new URLSearchParams({ resourceVersion: rv, resourceVersionMatch: 'Exact' }),
        undefined,
        cache,
        resource,
      );
    expect(names(exact('77')!.body)).toHaveLength(3);
    expect(exact('76')).toBeUndefined();
  });

  it('knows which app namespaces hold no claims of this cluster', () => {
    expect(namespaceIsEmpty(view, scope, 'shop')).toBe(false);
    expect(namespaceIsEmpty(view, scope, 'empty')).toBe(true);
    expect(namespaceIsEmpty({ ...view, items: [otherCluster] }, scope, 'shop')).toBe(true);
  });
});
