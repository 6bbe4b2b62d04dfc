// Consistent reads from the claim cache: a read without resourceVersion must see every write the control plane
// acknowledged before it — through this replica, another replica or straight to the control plane. As kube-apiserver
// does for its own watch cache, the proxy asks the control plane for its current resourceVersion, then waits
// (bounded) until its cache has seen that far, by an event, a bookmark or a list; if it has not, the read is
// forwarded.
//
// Unlike kube-apiserver, which asks etcd for progress, a client of kube-apiserver learns that nothing of its selection
// changed only from bookmarks, about once a minute; other writers (leases, other clusters) move the current
// resourceVersion on every few seconds. So the wait is short — long enough for this cluster's own changes to arrive
// over the watch — and a cache found behind is not asked again until it has seen something new: the current
// resourceVersion only grows, so it is still behind, and the read is forwarded at once. Reads and watches that name
// a resourceVersion beyond the cache's wait the same way (one the control plane answered a forwarded read with is
// such a foreign resourceVersion).
//
// The current resourceVersion comes from a list of the resource in targetNamespace with this cluster's label selector,
// limit=1, as metadata only: a list's resourceVersion is the control plane's current one whatever it selects, the
// control plane answers it from its own watch cache after catching up with etcd (ConsistentListFromCache) while
// reading at most one object, and the selector keeps the proxy from reading another cluster's claims in a shared
// namespace. A get of one object would be as cheap but names an object that may not exist; /version has no
// resourceVersion.
import { originSelector } from '../claims/identity.ts';
import { KubeApiError, TransportError, type KubeClient } from '../kube/client.ts';
import type { ClaimCache } from './claimcache.ts';
import { resourceOf, type RequestContext } from './context.ts';
import { parseResourceVersion } from './freshness.ts';
import type { UpstreamHealth } from './health.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Scope } from './translate.ts';

export interface ConsistentReadDeps {
  client: KubeClient;
  claims: ClaimCache;
  scope: Scope;
  health: UpstreamHealth;
  metrics: ProxyMetrics;
  /** How long a read waits for the cache before it is forwarded. */
  waitMs: number;
}

export interface ConsistentReads {
  /** Whether the cache holds every write the control plane acknowledged before the request. */
  awaitConsistency(ctx: RequestContext, deps: ConsistentReadDeps): Promise<Consistency>;
  /** Whether the cache reaches a resourceVersion a read names, within the wait. */
  awaitVersion(ctx: RequestContext, deps: ConsistentReadDeps, resourceVersion: bigint): Promise<boolean>;
  /** Whether the control plane has reached a resourceVersion a watch names (false: unknown, or not yet). */
  notInFuture(ctx: RequestContext, deps: ConsistentReadDeps, resourceVersion: bigint): Promise<boolean>;
}

/**
 * 'fresh': the cache holds every write acknowledged before the request; 'stale': it did not catch up in time, or the
 * control plane answered with an error (the forwarded read reports it); 'unreachable': no answer at all.
 */
export type Consistency = 'fresh' | 'stale' | 'unreachable';

export function consistentReads(): ConsistentReads {
  // Per cache and resource: the resourceVersion the cache had when it last did not reach `target` in time.
  const behind = new WeakMap<ClaimCache, Map<string, { at: string; target: bigint }>>();
  const lagging = (claims: ClaimCache) => {
    let map = behind.get(claims);
    if (!map) behind.set(claims, (map = new Map<string, { at: string; target: bigint }>()));
    return map;
  };
  const keyOf = (ctx: RequestContext) => {
    const r = resourceOf(ctx);
    return `${r.group}/${r.version}/${r.resource}`;
  };
  const seen = (ctx: RequestContext, claims: ClaimCache) => {
    const r = resourceOf(ctx);
    return claims.resourceVersion(r.group, r.version, r.resource);
  };
  const reach = async (ctx: RequestContext, deps: ConsistentReadDeps, target: bigint, at: string) => {
    const r = resourceOf(ctx);
    const reached = await deps.claims.caughtUp(
      r.group,
      r.version,
      r.resource,
      target,
      deps.waitMs,
      ctx.signal,
    );
    if (reached) lagging(deps.claims).delete(keyOf(ctx));
    else if (!ctx.signal.aborted) lagging(deps.claims).set(keyOf(ctx), { at, target });
    return reached;
  };
  return {
    async awaitConsistency(ctx, deps) {
      const at = seen(ctx, deps.claims);
      // The current resourceVersion only grows: a cache that has seen nothing since it lagged lags still.
      if (at === undefined || lagging(deps.claims).get(keyOf(ctx))?.at === at) {
        deps.metrics.consistentRead('behind', 0);
        return 'stale';
      }
      const started = performance.now();
      const current = await currentResourceVersion(ctx, deps);
      if (current === 'unreachable') return 'unreachable';
      if (current === undefined) return 'stale';
      const fresh = await reach(ctx, deps, current, at);
      deps.metrics.consistentRead(fresh ? 'fresh' : 'timeout', (performance.now() - started) / 1000);
      return fresh ? 'fresh' : 'stale';
    },
    async awaitVersion(ctx, deps, target) {
      const at = seen(ctx, deps.claims);
      if (at === undefined) return false;
      const last = lagging(deps.claims).get(keyOf(ctx));
      if (last?.at === at && target >= last.target) return false;
      return reach(ctx, deps, target, at);
    },
    async notInFuture(ctx, deps, target) {
      const current = await currentResourceVersion(ctx, deps);
      return typeof current === 'bigint' && target <= current;
    },
  };
}

/** Short: a control plane that is slow to say where it stands is no better asked twice. */
const askTimeoutMs = 10_000;

async function currentResourceVersion(
  ctx: RequestContext,
  deps: ConsistentReadDeps,
): Promise<bigint | 'unreachable' | undefined> {
  const request = resourceOf(ctx);
  const collection = `/apis/${request.group}/${request.version}/namespaces/${deps.scope.targetNamespace}/${request.resource}`;
  const started = performance.now();
  let code = 0;
  try {
    const answer = await deps.client.exchange<{ metadata?: { resourceVersion?: string } }>(
      'GET',
      collection,
      {
        query: { labelSelector: originSelector(deps.scope.clusterID), limit: 1 },
        headers: {
          accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
          'audit-id': ctx.auditID,
        },
        timeoutMs: askTimeoutMs,
        signal: ctx.signal,
      },
    );
    code = answer.code;
    deps.health.answered();
    return parseResourceVersion(answer.body?.metadata?.resourceVersion);
  } catch (err) {
    if (err instanceof TransportError && !ctx.signal.aborted) {
      deps.health.failed(err.message);
      return 'unreachable';
    }
    if (err instanceof KubeApiError) {
      code = err.code;
      deps.health.answered();
    }
    return undefined;
  } finally {
    deps.metrics.upstream({ verb: 'list', code }, (performance.now() - started) / 1000);
  }
}
