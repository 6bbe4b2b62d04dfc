// The storage stage: two backends behind one rule. The control plane stores every claim; the claim cache (a watch
// of this cluster's claims) answers what it can answer exactly as the control plane would, and when it is as fresh
// as the read asks — kube-apiserver's rules for its own watch cache (k8s.io/apiserver's cacher delegator). The rule,
// in order:
//   1. While the control plane does not answer, reads (get, list, and a deletecollection that deletes nothing)
//      come from the cache when it has synced and can answer them; every other request is refused at once with 503.
//   2. A list or deletecollection in an app namespace where the synced cache knows no claim is answered from the
//      cache (the namespace controller asks every API on every namespace deletion; that must never wait) — a list
//      without resourceVersion once the cache is consistent, as in 3.
//   3. A get or list the synced cache can answer comes from it when it is fresh enough (freshness.ts):
//      resourceVersion "0": at once; NotOlderThan (or a get or unpaginated list naming a resourceVersion): once the
//      cache has reached it; Exact (or a paginated list naming one): from the snapshot taken at it, if the cache
//      still has one; a continue token of the cache's: from its snapshot, or 410 Expired once that is gone;
//      no resourceVersion, for a list: once the cache has reached the control plane's current resourceVersion
//      (consistentread.ts). Waits are short (100 ms): a read the cache did not catch up for is forwarded.
//      A get without resourceVersion is forwarded, as kube-apiserver reads it from etcd: asking the control plane
//      where it stands would cost as much as the get.
//      Watches (JSON or metadata, not Tables) likewise share the cache's one watch of the control plane
//      (cachewatch.ts): "0" the state at once, none the state once consistent, N the changes after N if the cache
//      has reached N (410 once it no longer holds them; beyond the cache, the control plane), watch-lists
//      (sendInitialEvents) the state not older than asked. While the control plane does not answer, watches are 503
//      as before.
//   4. Everything else goes to the control plane; a read that gets no answer there falls back to the cache.
import type { KubeClient } from '../kube/client.ts';
import type { Stage } from './chain.ts';
import type { ClaimCache, ClaimView } from './claimcache.ts';
import { consistentReads } from './consistentread.ts';
import { admittedOf, resourceOf, userOf, type RequestContext } from './context.ts';
import { forwardToControlPlane, type ControlPlaneBackend } from './controlplane.ts';
import { cacheCanWatch, serveWatchFromCache } from './cachewatch.ts';
import {
  freshnessOf,
  parseResourceVersion,
  watchStartOf,
  type Freshness,
  type WatchStart,
} from './freshness.ts';
import type { UpstreamHealth } from './health.ts';
import { answerFromCache, cacheCanAnswer, namespaceIsEmpty, type CacheState } from './local.ts';
import type { ProxyMetrics } from './metrics.ts';
import { negotiateRepresentation } from './representation.ts';
import type { Verb } from './requestinfo.ts';
import { document, StatusError } from './respond.ts';
import { snapshots, type Snapshots } from './snapshots.ts';
import type { Scope } from './translate.ts';
import type { WatchRegistry } from './watches.ts';

export type Backend =
  /** Answer from the cache now. */
  | 'cache'
  /** From the cache once it has reached the resourceVersion asked (bounded), else the control plane. */
  | 'cache-when-reached'
  /** From the cache once it has reached the control plane's current resourceVersion (bounded), else the control plane. */
  | 'cache-when-consistent'
  /**
   * A watch from beyond the cache: from the cache once the control plane says the resourceVersion is not in its
   * future (kube-apiserver answers that with "Too large resource version"), else the control plane.
   */
  | 'cache-unless-future'
  | 'control-plane'
  /** The control plane does not answer: the cache answers the reads it can, everything else is 503. */
  | 'unavailable';

export interface RuleInput {
  verb: Verb;
  namespace: string | undefined;
  controlPlaneAvailable: boolean;
  /** The cache has synced this resource and knows no claim in the request's namespace. */
  namespaceEmptyInCache: boolean;
  /** The cache has synced this resource and can represent the answer (media type, selectors, its own token). */
  cacheCanAnswer?: boolean;
  /** For get and list: how fresh the answer must be. */
  freshness?: Freshness;
  /** The resourceVersion the cache has reached. */
  cacheResourceVersion?: bigint | undefined;
  /** The cache keeps a snapshot at the exact resourceVersion asked. */
  snapshotAtExact?: boolean;
  /** The oldest resourceVersion a watch can resume after from the cache. */
  cacheHistoryFrom?: bigint | undefined;
}

