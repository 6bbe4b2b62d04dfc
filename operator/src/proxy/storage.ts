// The storage stage: two backends behind one rule. The control plane stores every claim; the claim cache (a watch
// of this cluster's claims) answers what it can answer exactly as the control plane would. The rule, in order:
//   1. While the control plane does not answer, reads (get, list, and a deletecollection that deletes nothing)
//      come from the cache when it has synced and can answer them; every other request is refused at once with 503.
//   2. A list or deletecollection in an app namespace where the synced cache knows no claim is answered from the
//      cache (the namespace controller asks every API on every namespace deletion; that must never wait).
//   3. Everything else goes to the control plane; a read that gets no answer there falls back to the cache.
import type { KubeClient } from '../kube/client.ts';
import type { Stage } from './chain.ts';
import type { ClaimCache, ClaimView } from './claimcache.ts';
import { admittedOf, resourceOf, type RequestContext } from './context.ts';
import { forwardToControlPlane, type ControlPlaneBackend } from './controlplane.ts';
import type { UpstreamHealth } from './health.ts';
import { answerFromCache, namespaceIsEmpty } from './local.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Verb } from './requestinfo.ts';
import { document, StatusError } from './respond.ts';
import type { Scope } from './translate.ts';
import type { WatchRegistry } from './watches.ts';

export type Backend = 'control-plane' | 'cache' | 'unavailable';

export interface RuleInput {
  verb: Verb;
  namespace: string | undefined;
  controlPlaneAvailable: boolean;
  /** The cache has synced this resource and knows no claim in the request's namespace. */
  namespaceEmptyInCache: boolean;
}

/** The rule above, pure: where a request goes first. 'unavailable' still lets the cache answer reads it can. */
export function chooseBackend(input: RuleInput): Backend {
  if (!input.controlPlaneAvailable) return 'unavailable';
  const collection = input.verb === 'list' || input.verb === 'deletecollection';
  if (collection && input.namespace && input.namespaceEmptyInCache) return 'cache';
  return 'control-plane';
}

const cacheReads: readonly Verb[] = ['get', 'list', 'deletecollection'];

export interface StorageDeps {
  upstream(): KubeClient | undefined;
  claims(): ClaimCache | undefined;
  scope(): Scope;
  health: UpstreamHealth;
  metrics: ProxyMetrics;
  watches: WatchRegistry;
}

export function storage(deps: StorageDeps): Stage {
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
    const backend = chooseBackend({
      verb: request.verb,
      namespace: request.namespace,
      controlPlaneAvailable: deps.health.available(),
      namespaceEmptyInCache: Boolean(
        view && request.namespace && namespaceIsEmpty(view, scope, request.namespace),
      ),
    });
    if (backend === 'cache' && answeredFromCache(ctx, view, scope)) return;
    if (backend === 'unavailable') {
      if (answeredFromCache(ctx, view, scope)) return;
      throw unavailable('the control plane is unreachable; retry shortly');
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
    const noAnswer = await forwardToControlPlane(ctx, control);
    if (!noAnswer) return;
    if (request.verb !== 'deletecollection' && answeredFromCache(ctx, view, scope)) return;
    throw unavailable(`the control plane is unreachable: ${noAnswer.unreachable}`);
  };
}

function answeredFromCache(ctx: RequestContext, view: ClaimView | undefined, scope: Scope): boolean {
  if (!view) return false;
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const answer = answerFromCache(
    request,
    ctx.info!.query,
    admitted.upstreamAccept,
    view,
    scope,
    admitted.resource,
  );
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
