import { describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../claims/identity.ts';
import { candidates, locateInCache, locateLive } from './locate.ts';
import { toControlPlane, type Obj } from './translate.ts';

const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
const origin = { namespace: 'shop', name: 'db' };
const stored = (o: typeof origin, scheme: 'v1' | 'v2', uid: string): Obj => {
  const obj = toControlPlane({ metadata: {} }, scope, o, scheme);
  obj.metadata!.uid = uid;
  return obj;
};

describe('locating a stored claim', () => {
  it('tries the v2 name, then the v1 name', () => {
    expect(candidates(origin, scope)).toEqual([
      { name: controlPlaneName('db', 'shop', 'c1'), scheme: 'v2' },
      { name: controlPlaneName('db', 'shop', 'c1', 'v1'), scheme: 'v1' },
    ]);
  });

  it('finds a claim under either name only when its origin is this claim', async () => {
    const v1 = stored(origin, 'v1', 'uid-1');
    const byName = (objects: Obj[]) => (name: string) =>
      Promise.resolve(objects.find((o) => o.metadata?.name === name));
    expect(await locateLive(byName([v1]), origin, scope)).toMatchObject({
      kind: 'found',
      scheme: 'v1',
      uid: 'uid-1',
      live: true,
    });
    const v2 = stored(origin, 'v2', 'uid-2');
    expect(await locateLive(byName([v1, v2]), origin, scope)).toMatchObject({
      kind: 'found',
      scheme: 'v2',
      uid: 'uid-2',
    });
    expect(await locateLive(byName([]), origin, scope)).toEqual({
      kind: 'free',
      name: candidates(origin, scope)[0]!.name,
    });
  });

  it('reports a v2 name held by an object of another origin as taken, and ignores strangers at the v1 name', async () => {
    const stranger = {
      ...stored({ namespace: 'other', name: 'x' }, 'v2', 'u'),
      metadata: {
        ...stored({ namespace: 'other', name: 'x' }, 'v2', 'u').metadata,
        name: candidates(origin, scope)[0]!.name,
      },
    };
    const at = (name: string, obj: Obj) => (n: string) => Promise.resolve(n === name ? obj : undefined);
    expect(await locateLive(at(candidates(origin, scope)[0]!.name, stranger), origin, scope)).toMatchObject({
      kind: 'taken',
    });
    const strangerV1 = {
      ...stranger,
      metadata: { ...stranger.metadata, name: candidates(origin, scope)[1]!.name },
    };
    expect(await locateLive(at(candidates(origin, scope)[1]!.name, strangerV1), origin, scope)).toMatchObject(
      { kind: 'free' },
    );
  });

  it('takes from the cache only what it knows: a found claim, never a free name', () => {
    const v2 = stored(origin, 'v2', 'uid-2');
    expect(
      locateInCache((n) => (n === v2.metadata?.name ? (v2 as never) : undefined), origin, scope),
    ).toMatchObject({
      kind: 'found',
      live: false,
      uid: 'uid-2',
    });
    expect(locateInCache(() => undefined, origin, scope)).toBeUndefined();
  });
});
