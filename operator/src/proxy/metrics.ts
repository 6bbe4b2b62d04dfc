// Prometheus metrics of the proxy: what the aggregator asked (verb, resource, code, latency), what the control plane
// cost (upstream latency), which reads the claim cache answered, how long consistent reads waited for it, and how
// many watches are open. Label values are bounded: verbs and codes are small sets,
// resources come from the catalog.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ProxyMetrics {
  registry: Registry;
  /** A finished request; watches are counted but kept out of the latency histogram (they last minutes). */
  request(labels: { verb: string; resource: string; code: number }, seconds: number): void;
  upstream(labels: { verb: string; code: number }, seconds: number): void;
  /** Marks a watch open; the returned function marks it closed. */
  watchOpened(resource: string): () => void;
  /** 1 while the control plane answers, 0 while the proxy serves reads from its cache and refuses writes. */
  controlPlaneAvailable(available: boolean): void;
  /** 1 once the claim cache holds a first list of every claim resource: only then can reads outlive an outage. */
  claimCacheSynced(synced: boolean): void;
  /** A get or list answered from the claim cache or forwarded to the control plane. */
  read(labels: { verb: string; resource: string; source: 'cache' | 'control-plane' }): void;
  /**
   * A consistent read's wait for the cache to catch up with the control plane (asking where it stands included);
   * 'behind': forwarded without asking, as the cache has seen nothing new since it last lagged.
   */
  consistentRead(outcome: 'fresh' | 'timeout' | 'behind', seconds: number): void;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createProxyMetrics(registry = new Registry()): ProxyMetrics {
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'ctp_connector_proxy_requests_total',
    help: 'Requests the proxy answered, by verb, resource and HTTP code',
    labelNames: ['verb', 'resource', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ctp_connector_proxy_request_duration_seconds',
    help: 'Time to answer a request (watches excluded), by verb and resource',
    labelNames: ['verb', 'resource'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'ctp_connector_proxy_upstream_duration_seconds',
    help: 'Time the control plane took to answer a forwarded request, by verb and HTTP code (0: no answer)',
    labelNames: ['verb', 'code'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const watches = new Gauge({
    name: 'ctp_connector_proxy_watches',
    help: 'Watches currently open, by resource',
    labelNames: ['resource'],
    registers: [registry],
  });
  const available = new Gauge({
    name: 'ctp_connector_proxy_control_plane_available',
    help: '1 while the control plane answers, 0 while reads come from the cache and writes are refused',
    registers: [registry],
  });
  available.set(1);
  const synced = new Gauge({
    name: 'ctp_connector_proxy_claim_cache_synced',
    help: '1 once the claim cache has listed every claim resource (reads can then be answered during an outage)',
    registers: [registry],
  });
  const reads = new Counter({
    name: 'ctp_connector_proxy_reads_total',
    help: 'Gets and lists, by whether the claim cache answered them or the control plane',
    labelNames: ['verb', 'resource', 'source'],
    registers: [registry],
  });
  const consistentWait = new Histogram({
    name: 'ctp_connector_proxy_consistent_read_wait_seconds',
    help: "Time a consistent read waited for the claim cache to reach the control plane's resourceVersion, by outcome (fresh: answered from the cache; timeout: forwarded; behind: forwarded at once, the cache having seen nothing new since it last lagged)",
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    registry,
    read(labels) {
      reads.inc(labels);
    },
    consistentRead(outcome, seconds) {
      consistentWait.observe({ outcome }, seconds);
    },
    request({ verb, resource, code }, seconds) {
      requests.inc({ verb, resource, code: String(code) });
      if (verb !== 'watch') duration.observe({ verb, resource }, seconds);
    },
    upstream({ verb, code }, seconds) {
      upstream.observe({ verb, code: String(code) }, seconds);
    },
    watchOpened(resource) {
      watches.inc({ resource });
      let open = true;
      return () => {
        if (open) watches.dec({ resource });
        open = false;
      };
    },
    controlPlaneAvailable(isAvailable) {
      available.set(isAvailable ? 1 : 0);
    },
    claimCacheSynced(isSynced) {
      synced.set(isSynced ? 1 : 0);
    },
  };
}
