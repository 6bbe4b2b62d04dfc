import { describe, expect, it } from '@jest/globals';
import { newHistogram, summarize } from './load.ts';
import type { OpRun } from './overhead.ts';
import type { PathName } from './paths.ts';
import { ratios, summarizeRuns } from './summary.ts';

/** A run whose requests took `ms` milliseconds each, `count` of them in `seconds`. */
function run(
  path: PathName,
  rep: number,
  ms: number[],
  seconds: number,
  cpuMs: Record<string, number>,
): OpRun {
  const h = newHistogram();
  for (const m of ms) h.recordValue(m * 1000);
  return {
    rep,
    path,
    op: 'get',
    measurement: summarize(h, { count: ms.length, concurrency: 1, errors: 0, seconds }),
    cpuMs,
  };
}

const ten = (ms: number) => Array.from({ length: 10 }, () => ms);

describe('summary of the request-overhead runs', () => {
  const runs = [
    run('direct', 0, ten(2), 0.02, { 'cp-apiserver': 10 }),
    run('direct', 1, ten(4), 0.04, { 'cp-apiserver': 30 }),
    run('passthrough', 0, ten(5), 0.05, { 'passthrough-proxy': 5 }),
    run('passthrough', 1, ten(5), 0.05, { 'passthrough-proxy': 5 }),
    run('connector', 0, ten(10), 0.1, { 'connector-proxy': 20 }),
    run('connector', 1, ten(10), 0.1, { 'connector-proxy': 40 }),
  ];
  const summary = summarizeRuns(runs, ['get', 'absent']);

  it('takes medians over repetitions, with their spread, per path', () => {
    expect(summary.map((s) => s.path)).toEqual(['direct', 'passthrough', 'connector']);
    const direct = summary[0]!;
    // HDR histograms keep 3 significant digits.
    expect(direct.p50.median).toBeCloseTo(3, 2);
    expect(direct.p50.min).toBeCloseTo(2, 2);
    expect(direct.p50.max).toBeCloseTo(4, 2);
    expect(direct.p50.n).toBe(2);
    expect(direct.throughput.median).toBeCloseTo(375, 5); // 500 and 250 requests per second
    expect(direct.count).toBe(10);
    expect(direct.errors).toBe(0);
  });

  it('charges CPU per 1 000 requests to the processes measured', () => {
    expect(summary[0]!.cpuPer1000['cp-apiserver']).toEqual({ median: 2000, min: 1000, max: 3000, n: 2 });
    expect(summary[2]!.cpuPer1000['connector-proxy']!.median).toBe(3000);
  });

  it('keeps the distribution of every repetition together', () => {
    const d = summary[0]!.distribution;
    expect(d.p25).toBeCloseTo(2, 2);
    expect(d.p75).toBeCloseTo(4, 2);
  });

  it('gives the connector its ratios to the pass-through floor and to the direct path', () => {
    const [get, absent] = ratios(summary, ['get', 'absent']);
    expect(get!.vsPassthrough.p50).toBeCloseTo(2, 2);
    expect(get!.vsDirect.p50).toBeCloseTo(10 / 3, 2);
    expect(get!.vsPassthrough.throughput).toBeCloseTo(0.5, 5);
    expect(absent).toEqual({ op: 'absent', vsPassthrough: {}, vsDirect: {} });
  });
});
