import { describe, expect, it } from '@jest/globals';
import { count, durationMs } from './flags.ts';

describe('flags', () => {
  it('reads durations as kube components write them', () => {
    expect(durationMs('--d', '15s')).toBe(15_000);
    expect(durationMs('--d', '500ms')).toBe(500);
    expect(durationMs('--d', '1m')).toBe(60_000);
    expect(durationMs('--d', '2.5')).toBe(2_500);
  });

  it('refuses what is not a positive duration, naming the flag', () => {
    for (const bad of ['', '0s', '-1s', '10h', 's', '1 s', undefined])
      expect(() => durationMs('--leader-elect-renew-deadline', bad)).toThrow(
        /--leader-elect-renew-deadline must be a duration/,
      );
  });

  it('reads whole numbers of at least the minimum', () => {
    expect(count('--n', '3')).toBe(3);
    expect(count('--n', '0', 0)).toBe(0);
    expect(() => count('--n', '0')).toThrow('--n must be a whole number of at least 1, not "0"');
    expect(() => count('--n', '1.5')).toThrow(/whole number/);
  });
});
