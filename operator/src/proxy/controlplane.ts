// The storage backend that forwards to the control plane: the path rewritten to targetNamespace and the mapped
// name, selectors narrowed to this cluster (and namespace), bodies translated up, every answer translated back, and
// the control plane's failures turned into Statuses the client may see (never the proxy's own identity there).
import { controlPlaneName } from '../claims/identity.ts';
import { KubeApiError, TransportError, type Exchange, type KubeClient } from '../kube/client.ts';
import type { ClaimCache } from './claimcache.ts';
import { admittedOf, resourceOf, userOf, type RequestContext } from './context.ts';
import type { UpstreamHealth } from './health.ts';
import { applyPatch } from './jsonpatch.ts';
import type { ProxyMetrics } from './metrics.ts';
import { checkObject } from './objectrules.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { document, json, StatusError, type StatusDetails } from './respond.ts';
import { narrowSelectors } from './selectors.ts';
import {
  fromControlPlane,
  originOf,
  toControlPlane,
  translateEvent,
  translateResponse,
  type Obj,
  type Scope,
} from './translate.ts';
import type { WatchRegistry } from './watches.ts';
import { relayWatch } from './watchstream.ts';

export interface ControlPlaneBackend {
  client: KubeClient;
  scope: Scope;
  health: UpstreamHealth;
  metrics: ProxyMetrics;
  /** For the guard against colliding control-plane names. */
  claims: ClaimCache | undefined;
  watches: WatchRegistry;
}

/** Forwarding failed without any answer: storage may answer a read from the cache instead. */
export interface NoAnswer {
  unreachable: string;
}

const passthroughQuery = [
  'dryRun',
  'fieldManager',
  'fieldValidation',
  'force',
  'limit',
  'continue',
  'resourceVersion',
  'resourceVersionMatch',
  'timeoutSeconds',
  'gracePeriodSeconds',
  'propagationPolicy',
  'orphanDependents',
  'allowWatchBookmarks',
  'sendInitialEvents',
];

/** Non-watch requests end well inside kube-apiserver's 60 s request timeout. */
const requestTimeoutMs = 55_000;
const jsonPatchAttempts = 5;

export async function forwardToControlPlane(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
): Promise<NoAnswer | undefined> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const { scope } = backend;
  const namespace = request.namespace;
  const name = admitted.name;
  const mapped = name && namespace ? controlPlaneName(name, namespace, scope.clusterID) : undefined;
  const collection = `/apis/${request.group}/${request.version}/namespaces/${scope.targetNamespace}/${request.resource}`;
  let path = collection;
  if (mapped && request.namedInPath) path += `/${encodeURIComponent(mapped)}`;
  if (request.subresource) path += `/${request.subresource}`;
  const query: Record<string, string> = {};
  for (const key of passthroughQuery) {
    const value = ctx.info!.query.get(key);
    if (value !== null) query[key] = value;
  }
  if (request.verb === 'list' || request.verb === 'deletecollection' || request.verb === 'watch') {
    const selectors = narrowSelectors(ctx.info!.query, scope, namespace);
    if (!selectors) {
      if (request.verb === 'watch')
        throw new StatusError(
          400,
          'BadRequest',
          'the field selector names another namespace than the request',
        );
      json(ctx.res, 200, emptyList(request, admitted.resource.listKind));
      return undefined;
    }
    Object.assign(query, selectors);
  }
  if (request.verb === 'watch') return forwardWatch(ctx, backend, collection, { ...query, watch: 'true' });
  if (mapped && (request.verb === 'update' || request.verb === 'patch' || request.verb === 'delete'))
    guardCollision(ctx, backend, request, mapped);

  const send = (method: 'GET' | 'PUT', target: string, body: unknown, contentType?: string) =>
    call(ctx, backend, method, target, query, body, contentType);
  try {
    let answer: Exchange<Obj>;
    if (admitted.operations) answer = await jsonPatch(ctx, backend, collection, path, mapped!, send);
    else
      answer = await call(
        ctx,
        backend,
        ctx.req.method as 'GET',
        path,
        query,
        upstreamBody(ctx, scope),
        contentTypeUp(ctx),
      );
    return respond(ctx, backend, answer, name);
  } catch (err) {
    return failed(ctx, backend, err, mapped, name);
  }
}

/** What is sent up: the translated object for create, update, merge and apply; DeleteOptions as they are. */
function upstreamBody(ctx: RequestContext, scope: Scope): unknown {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const body = admitted.body;
  if (body === undefined || request.verb === 'delete' || request.verb === 'deletecollection') return body;
  const origin = { namespace: request.namespace!, name: admitted.name! };
  const obj = body as Obj;
  const translated = toControlPlane(obj, scope, origin);
  delete translated.metadata!.generateName;
  if (admitted.bodyType === 'application/merge-patch+json' && !obj.metadata?.name) {
    // A merge patch that does not name the object must not rename it.
    delete translated.metadata!.name;
    delete translated.metadata!.namespace;
  }
  return translated;
}