/** The rule above, pure: where a request goes first. */
export function chooseBackend(input: RuleInput): Backend {
  if (!input.controlPlaneAvailable) return 'unavailable';
  const collection = input.verb === 'list' || input.verb === 'deletecollection';
  if (collection && input.namespace && input.namespaceEmptyInCache) {
    // Still consistent: a claim created a moment ago through another replica may not have reached this cache yet
    // (the check is one cheap request; while the control plane does not answer, rule 1 applies instead).
    if (input.verb === 'list' && input.freshness?.kind === 'consistent' && input.cacheCanAnswer)
      return 'cache-when-consistent';
    return 'cache';
  }
  const read = input.verb === 'get' || input.verb === 'list' || input.verb === 'watch';
  if (!read || !input.cacheCanAnswer || !input.freshness) return 'control-plane';
  const freshness = input.freshness;
  switch (freshness.kind) {
    case 'any':
      return 'cache';
    case 'continue':
      return 'cache'; // cacheCanAnswer: the cache's own token
    case 'notOlderThan':
      // A watch resuming from before what the cache holds (a replica that started after the client's last event)
      // goes to the control plane, whose window is longer; it answers 410 itself where it no longer has them.
      if (
        input.verb === 'watch' &&
        input.cacheHistoryFrom !== undefined &&
        freshness.resourceVersion < input.cacheHistoryFrom
      )
        return 'control-plane';
      if (input.cacheResourceVersion !== undefined && input.cacheResourceVersion >= freshness.resourceVersion)
        return 'cache';
      // A watch beyond the cache resumes from the control plane's own resourceVersion (a forwarded list's, a
      // bookmark's), which the cache reaches only with its next bookmark. It needs no waiting: the cache's watch of
      // the control plane is unbroken, so every change after that resourceVersion still reaches it, in order, and
      // the watch sends those alone. What has to be ruled out is a resourceVersion from the future.
      return input.verb === 'watch' ? 'cache-unless-future' : 'cache-when-reached';
    case 'exact':
      return input.snapshotAtExact ? 'cache' : 'control-plane';
    case 'consistent':
      return input.verb === 'get' ? 'control-plane' : 'cache-when-consistent';
    case 'invalid':
      return 'control-plane';
  }
}

const cacheReads: readonly Verb[] = ['get', 'list', 'deletecollection', 'watch'];

export interface StorageDeps {
  upstream(): KubeClient | undefined;
  claims(): ClaimCache | undefined;
  scope(): Scope;
  health: UpstreamHealth;
  metrics: ProxyMetrics;
  watches: WatchRegistry;
  /** How long a read waits for the cache to reach the resourceVersion it needs before it is forwarded (100 ms). */
  cacheWaitMs?: number;
}

/**
 * This cluster's own changes reach the cache within milliseconds (4 ms on average, asking included, in
 * e2e/consistent-reads.test.ts); if the cache is still behind after this, other writers moved the control plane on
 * and only a bookmark, about once a minute, would tell the cache it is current. (kube-apiserver waits up to 3 s for
 * its own cache, which asks etcd for progress.)
 */
const defaultCacheWaitMs = 100;

