import { describe, expect, it } from '@jest/globals';
import { configFromArgs, deviations, fullConfig } from './config.ts';

describe('benchmark parameters', () => {
  it('runs the full parameters without flags, and says so', () => {
    const { config, out } = configFromArgs([]);
    expect(config).toEqual(fullConfig());
    expect(out).toBeUndefined();
    expect(deviations(config)).toEqual([]);
  });

  it("scales the largest list down, keeping the smaller lists and the largest list's count and concurrency", () => {
    const { config } = configFromArgs(['--claims', '2000', '--reps=2']);
    expect(config.overhead.listSizes).toEqual([10, 1_000, 2_000]);
    expect(config.overhead.counts.list).toEqual([200, 40, 6]);
    expect(config.overhead.concurrency.list).toEqual([8, 4, 1]);
    expect(deviations(config)).toEqual([
      '2 repetitions instead of 3',
      'lists of 10, 1000, 2000 claims instead of 10, 1000, 10000',
    ]);
    const small = configFromArgs(['--claims', '500']).config;
    expect(small.overhead.listSizes).toEqual([10, 500]);
    expect(small.overhead.counts.list).toEqual([200, 6]);
  });

  it('reports every other scaling flag as a deviation', () => {
    const { config } = configFromArgs([
      '--connections=10',
      '--watches=20',
      '--rest-seconds=60',
      '--no-profile',
      '--out=/tmp/x',
    ]);
    expect(deviations(config)).toEqual([
      '10 connections at once instead of 50',
      'an at-rest window of 60 s instead of 300 s',
      '20 concurrent watches instead of 200',
      'no profile',
    ]);
  });

  it('refuses counts that are not positive integers', () => {
    expect(() => configFromArgs(['--reps', '0'])).toThrow('--reps must be a positive integer');
    expect(() => configFromArgs(['--claims', '1e3x'])).toThrow('--claims must be a positive integer');
  });

  it('has a smoke mode that marks itself', () => {
    const { config } = configFromArgs(['--smoke']);
    expect(config.mode).toBe('smoke');
    expect(Math.max(...config.overhead.listSizes)).toBeLessThan(100);
    expect(deviations(config)).toEqual(['smoke mode: tiny counts everywhere']);
  });
});