function contentTypeUp(ctx: RequestContext): string | undefined {
  const type = admittedOf(ctx).bodyType;
  // Bodies go up as JSON, which is valid YAML for apply patches.
  return type === 'application/yaml' ? 'application/json' : type;
}

async function call(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  method: 'GET' | 'PUT',
  path: string,
  query: Record<string, string>,
  body: unknown,
  contentType: string | undefined,
): Promise<Exchange<Obj>> {
  const started = performance.now();
  let code = 0;
  try {
    const answer = await backend.client.exchange<Obj>(method, path, {
      query,
      ...(body === undefined ? {} : { body: JSON.stringify(body), contentType }),
      headers: { accept: admittedOf(ctx).upstreamAccept, 'audit-id': ctx.auditID },
      timeoutMs: requestTimeoutMs,
      signal: ctx.signal,
    });
    code = answer.code;
    backend.health.answered();
    return answer;
  } catch (err) {
    if (err instanceof KubeApiError) {
      code = err.code;
      backend.health.answered();
    } else if (!(err instanceof TransportError)) backend.health.answered(); // an answer the proxy could not read
    throw err;
  } finally {
    backend.metrics.upstream({ verb: resourceOf(ctx).verb, code }, (performance.now() - started) / 1000);
  }
}

/**
 * A JSON patch names paths of the app view (`/metadata/labels`, `""`), so it is applied by the proxy to the app
 * view of the stored object, and the translated result is written with the read resourceVersion as precondition —
 * the connector's metadata is imposed again, whatever the operations did. A conflict with another writer is
 * retried on a fresh read, as kube-apiserver's patch handler retries, unless the patch itself set the
 * resourceVersion (then the conflict is the client's).
 */
async function jsonPatch(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  path: string,
  mapped: string,
  send: (
    method: 'GET' | 'PUT',
    target: string,
    body: unknown,
    contentType?: string,
  ) => Promise<Exchange<Obj>>,
): Promise<Exchange<Obj>> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const { scope } = backend;
  const origin = { namespace: request.namespace!, name: admitted.name! };
  for (let attempt = 1; ; attempt++) {
    const current = await backend.client.exchange<Obj>('GET', `${collection}/${encodeURIComponent(mapped)}`, {
      headers: { accept: 'application/json', 'audit-id': ctx.auditID },
      timeoutMs: requestTimeoutMs,
      signal: ctx.signal,
    });
    const view = fromControlPlane(current.body, scope);
    if (!view || view.metadata?.namespace !== origin.namespace) throw notFoundOf(request, admitted.name);
    const patched = applyPatch(view, admitted.operations!) as Obj | null;
    const patchedMeta = patched && typeof patched === 'object' ? patched.metadata : undefined;
    if (patchedMeta?.name !== origin.name || patchedMeta?.namespace !== origin.namespace)
      throw new StatusError(
        422,
        'Invalid',
        `${admitted.resource.kind} "${origin.name}" is invalid: metadata.name, metadata.namespace: Invalid value: field is immutable`,
      );
    const obj = checkObject(patched, {
      apiVersion: `${request.group}/${request.version}`,
      kind: admitted.resource.kind,
      namespace: origin.namespace,
      name: origin.name,
    }) as Obj;
    const clientVersion = obj.metadata?.resourceVersion;
    const preconditioned = clientVersion !== undefined && clientVersion !== view.metadata?.resourceVersion;
    const body = toControlPlane(obj, scope, origin);
    body.metadata!.resourceVersion = preconditioned ? clientVersion : current.body.metadata?.resourceVersion;
    // What the control plane holds stays: its owners, and the field managers it records for this write.
    if (current.body.metadata?.ownerReferences)
      body.metadata!.ownerReferences = current.body.metadata.ownerReferences;
    delete body.metadata!.managedFields;
    try {
      return await send('PUT', path, body, 'application/json');
    } catch (err) {
      if (
        !(err instanceof KubeApiError && err.code === 409) ||
        preconditioned ||
        attempt >= jsonPatchAttempts
      )
        throw err;
    }
  }
}

function respond(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  answer: Exchange<Obj>,
  name: string | undefined,
): undefined {
  const request = resourceOf(ctx);
  copyWarnings(ctx, answer.headers, backend.scope);
  const translated =
    answer.body === undefined
      ? undefined
      : translateResponse(answer.body, backend.scope, request.namespace, name);
  if (!translated) throw notFoundOf(request, name);
  document(ctx.res, answer.code, translated, ctx.media);
  return undefined;
}

function failed(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  err: unknown,
  mapped: string | undefined,
  name: string | undefined,
): NoAnswer {
  if (err instanceof StatusError) throw err;
  if (err instanceof TransportError) {
    if (ctx.signal.aborted) throw new StatusError(499, 'InternalError', 'the client went away');
    backend.health.failed(err.message);
    return { unreachable: err.message };
  }
  if (err instanceof KubeApiError) {
    copyWarnings(ctx, err.headers, backend.scope);
    throw translateFailure(err, backend.scope, resourceOf(ctx), mapped, name);
  }
  throw new StatusError(
    502,
    'InternalError',
    `the control plane's answer could not be read: ${(err as Error).message}`,
  );
}