export function storage(deps: StorageDeps): Stage {
  const kept = snapshots(() => deps.scope());
  const consistent = consistentReads();
  const waitMs = deps.cacheWaitMs ?? defaultCacheWaitMs;
  return async (ctx) => {
    const request = resourceOf(ctx);
    const client = deps.upstream();
    if (!client)
      throw new StatusError(503, 'ServiceUnavailable', 'the control-plane credential is not loaded yet');
    const claims = deps.claims();
    const scope = deps.scope();
    const view = cacheReads.includes(request.verb)
      ? claims?.view(request.group, request.version, request.resource)
      : undefined;
    const query = ctx.info!.query;
    const read = request.verb === 'get' || request.verb === 'list' || request.verb === 'watch';
    const watchStart = request.verb === 'watch' ? watchStartOf(query) : undefined;
    const freshness =
      request.verb === 'watch'
        ? (watchStart?.freshness ?? { kind: 'invalid' as const })
        : read
          ? freshnessOf(request.verb as 'get' | 'list', query)
          : undefined;
    const accept = admittedOf(ctx).upstreamAccept;
    const resourceKey = `${request.group}/${request.version}/${request.resource}`;
    const cacheResourceVersion = view ? parseResourceVersion(view.resourceVersion) : undefined;
    const backend = chooseBackend({
      verb: request.verb,
      namespace: request.namespace,
      controlPlaneAvailable: deps.health.available(),
      namespaceEmptyInCache: Boolean(
        view &&
        request.namespace &&
        (request.verb === 'list' || request.verb === 'deletecollection') &&
        namespaceIsEmpty(view, scope, request.namespace),
      ),
      // A cache between a 410 and its relist knows no resourceVersion to answer with.
      cacheCanAnswer:
        cacheResourceVersion !== undefined &&
        (request.verb === 'watch'
          ? !deps.watches.closing() && cacheCanWatch(query, accept)
          : cacheCanAnswer(request, query, accept)),
      freshness,
      cacheResourceVersion,
      cacheHistoryFrom: view?.historyFrom,
      snapshotAtExact:
        freshness?.kind === 'exact' &&
        view !== undefined &&
        (view.resourceVersion === String(freshness.resourceVersion) ||
          kept.at(resourceKey, String(freshness.resourceVersion)) !== undefined),
    });
    const fromCache = async (v: ClaimView | undefined) => {
      const answered =
        request.verb === 'watch'
          ? v !== undefined &&
            watchStart !== undefined &&
            (await watchedFromCache(ctx, deps, kept, watchStart))
          : answeredFromCache(ctx, v, kept, resourceKey);
      if (answered && read)
        deps.metrics.read({ verb: request.verb, resource: request.resource, source: 'cache' });
      return answered;
    };
    const latest = () => claims?.view(request.group, request.version, request.resource);
    if (backend === 'cache' && (await fromCache(view))) return;
    if (backend === 'unavailable') {
      // Watches wait for the control plane, as before the cache could serve them.
      if (request.verb !== 'watch' && (await fromCache(view))) return;
      throw unavailable('the control plane is unreachable; retry shortly');
    }
    const waiting = claims && {
      client,
      claims,
      scope,
      health: deps.health,
      metrics: deps.metrics,
      waitMs,
    };
    if (backend === 'cache-when-reached' && waiting && freshness?.kind === 'notOlderThan') {
      const reached = await consistent.awaitVersion(ctx, waiting, freshness.resourceVersion);
      if (reached && (await fromCache(latest()))) return;
    }
    if (backend === 'cache-unless-future' && waiting && freshness?.kind === 'notOlderThan') {
      const past = await consistent.notInFuture(ctx, waiting, freshness.resourceVersion);
      if (past && (await fromCache(latest()))) return;
    }
    if (backend === 'cache-when-consistent' && waiting) {
      const consistency = await consistent.awaitConsistency(ctx, waiting);
      if (consistency === 'fresh' && (await fromCache(latest()))) return;
      if (consistency === 'unreachable') {
        if (request.verb !== 'watch' && (await fromCache(latest()))) return;
        throw unavailable('the control plane is unreachable; retry shortly');
      }
    }
    claims?.retryUnsynced();
    const control: ControlPlaneBackend = {
      client,
      scope,
      health: deps.health,
      metrics: deps.metrics,
      claims,
      watches: deps.watches,
    };
    let noAnswer;
    try {
      noAnswer = await forwardToControlPlane(ctx, control);
    } finally {
      if (read && !noAnswer)
        deps.metrics.read({ verb: request.verb, resource: request.resource, source: 'control-plane' });
    }
    if (!noAnswer) return;
    if (request.verb !== 'deletecollection' && request.verb !== 'watch' && (await fromCache(latest())))
      return;
    throw unavailable(`the control plane is unreachable: ${noAnswer.unreachable}`);
  };
}

/** A watch served from the claim cache, counted against the watch limits like a forwarded one. */
async function watchedFromCache(
  ctx: RequestContext,
  deps: StorageDeps,
  kept: Snapshots,
  start: WatchStart,
): Promise<boolean> {
  const claims = deps.claims();
  const representation = negotiateRepresentation(admittedOf(ctx).upstreamAccept);
  if (!claims || !representation) return false;
  const request = resourceOf(ctx);
  const end = new AbortController();
  const release = deps.watches.open(userOf(ctx).name, () => end.abort());
  const closed = deps.metrics.watchOpened(request.resource);
  try {
    await serveWatchFromCache({
      res: ctx.res,
      request,
      query: ctx.info!.query,
      representation,
      resource: admittedOf(ctx).resource,
      claims,
      appView: (claim) => kept.appView(claim),
      start: start.start,
      signal: AbortSignal.any([ctx.signal, end.signal]),
    });
  } finally {
    release();
    closed();
  }
  return true;
}

function answeredFromCache(
  ctx: RequestContext,
  view: ClaimView | undefined,
  kept: Snapshots,
  resourceKey: string,
): boolean {
  if (!view) return false;
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const state: CacheState = {
    current: kept.of(resourceKey, view),
    at: (rv) => kept.at(resourceKey, rv),
    keep: (snapshot) => kept.keep(resourceKey, snapshot),
  };
  const answer = answerFromCache(request, ctx.info!.query, admitted.upstreamAccept, state, admitted.resource);
  if (!answer) return false;
  document(ctx.res, answer.code, answer.body, ctx.media);
  return true;
}

/**
 * 503 without Retry-After: controllers (Argo CD, Flux, client-go informers) retry a 503 on their own, while a
 * Retry-After header would make kubectl and client-go repeat the write up to ten times and hang the user.
 */
function unavailable(message: string): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message);
}
