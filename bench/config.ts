// The pinned parameters of a benchmark run. `full` is what `make bench` measures; `smoke` is the same harness
// with tiny counts, run by `make test` to prove it works end to end. Flags may scale a full run down (or up); the
// report prints every parameter, so a scaled run never passes for a full one.
import { parseArgs } from 'node:util';
import type { OverheadSettings } from './overhead.ts';
import type { WatchLoadSettings } from './watchload.ts';

export interface BenchConfig {
  mode: 'full' | 'smoke';
  /** Repetitions of the request-overhead chain per path (medians and spread are over these). */
  reps: number;
  overhead: OverheadSettings;
  /** Claims created at once while seeding. */
  seedConcurrency: number;
  convergence: {
    /** Repetitions of connection apply → Ready and new XRD → APIService Available. */
    reps: number;
    /** Connections applied at once (each to its own target namespace). */
    connections: number;
    /** Window over which reconciles of connections nothing changes are counted. */
    restSeconds: number;
  };
  load: WatchLoadSettings;
  /** Profile the connector's proxy (node --cpu-prof) during one more repetition of its chain. */
  profile: boolean;
}

export function fullConfig(): BenchConfig {
  return {
    mode: 'full',
    reps: 3,
    overhead: {
      listSizes: [10, 1_000, 10_000],
      pageSize: 500,
      counts: { get: 400, list: [200, 40, 6], write: 300, watch: 100 },
      concurrency: { get: 8, list: [8, 4, 1], write: 8, watch: 4 },
      warmupFraction: 0.1,
    },
    seedConcurrency: 48,
    convergence: { reps: 3, connections: 50, restSeconds: 300 },
    load: { watches: 200, churn: 200, concurrency: 8 },
    profile: true,
  };
}

export function smokeConfig(): BenchConfig {
  return {
    mode: 'smoke',
    reps: 1,
    overhead: {
      listSizes: [3, 10, 25],
      pageSize: 10,
      counts: { get: 10, list: [5, 3, 2], write: 6, watch: 4 },
      concurrency: { get: 4, list: [2, 2, 1], write: 3, watch: 2 },
      warmupFraction: 0.1,
    },
    seedConcurrency: 8,
    convergence: { reps: 1, connections: 2, restSeconds: 3 },
    load: { watches: 5, churn: 4, concurrency: 2 },
    profile: true,
  };
}

export const usage = `usage: node bench/run.ts [flags]

  --smoke                 tiny counts (what make test runs)
  --reps N                repetitions of the request chain per path (full: 3)
  --claims N              largest list size (full: 10000); smaller lists stay 10 and 1000 when below it
  --connections N         connections converging at once (full: 50)
  --watches N             concurrent watches under load (full: 200)
  --rest-seconds N        at-rest window for reconcile counts (full: 300)
  --no-profile            skip the profiled repetition
  --out DIR               where results go (default bench/results)
`;

export interface RunOptions {
  config: BenchConfig;
  out: string | undefined;
}

/** The configuration a command line asks for. Pure. */
export function configFromArgs(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      reps: { type: 'string' },
      claims: { type: 'string' },
      connections: { type: 'string' },
      watches: { type: 'string' },
      'rest-seconds': { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const config = values.smoke ? smokeConfig() : fullConfig();
  const positive = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--${flag} must be a positive integer, not "${value}"`);
    return n;
  };
  const reps = positive('reps', values.reps);
  if (reps) config.reps = reps;
  const claims = positive('claims', values.claims);
  if (claims) {
    const sizes = config.overhead.listSizes;
    config.overhead.listSizes = [...sizes.slice(0, -1).filter((s) => s < claims), claims];
    // Counts and concurrency stay with their positions: the largest list keeps the largest list's.
    const keep = (xs: number[]) => [...xs.slice(0, config.overhead.listSizes.length - 1), xs.at(-1)!];
    config.overhead.counts.list = keep(config.overhead.counts.list);
    config.overhead.concurrency.list = keep(config.overhead.concurrency.list);
  }
  const connections = positive('connections', values.connections);
  if (connections) config.convergence.connections = connections;
  const watches = positive('watches', values.watches);
  if (watches) config.load.watches = watches;
  const rest = positive('rest-seconds', values['rest-seconds']);
  if (rest) config.convergence.restSeconds = rest;
  if (values['no-profile']) config.profile = false;
  return { config, out: values.out };
}

/** What differs from the full parameters, in words. Pure. */
export function deviations(config: BenchConfig): string[] {
  const full = fullConfig();
  const out: string[] = [];
  if (config.mode === 'smoke') return ['smoke mode: tiny counts everywhere'];
  if (config.reps !== full.reps) out.push(`${config.reps} repetitions instead of ${full.reps}`);
  const sizes = config.overhead.listSizes.join(', ');
  if (sizes !== full.overhead.listSizes.join(', '))
    out.push(`lists of ${sizes} claims instead of ${full.overhead.listSizes.join(', ')}`);
  if (config.convergence.connections !== full.convergence.connections)
    out.push(
      `${config.convergence.connections} connections at once instead of ${full.convergence.connections}`,
    );
  if (config.convergence.restSeconds !== full.convergence.restSeconds)
    out.push(
      `an at-rest window of ${config.convergence.restSeconds} s instead of ${full.convergence.restSeconds} s`,
    );
  if (config.load.watches !== full.load.watches)
    out.push(`${config.load.watches} concurrent watches instead of ${full.load.watches}`);
  if (!config.profile) out.push('no profile');
  return out;
}