/**
 * The control plane's Status in the app's words: mapped names back to the app's, the target namespace not shown.
 * Failures of the proxy's own credential (401, or an RBAC 403 naming its ServiceAccount) are the connector's
 * problem, not the user's: 503, without revealing who the proxy is in the control plane.
 */
export function translateFailure(
  err: KubeApiError,
  scope: Scope,
  request: ResourceRequest,
  mapped: string | undefined,
  name: string | undefined,
): StatusError {
  const s = err.status;
  const original = s?.message ?? err.message;
  if (err.code === 401 || (err.code === 403 && /\bUser "system:serviceaccount:/.test(original)))
    return new StatusError(
      503,
      'ServiceUnavailable',
      err.code === 401
        ? "the connector's control-plane credential was rejected; the operator renews it (see the connection's status)"
        : `the connector's control-plane credential may not ${request.verb} ${request.resource}.${request.group}; the operator grants it (see the connection's status)`,
    );
  let message = original;
  if (mapped && name) message = message.replaceAll(mapped, name);
  if (request.namespace)
    message = message
      .replaceAll(`"${scope.targetNamespace}"`, `"${request.namespace}"`)
      .replaceAll(`namespace ${scope.targetNamespace} `, `namespace ${request.namespace} `);
  const details: StatusDetails | undefined = s?.details
    ? { ...s.details, ...(name ? { name } : {}) }
    : undefined;
  const retryAfter = err.headers['retry-after'];
  if (details && typeof retryAfter === 'string' && Number.isFinite(Number(retryAfter)))
    details.retryAfterSeconds ??= Number(retryAfter);
  return new StatusError(err.code, s?.reason ?? 'InternalError', message, details);
}

/** Warning headers from the control plane reach the client (deprecations, unknown fields), with app names. */
function copyWarnings(
  ctx: RequestContext,
  headers: Record<string, string | string[] | undefined>,
  scope: Scope,
): void {
  const warning = headers.warning;
  if (warning === undefined || ctx.res.headersSent) return;
  const values = (Array.isArray(warning) ? warning : [warning]).map((w) =>
    w.replaceAll(scope.targetNamespace, resourceOf(ctx).namespace ?? scope.targetNamespace),
  );
  ctx.res.appendHeader('warning', values);
}

/**
 * DESIGN §3's hash input joins name, namespace and cluster with "-x-", so two long names can map to one
 * control-plane name ("<l>-x-a" in "b", "<l>" in "a-x-b"). Writing by name must never reach the other claim: for
 * this request it does not exist, and server-side apply cannot create it.
 */
function guardCollision(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  request: ResourceRequest,
  mapped: string,
): void {
  const stored = backend.claims?.stored(request.group, request.version, request.resource, mapped);
  const origin = stored && originOf(stored, backend.scope);
  const name = admittedOf(ctx).name;
  if (!stored || (origin && origin.namespace === request.namespace && origin.name === name)) return;
  if (admittedOf(ctx).bodyType === 'application/apply-patch+yaml')
    throw new StatusError(
      409,
      'Conflict',
      `${request.resource}.${request.group} "${name}" cannot be stored: its control-plane name is taken by a claim of another namespace; choose another name`,
    );
  throw notFoundOf(request, name);
}

function notFoundOf(request: ResourceRequest, name: string | undefined): StatusError {
  return new StatusError(404, 'NotFound', `${request.resource}.${request.group} "${name ?? ''}" not found`, {
    ...(name ? { name } : {}),
    group: request.group,
    kind: request.resource,
  });
}

/** A watch relayed from the control plane, counted against the watch limits. */
async function forwardWatch(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  query: Record<string, string>,
): Promise<NoAnswer | undefined> {
  const request = resourceOf(ctx);
  const end = new AbortController();
  const release = backend.watches.open(userOf(ctx).name, () => end.abort());
  const signal = AbortSignal.any([ctx.signal, end.signal]);
  ctx.res.once('close', release);
  let stream;
  try {
    stream = await backend.client.stream('GET', collection, {
      query,
      headers: { accept: admittedOf(ctx).upstreamAccept, 'audit-id': ctx.auditID },
      signal,
    });
    backend.health.answered();
  } catch (err) {
    release();
    if (err instanceof KubeApiError) {
      backend.health.answered();
      throw translateFailure(err, backend.scope, request, undefined, undefined);
    }
    if (ctx.signal.aborted) return undefined;
    backend.health.failed((err as Error).message);
    return { unreachable: (err as Error).message };
  }
  const closed = backend.metrics.watchOpened(request.resource);
  ctx.res.once('close', closed);
  const contentType = stream.headers['content-type'];
  await relayWatch({
    res: ctx.res,
    body: stream.body,
    contentType: typeof contentType === 'string' ? contentType : 'application/json',
    translate: (event) => translateEvent(event, backend.scope, request.namespace),
    onEvent: () => backend.health.answered(),
    signal,
  });
  return undefined;
}

function emptyList(request: ResourceRequest, listKind: string): Obj {
  return {
    kind: listKind,
    apiVersion: `${request.group}/${request.version}`,
    metadata: { resourceVersion: '1' },
    items: [],
  };
}
