import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { cacheReads, openWatches } from './cache.ts';

const exposition = (reads: { cache: number; cp: number }, wait: { count: number; sum: number }) =>
  [
    '# TYPE ctp_connector_proxy_reads_total counter',
    `ctp_connector_proxy_reads_total{verb="list",resource="kubernetesclusters",source="cache"} ${reads.cache}`,
    `ctp_connector_proxy_reads_total{verb="get",resource="kubernetesclusters",source="cache"} 1`,
    `ctp_connector_proxy_reads_total{verb="list",resource="kubernetesclusters",source="control-plane"} ${reads.cp}`,
    `ctp_connector_proxy_consistent_read_wait_seconds_bucket{le="0.001",outcome="fresh"} 0`,
    `ctp_connector_proxy_consistent_read_wait_seconds_sum{outcome="fresh"} ${wait.sum}`,
    `ctp_connector_proxy_consistent_read_wait_seconds_count{outcome="fresh"} ${wait.count}`,
    `ctp_connector_proxy_consistent_read_wait_seconds_sum{outcome="timeout"} 0.5`,
    `ctp_connector_proxy_consistent_read_wait_seconds_count{outcome="timeout"} 2`,
  ].join('\n');

describe('cache reads between two scrapes', () => {
  it('counts the reads each source answered in between, summed over verbs, and the mean consistent wait', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.nat(1000),
        fc.nat(1000),
        fc.nat(1000),
        fc.integer({ min: 1, max: 500 }),
        (c0, dc, p0, dp, n) => {
          const before = exposition({ cache: c0, cp: p0 }, { count: 0, sum: 0 });
          const after = exposition({ cache: c0 + dc, cp: p0 + dp }, { count: n, sum: n * 0.004 });
          const reads = cacheReads(before, after);
          expect(reads.fromCache).toBe(dc);
          expect(reads.forwarded).toBe(dp);
          expect(reads.consistent.fresh.count).toBe(n);
          expect(reads.consistent.fresh.meanWaitMs).toBeCloseTo(4, 6);
          expect(reads.consistent.timeout).toEqual({ count: 0, meanWaitMs: 0 });
          expect(reads.consistent.behind).toEqual({ count: 0, meanWaitMs: 0 });
        },
      ),
    );
  });
});

describe('open watches of a kube-apiserver', () => {
  it("sums the resource's WATCH requests over scopes and leaves other groups and verbs out", () => {
    const text = [
      'apiserver_longrunning_requests{component="apiserver",group="platform.example.org",resource="kubernetesclusters",scope="namespace",subresource="",verb="WATCH"} 3',
      'apiserver_longrunning_requests{component="apiserver",group="platform.example.org",resource="kubernetesclusters",scope="cluster",subresource="",verb="WATCH"} 1',
      'apiserver_longrunning_requests{component="apiserver",group="bench.example.org",resource="kubernetesclusters",scope="namespace",subresource="",verb="WATCH"} 200',
      'apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="log",verb="GET"} 7',
    ].join('\n');
    expect(openWatches(text, 'platform.example.org', 'kubernetesclusters')).toBe(4);
    expect(openWatches(text, 'bench.example.org', 'kubernetesclusters')).toBe(200);
    expect(openWatches(text, 'example.org', 'pods')).toBe(0);
  });
});
