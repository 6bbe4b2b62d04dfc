import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { freshnessOf, watchStartOf } from './freshness.ts';
import type { Verb } from './requestinfo.ts';
import { chooseBackend, type RuleInput } from './storage.ts';

const verbs: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

describe('the storage rule', () => {
  it('sends everything to the control plane while it answers, but empty-namespace collections', () => {
    for (const verb of verbs) {
      const collection = verb === 'list' || verb === 'deletecollection';
      expect(
        chooseBackend({ verb, namespace: 'shop', controlPlaneAvailable: true, namespaceEmptyInCache: true }),
      ).toBe(collection ? 'cache' : 'control-plane');
      expect(
        chooseBackend({ verb, namespace: 'shop', controlPlaneAvailable: true, namespaceEmptyInCache: false }),
      ).toBe('control-plane');
      // Across namespaces the cache would have to know every namespace: the control plane answers.
      expect(
        chooseBackend({
          verb,
          namespace: undefined,
          controlPlaneAvailable: true,
          namespaceEmptyInCache: true,
        }),
      ).toBe('control-plane');
    }
  });

  it('answers a consistent list of an empty namespace only once the cache is consistent (read your writes)', () => {
    const base = {
      namespace: 'shop',
      controlPlaneAvailable: true,
      namespaceEmptyInCache: true,
      cacheCanAnswer: true,
      freshness: { kind: 'consistent' as const },
    };
    expect(chooseBackend({ ...base, verb: 'list' })).toBe('cache-when-consistent');
    expect(chooseBackend({ ...base, verb: 'deletecollection' })).toBe('cache');
    expect(chooseBackend({ ...base, verb: 'list', freshness: { kind: 'any' } })).toBe('cache');
  });

  it('never sends a request to the control plane while it does not answer', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...verbs),
        fc.option(fc.string(), { nil: undefined }),
        fc.boolean(),
        (verb, namespace, empty) => {
          expect(
            chooseBackend({ verb, namespace, controlPlaneAvailable: false, namespaceEmptyInCache: empty }),
          ).toBe('unavailable');
        },
      ),
    );
  });
});

describe('the storage rule for reads the cache can answer', () => {
  const read = (
    verb: 'get' | 'list' | 'watch',
    params: Record<string, string>,
    extra: Partial<RuleInput> = {},
  ) =>
    chooseBackend({
      verb,
      namespace: 'shop',
      controlPlaneAvailable: true,
      namespaceEmptyInCache: false,
      cacheCanAnswer: true,
      freshness:
        verb === 'watch'
          ? watchStartOf(new URLSearchParams(params))!.freshness
          : freshnessOf(verb, new URLSearchParams(params)),
      cacheResourceVersion: 100n,
      ...extra,
    });

  it('answers as kube-apiserver answers from its watch cache', () => {
    expect(read('list', { resourceVersion: '0' })).toBe('cache');
    expect(read('get', { resourceVersion: '0' })).toBe('cache');
    expect(read('list', { resourceVersion: '100' })).toBe('cache');
    expect(read('list', { resourceVersion: '101' })).toBe('cache-when-reached');
    expect(read('watch', { resourceVersion: '100' })).toBe('cache');
    expect(read('watch', { resourceVersion: '101' })).toBe('cache-unless-future');
    expect(read('watch', {})).toBe('cache-when-consistent');
    expect(read('get', { resourceVersion: '99' })).toBe('cache');
    expect(read('list', { resourceVersion: '100', resourceVersionMatch: 'Exact' })).toBe('control-plane');
    expect(read('list', { resourceVersion: '100', limit: '5' }, { snapshotAtExact: true })).toBe('cache');
    expect(read('list', {})).toBe('cache-when-consistent');
    expect(read('list', { continue: 'token' })).toBe('cache');
    // kube-apiserver reads consistent gets from etcd; asking where the control plane stands costs as much.
    expect(read('get', {})).toBe('control-plane');
    expect(read('list', { resourceVersionMatch: 'Exact' })).toBe('control-plane');
  });

  it('sends a watch that resumes from before what the cache holds to the control plane, whose window is longer', () => {
    const since = (rv: string) => read('watch', { resourceVersion: rv }, { cacheHistoryFrom: 50n });
    expect(since('49')).toBe('control-plane'); // a replica started after the client's last event
    expect(since('50')).toBe('cache');
    expect(since('100')).toBe('cache');
    // Lists and gets read state, not history: the cache answers them whatever it replays.
    expect(read('list', { resourceVersion: '10' }, { cacheHistoryFrom: 50n })).toBe('cache');
  });

  it('never answers from a cache that cannot represent the answer, nor writes or watches', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...verbs),
        fc.constantFrom<Record<string, string>[]>(
          {},
          { resourceVersion: '0' },
          { resourceVersion: '5' },
          { continue: 'x' },
        ),
        fc.boolean(),
        (verb, params, canAnswer) => {
          const backend = chooseBackend({
            verb,
            namespace: 'shop',
            controlPlaneAvailable: true,
            namespaceEmptyInCache: false,
            cacheCanAnswer: canAnswer,
            freshness:
              verb === 'get' || verb === 'list' ? freshnessOf(verb, new URLSearchParams(params)) : undefined,
            cacheResourceVersion: 10n,
          });
          if (!canAnswer || (verb !== 'get' && verb !== 'list')) expect(backend).toBe('control-plane');
        },
      ),
    );
  });
});
