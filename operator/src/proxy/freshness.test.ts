import { describe, expect, it } from '@jest/globals';
import { freshnessOf, pageLimit, parseResourceVersion } from './freshness.ts';

const q = (params: Record<string, string>) => new URLSearchParams(params);

describe("a read's freshness, by kube-apiserver's rules", () => {
  it('reads lists as the cacher delegator does', () => {
    expect(freshnessOf('list', q({}))).toEqual({ kind: 'consistent' });
    expect(freshnessOf('list', q({ limit: '10' }))).toEqual({ kind: 'consistent' });
    expect(freshnessOf('list', q({ resourceVersion: '0' }))).toEqual({ kind: 'any' });
    expect(freshnessOf('list', q({ resourceVersion: '0', limit: '5' }))).toEqual({ kind: 'any' });
    expect(freshnessOf('list', q({ resourceVersion: '7' }))).toEqual({
      kind: 'notOlderThan',
      resourceVersion: 7n,
    });
    // The legacy rule: a paginated list at a resourceVersion reads exactly that one.
    expect(freshnessOf('list', q({ resourceVersion: '7', limit: '5' }))).toEqual({
      kind: 'exact',
      resourceVersion: 7n,
    });
    expect(
      freshnessOf('list', q({ resourceVersion: '7', resourceVersionMatch: 'NotOlderThan', limit: '5' })),
    ).toEqual({
      kind: 'notOlderThan',
      resourceVersion: 7n,
    });
    expect(freshnessOf('list', q({ resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' }))).toEqual({
      kind: 'any',
    });
    expect(freshnessOf('list', q({ resourceVersion: '7', resourceVersionMatch: 'Exact' }))).toEqual({
      kind: 'exact',
      resourceVersion: 7n,
    });
    expect(freshnessOf('list', q({ continue: 'abc' }))).toEqual({ kind: 'continue', token: 'abc' });
    expect(freshnessOf('list', q({ continue: 'abc', resourceVersion: '0' }))).toEqual({
      kind: 'continue',
      token: 'abc',
    });
  });

  it('leaves what kube-apiserver refuses to the control plane', () => {
    const refused: Record<string, string>[] = [
      { resourceVersionMatch: 'NotOlderThan' },
      { resourceVersion: '0', resourceVersionMatch: 'Exact' },
      { resourceVersion: '7', resourceVersionMatch: 'Newest' },
      { resourceVersion: 'abc' },
      { resourceVersion: '-1' },
      { resourceVersion: '99999999999999999999999' },
      { continue: 'abc', resourceVersion: '7' },
      { continue: 'abc', resourceVersionMatch: 'NotOlderThan' },
    ];
    for (const params of refused) expect(freshnessOf('list', q(params))).toEqual({ kind: 'invalid' });
  });

  it('reads gets: none is consistent, 0 is any, a version is a lower bound', () => {
    expect(freshnessOf('get', q({}))).toEqual({ kind: 'consistent' });
    expect(freshnessOf('get', q({ resourceVersion: '0' }))).toEqual({ kind: 'any' });
    expect(freshnessOf('get', q({ resourceVersion: '12' }))).toEqual({
      kind: 'notOlderThan',
      resourceVersion: 12n,
    });
    expect(freshnessOf('get', q({ resourceVersion: 'x' }))).toEqual({ kind: 'invalid' });
  });

  it('ignores the limit for resourceVersion 0, as the watch cache answers those whole', () => {
    expect(pageLimit(q({ limit: '5' }))).toBe(5);
    expect(pageLimit(q({ limit: '5', resourceVersion: '0' }))).toBe(0);
    expect(pageLimit(q({ limit: 'x' }))).toBe(0);
    expect(parseResourceVersion('18446744073709551615')).toBe(18446744073709551615n);
    expect(parseResourceVersion('18446744073709551616')).toBeUndefined();
  });
});
