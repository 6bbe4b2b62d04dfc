// `make bench` in miniature on the shared clusters: the whole harness runs with tiny counts, and its result must
// have measured every operation on all three paths, computed the ratios, and kept every number finite and
// positive; the operator must rest at rest; and nothing of the benchmark may be left for the other tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { smokeConfig } from '../bench/config.ts';
import { pathNames } from '../bench/paths.ts';
import type { BenchResult } from '../bench/report.ts';
import { runBench, type RunResult } from '../bench/run.ts';
import { passthroughGroup, sharedBenchEnvironment } from '../bench/setup.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { sharedCluster } from './harness/shared.ts';

const positive = (n: number | undefined) => {
  expect(n).toBeDefined();
  expect(Number.isFinite(n)).toBe(true);
  expect(n).toBeGreaterThan(0);
};

describe('benchmark smoke run', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctp-bench-'));
  let run: RunResult;
  let result: BenchResult;

  beforeAll(async () => {
    run = await runBench(smokeConfig(), { env: await sharedBenchEnvironment(), outDir: out, log: () => {} });
    result = run.result;
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes the result as JSON, Markdown and an SVG chart', () => {
    expect(JSON.parse(readFileSync(run.files.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(result)));
    const md = readFileSync(run.files.markdown, 'utf8');
    expect(md).toContain(
      '| operation | direct p50 / p99 ms | passthrough p50 / p99 ms | connector p50 / p99 ms |',
    );
    expect(md).toContain('## Convergence');
    expect(md).toContain('## Profile');
    const svg = readFileSync(run.files.chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    // One box per operation and path.
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="10"/g)).toHaveLength(
      result.overhead.operations.length * 3,
    );
  });

  it('measures every operation on all three paths without a failed request', () => {
    const ops = result.overhead.operations;
    expect(ops).toEqual([
      'get',
      'list-3',
      'list-10',
      'list-25',
      'create',
      'update',
      'patch-merge',
      'patch-apply',
      'delete',
      'watch-event',
    ]);
    for (const op of ops) {
      for (const path of pathNames) {
        const s = result.overhead.summary.find((x) => x.op === op && x.path === path);
        expect(s).toBeDefined();
        expect({ op, path, errors: s!.errors }).toEqual({ op, path, errors: 0 });
        positive(s!.p50.median);
        positive(s!.throughput.median);
        expect(s!.p99.median).toBeGreaterThanOrEqual(s!.p50.median);
      }
    }
  });

  it('computes the connector’s ratios to both baselines for every operation', () => {
    expect(result.overhead.ratios.map((r) => r.op)).toEqual(result.overhead.operations);
    for (const r of result.overhead.ratios) {
      for (const value of [...Object.values(r.vsPassthrough), ...Object.values(r.vsDirect)]) positive(value);
      expect(Object.keys(r.vsPassthrough).sort()).toEqual(['p50', 'p99', 'throughput']);
    }
  });

  it('times convergence, and finds the operator idle at rest', () => {
    const c = result.convergence;
    positive(c.connection.appliedMs.median);
    expect(c.connection.readyMs.median).toBeGreaterThanOrEqual(c.connection.appliedMs.median);
    positive(c.newAPI.availableMs.median);
    positive(c.newAPI.removedMs.median);
    positive(c.deleteMs.median);
    expect(c.many.count).toBe(smokeConfig().convergence.connections);
    positive(c.many.readyMs.max);
    expect(Object.keys(c.rest.counts).sort()).toEqual(['bench', 'bench-scale-0', 'bench-scale-1']);
    expect(c.rest.max).toBeLessThanOrEqual(1);
  });

  it('reports the footprint of the operator and both proxies, and every watch event delivered under load', () => {
    for (const name of ['operator', 'connector-proxy', 'passthrough-proxy']) {
      positive(result.footprint.idle[name]);
      positive(result.footprint.rest[name]?.maxRss);
    }
    for (const path of ['connector', 'passthrough'] as const) {
      const load = result.footprint.load[path]!;
      expect(load.eventsDelivered).toBe(load.eventsExpected);
      positive(load.usage[`${path}-proxy`]?.maxRss);
    }
  });

  it('accounts for the reads the cache answered, and shows watches through the connector sharing its upstream watch', () => {
    const reads = result.overhead.reads!;
    expect(reads.fromCache + reads.forwarded).toBeGreaterThan(0);
    expect(readFileSync(run.files.markdown, 'utf8')).toContain('### Reads from the cache');
    // The pass-through proxy opens one control-plane watch per client watch; the connector's cache one in all.
    const passthrough = result.footprint.load.passthrough!;
    const connector = result.footprint.load.connector!;
    const opened = (l: typeof connector) => l.upstreamWatches!.during - l.upstreamWatches!.before;
    expect(opened(passthrough)).toBeGreaterThanOrEqual(passthrough.watches);
    expect(opened(connector)).toBeLessThan(connector.watches);
  });

  it("summarizes the connector proxy's CPU profile", () => {
    const p = result.profile!;
    positive(p.requests);
    positive(p.summary.busyMs);
    expect(p.summary.self.length).toBeGreaterThan(0);
    expect(p.summary.inclusive.some((s) => s.name.includes('operator/src/proxy/'))).toBe(true);
  });

  it('leaves no connection, APIService or CRD of the benchmark behind', async () => {
    const app = sharedCluster('app');
    const cp = sharedCluster('control-plane');
    expect(await kubectlOk(app, ['get', 'ctpc', '-o', 'name'])).not.toMatch(/bench/);
    expect(await kubectlOk(app, ['get', 'apiservices', '-o', 'name'])).not.toContain(passthroughGroup);
    expect(await kubectlOk(cp, ['get', 'crd', '-o', 'name'])).not.toContain(passthroughGroup);
  });
});
