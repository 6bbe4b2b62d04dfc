import { describe, expect, it } from '@jest/globals';
import { memoryCosts, proxyMemoryTable, type BenchResult } from './report.ts';
import type { WatchLoadResult } from './watchload.ts';

const MiB = 2 ** 20;
const usage = (maxRss: number, endRss = maxRss) => ({ cpuMs: 0, maxRss, endRss, ms: 1000 });
const load = (
  watches: number,
  beforeRss: number,
  openRss: number,
  peak: number,
  proxy: string,
): WatchLoadResult => ({
  watchesRequested: watches,
  watches,
  requests: 10,
  eventsExpected: 0,
  eventsDelivered: 0,
  seconds: 1,
  usage: { [proxy]: usage(peak) },
  beforeRss: { [proxy]: beforeRss },
  openRss: { [proxy]: openRss },
});

describe('memory costs', () => {
  it('separates what open watches hold from the peak under writes, over the RSS before they opened', () => {
    const result = {
      footprint: {
        idle: { 'connector-proxy': 100 * MiB },
        rest: { 'connector-proxy': usage(160 * MiB, 150 * MiB), 'passthrough-proxy': usage(120 * MiB) },
        cachedClaims: 10_000,
        load: {
          connector: load(200, 160 * MiB, 180 * MiB, 260 * MiB, 'connector-proxy'),
          passthrough: load(100, 120 * MiB, 130 * MiB, 140 * MiB, 'passthrough-proxy'),
        },
      },
    } as unknown as BenchResult;
    expect(memoryCosts(result)).toEqual({
      perThousandClaims: 5 * MiB,
      openWatch: (20 * MiB) / 200,
      perWatch: (100 * MiB) / 200,
      passthroughOpenWatch: (10 * MiB) / 100,
      passthroughPerWatch: (20 * MiB) / 100,
    });
  });

  it('says nothing where a reading is missing', () => {
    const result = {
      footprint: { idle: {}, rest: {}, load: { connector: { ...load(0, 1, 1, 1, 'connector-proxy') } } },
    } as unknown as BenchResult;
    expect(memoryCosts(result)).toEqual({
      perThousandClaims: undefined,
      perWatch: undefined,
      passthroughPerWatch: undefined,
      openWatch: undefined,
      passthroughOpenWatch: undefined,
    });
  });
});

describe('proxy memory table', () => {
  it('shows RSS beside the V8 heap and external memory, and what neither accounts for', () => {
    const lines = proxyMemoryTable({
      idle: { rss: 100 * MiB, heapTotal: 40 * MiB, heapUsed: 30 * MiB, external: 10 * MiB },
    });
    expect(lines.at(-1)).toContain('| idle | 100 MiB | 40 MiB | 30 MiB | 10 MiB | 50 MiB |');
    expect(proxyMemoryTable(undefined)).toEqual([]);
    expect(proxyMemoryTable({})).toEqual([]);
  });
});
