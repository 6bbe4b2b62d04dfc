// What the connector proxy's claim cache did during the benchmark, from the proxy's own metrics and the control
// plane's: reads answered from the cache vs forwarded, the waits of consistent reads, and how many watches the
// control plane had to serve for the watches opened through a path (one shared upstream watch, or one each).
import { metricSum } from '../e2e/harness/metrics.ts';

export type ConsistentOutcome = 'fresh' | 'timeout' | 'behind';
const outcomes: ConsistentOutcome[] = ['fresh', 'timeout', 'behind'];

export interface CacheReads {
  /** Gets and lists by who answered them. */
  fromCache: number;
  forwarded: number;
  /** Consistent reads by outcome: how many, and their mean wait in milliseconds. */
  consistent: Record<ConsistentOutcome, { count: number; meanWaitMs: number }>;
}

const readsMetric = 'ctp_connector_proxy_reads_total';
const waitMetric = 'ctp_connector_proxy_consistent_read_wait_seconds';

/** The proxy's reads between two scrapes of its /metrics (text exposition). Pure. */
export function cacheReads(before: string, after: string): CacheReads {
  const delta = (name: string, labels: Record<string, string>) =>
    metricSum(after, name, labels) - metricSum(before, name, labels);
  const consistent = Object.fromEntries(
    outcomes.map((outcome) => {
      const count = delta(`${waitMetric}_count`, { outcome });
      const seconds = delta(`${waitMetric}_sum`, { outcome });
      return [outcome, { count, meanWaitMs: count > 0 ? (seconds / count) * 1000 : 0 }];
    }),
  ) as CacheReads['consistent'];
  return {
    fromCache: delta(readsMetric, { source: 'cache' }),
    forwarded: delta(readsMetric, { source: 'control-plane' }),
    consistent,
  };
}

/**
 * Watches of a resource a kube-apiserver is serving now, from its /metrics (`apiserver_longrunning_requests`, by
 * group and resource). Pure.
 */
export function openWatches(exposition: string, group: string, resource: string): number {
  return metricSum(exposition, 'apiserver_longrunning_requests', { group, resource, verb: 'WATCH' });
}
