// A write is answered once the claim cache has seen it: reads the cache answers through this replica (resourceVersion
// 0, consistent ones) then see the write, and the watches it serves have been handed the change before the writer
// learns that its write succeeded, as a client of kube-apiserver finds its own writes of a CRD's objects in its watch
// cache. Without this, a list from the cache at once after a write could miss it.
//
// The wait is bounded; a cache that did not see a write in time (its watch reconnecting, the control plane's watch
// lagging) delays no further write of that resource until it has seen something new, as consistentread.ts does.
import type { ClaimCache } from './claimcache.ts';
import { resourceOf, type RequestContext } from './context.ts';
import { parseResourceVersion } from './freshness.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Verb } from './requestinfo.ts';

const writes: readonly Verb[] = ['create', 'update', 'patch', 'delete'];

/** How long a successful write's answer waits for the cache; this cluster's own changes arrive within milliseconds. */
export const writeVisibleWaitMs = 1_000;

export interface WriteVisibility {
  /** Resolves once the cache holds the written object's resourceVersion, or the wait is over. */
  awaitVisible(ctx: RequestContext, claims: ClaimCache | undefined, written: unknown): Promise<void>;
}

export function writeVisibility(metrics: ProxyMetrics, waitMs = writeVisibleWaitMs): WriteVisibility {
  // Per cache and resource: the cache's resourceVersion when a wait last ran out.
  const lagging = new WeakMap<ClaimCache, Map<string, string | undefined>>();
  return {
    async awaitVisible(ctx, claims, written) {
      const request = resourceOf(ctx);
      if (!claims || !writes.includes(request.verb) || ctx.info!.query.has('dryRun')) return;
      const stamped = (written as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata;
      const resourceVersion =
        typeof stamped?.resourceVersion === 'string'
          ? parseResourceVersion(stamped.resourceVersion)
          : undefined;
      // A Status (a delete that removed the object at once) names no resourceVersion.
      if (resourceVersion === undefined) return;
      const { group, version, resource } = request;
      const view = claims.view(group, version, resource);
      if (!view) return;
      const key = `${group}/${version}/${resource}`;
      let behind = lagging.get(claims);
      if (!behind) lagging.set(claims, (behind = new Map<string, string | undefined>()));
      if (behind.has(key) && behind.get(key) === view.resourceVersion) {
        metrics.writeVisible('behind', 0);
        return;
      }
      const started = performance.now();
      const seen = await claims.caughtUp(group, version, resource, resourceVersion, waitMs, ctx.signal);
      if (seen) behind.delete(key);
      else if (!ctx.signal.aborted) behind.set(key, claims.view(group, version, resource)?.resourceVersion);
      metrics.writeVisible(seen ? 'seen' : 'timeout', (performance.now() - started) / 1000);
    },
  };
}
