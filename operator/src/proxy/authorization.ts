// Authorization of the aggregator's users by the app cluster's RBAC (SubjectAccessReview), as aggregated API
// servers do: kube-apiserver already authorized the request, this is defence in depth and makes the proxy safe
// against anything that reaches it with front-proxy credentials. The attributes are kube-apiserver's, from the one
// request parser (a list or watch with a metadata.name field selector is authorized for that name). Decisions are
// cached briefly.
import type { KubeClient } from '../kube/client.ts';
import type { UserInfo } from './authentication.ts';
import type { Stage } from './chain.ts';
import { infoOf, userOf } from './context.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { noSuchResource, StatusError } from './respond.ts';

export interface Decision {
  allowed: boolean;
  reason: string;
}

export type Authorizer = (user: UserInfo, request: ResourceRequest) => Promise<Decision>;

/** As k8s.io/apiserver's delegating authorizer: members of system:masters are always allowed. */
const alwaysAllowGroups = ['system:masters'];

export function subjectAccessReviewer(
  client: KubeClient,
  ttlMs = 10_000,
  now: () => number = Date.now,
): Authorizer {
  const cache = new Map<string, { decision: Decision; expires: number }>();
  return async (user, request) => {
    if (user.groups.some((g) => alwaysAllowGroups.includes(g)))
      return { allowed: true, reason: 'system:masters' };
    const attributes = {
      namespace: request.namespace,
      verb: request.verb,
      group: request.group,
      version: request.version,
      resource: request.resource,
      subresource: request.subresource,
      name: request.name,
    };
    const key = JSON.stringify([user, attributes]);
    const cached = cache.get(key);
    if (cached && cached.expires > now()) return cached.decision;
    const review = await client.request<{
      status?: { allowed?: boolean; denied?: boolean; reason?: string };
    }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.name,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          resourceAttributes: attributes,
        },
      },
      timeoutMs: 10_000,
    });
    const decision = { allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
    if (cache.size > 10_000) cache.clear(); // bounded: a burst of distinct users cannot grow it without limit
    cache.set(key, { decision, expires: now() + ttlMs });
    return decision;
  };
}

/** kube-apiserver's wording for a denied request. */
export function forbiddenMessage(user: UserInfo, r: ResourceRequest): string {
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const object = `${r.resource}.${r.group}${r.name ? ` "${r.name}"` : ''}`;
  const scope = r.namespace ? ` in the namespace "${r.namespace}"` : ' at the cluster scope';
  return `${object} is forbidden: User "${user.name}" cannot ${r.verb} resource "${resource}" in API group "${r.group}"${scope}`;
}

/** The authorization stage: resource requests only (documents were answered before); 403 as kube-apiserver words it. */
export function authorization(authorize: Authorizer): Stage {
  return async (ctx, next) => {
    const info = infoOf(ctx);
    if (!info.resourceRequest) throw noSuchResource();
    const request = info.resource;
    const user = userOf(ctx);
    let decision;
    try {
      decision = await authorize(user, request);
    } catch (err) {
      throw new StatusError(
        500,
        'InternalError',
        `authorizing the request failed: ${(err as Error).message}`,
      );
    }
    if (!decision.allowed) {
      ctx.log.info(
        {
          auditID: ctx.auditID,
          user: user.name,
          verb: request.verb,
          resource: request.resource,
          namespace: request.namespace,
        },
        'forbidden',
      );
      throw forbidden(user, request);
    }
    await next();
  };
}

export function forbidden(user: UserInfo, request: ResourceRequest): StatusError {
  return new StatusError(403, 'Forbidden', forbiddenMessage(user, request), {
    ...(request.name ? { name: request.name } : {}),
    group: request.group,
    kind: request.resource,
  });
}
