// From raw runs to the numbers the report shows: per operation and path, the median over repetitions of p50, p99
// and throughput (with their spread), CPU per 1 000 requests, and the connector's ratios to the two baselines.
// Pure.
import { mergeHistograms } from './load.ts';
import type { OpRun } from './overhead.ts';
import { pathNames, type PathName } from './paths.ts';
import { ratio, spread, type Spread } from './stats.ts';

export interface OpSummary {
  op: string;
  path: PathName;
  p50: Spread;
  p99: Spread;
  throughput: Spread;
  /** Requests measured in every repetition, and the failures among all of them. */
  count: number;
  errors: number;
  /** CPU milliseconds per 1 000 requests of each process charged (median over repetitions). */
  cpuPer1000: Record<string, Spread>;
  /** Percentiles of all repetitions' samples together, in milliseconds (for the chart). */
  distribution: Record<'p1' | 'p25' | 'p50' | 'p75' | 'p99', number>;
}

export interface Ratios {
  op: string;
  /** connector / passthrough and connector / direct: latency above 1 and throughput below 1 mean slower. */
  vsPassthrough: { p50?: number; p99?: number; throughput?: number };
  vsDirect: { p50?: number; p99?: number; throughput?: number };
}

export function summarizeRuns(runs: readonly OpRun[], operations: readonly string[]): OpSummary[] {
  const out: OpSummary[] = [];
  for (const op of operations) {
    for (const path of pathNames) {
      const mine = runs.filter((r) => r.op === op && r.path === path);
      if (mine.length === 0) continue;
      const count = mine[0]!.measurement.count;
      const processes = [...new Set(mine.flatMap((r) => Object.keys(r.cpuMs)))];
      const merged = mergeHistograms(mine.map((r) => r.measurement.histogram));
      const at = (p: number) => merged.getValueAtPercentile(p) / 1000;
      out.push({
        op,
        path,
        p50: spread(mine.map((r) => r.measurement.p50)),
        p99: spread(mine.map((r) => r.measurement.p99)),
        throughput: spread(mine.map((r) => r.measurement.throughput)),
        count,
        errors: mine.reduce((n, r) => n + r.measurement.errors, 0),
        cpuPer1000: Object.fromEntries(
          processes.map((p) => [p, spread(mine.map((r) => ((r.cpuMs[p] ?? 0) / count) * 1000))]),
        ),
        distribution: { p1: at(1), p25: at(25), p50: at(50), p75: at(75), p99: at(99) },
      });
    }
  }
  return out;
}

export function ratios(summary: readonly OpSummary[], operations: readonly string[]): Ratios[] {
  return operations.map((op) => {
    const of = (path: PathName) => summary.find((s) => s.op === op && s.path === path);
    const c = of('connector');
    const against = (base: OpSummary | undefined) =>
      c && base
        ? {
            p50: ratio(c.p50.median, base.p50.median),
            p99: ratio(c.p99.median, base.p99.median),
            throughput: ratio(c.throughput.median, base.throughput.median),
          }
        : {};
    return { op, vsPassthrough: against(of('passthrough')), vsDirect: against(of('direct')) };
  });
}
