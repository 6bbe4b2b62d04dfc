import { describe, expect, it } from '@jest/globals';
import { median, percentile, ratio, spread } from './stats.ts';

describe('statistics over repetitions', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of no values');
  });

  it('reports the spread as median with the smallest and largest value', () => {
    expect(spread([12, 10, 30])).toEqual({ median: 12, min: 10, max: 30, n: 3 });
  });

  it('leaves a ratio over zero undefined instead of infinite', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeUndefined();
  });

  it('uses nearest-rank percentiles for small samples', () => {
    const values = Array.from({ length: 50 }, (_, i) => 50 - i);
    expect(percentile(values, 50)).toBe(25);
    expect(percentile(values, 90)).toBe(45);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile([7], 1)).toBe(7);
  });
});
