import { describe, expect, it } from '@jest/globals';
import { tokenBuckets } from './tokenbucket.ts';

describe('token buckets', () => {
  it('allows a burst per key, then one per refill interval, and says how long to wait', () => {
    let now = 0;
    const buckets = tokenBuckets(3, 1_000, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(1_000);
    expect(buckets.take('b')).toBe(0); // keys do not share
    now = 400;
    expect(buckets.take('a')).toBe(600);
    now = 1_000;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1_000);
    now = 100_000; // refilled to the capacity, not beyond
    expect([0, 1, 2, 3].map(() => buckets.take('a'))).toEqual([0, 0, 0, 1_000]);
  });
});
