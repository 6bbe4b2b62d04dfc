// The storage backend that forwards to the control plane: the path rewritten to targetNamespace and the mapped
// name, selectors narrowed to this cluster (and namespace), bodies translated up, every answer translated back, and
// the control plane's failures turned into Statuses the client may see (never the proxy's own identity there).
import { currentScheme, type NameScheme } from '../claims/identity.ts';
import { KubeApiError, TransportError, type Exchange, type KubeClient } from '../kube/client.ts';
import type { ClaimCache } from './claimcache.ts';
import { admittedOf, resourceOf, userOf, type RequestContext } from './context.ts';
import type { UpstreamHealth } from './health.ts';
import { applyPatch } from './jsonpatch.ts';
import { candidates, locateInCache, locateLive, type Location, type Origin } from './locate.ts';
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
/** A request without an answer after this long makes the proxy ask whether the control plane answers at all. */
const suspectAfterMs = 2_000;
const jsonPatchAttempts = 5;

export async function forwardToControlPlane(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
): Promise<NoAnswer | undefined> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const { scope } = backend;
  const collection = `/apis/${request.group}/${request.version}/namespaces/${scope.targetNamespace}/${request.resource}`;
  const query: Record<string, string> = {};
  for (const key of passthroughQuery) {
    const value = ctx.info!.query.get(key);
    if (value !== null) query[key] = value;
  }
  let onlyName: string | undefined;
  if (request.verb === 'list' || request.verb === 'deletecollection' || request.verb === 'watch') {
    const selectors = narrowSelectors(ctx.info!.query, scope, request.namespace);
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
    onlyName = selectors.onlyName;
    query.labelSelector = selectors.labelSelector;
    if (selectors.fieldSelector) query.fieldSelector = selectors.fieldSelector;
  }
  if (request.verb === 'watch')
    return forwardWatch(ctx, backend, collection, { ...query, watch: 'true' }, onlyName);
  const origin =
    admitted.name && request.namespace ? { namespace: request.namespace, name: admitted.name } : undefined;
  try {
    let answer: Exchange<Obj>;
    if (request.verb === 'create') answer = await create(ctx, backend, collection, query, origin!);
    else if (request.namedInPath && request.verb === 'get')
      answer = await get(ctx, backend, collection, query, origin!);
    else if (request.namedInPath) answer = await writeNamed(ctx, backend, collection, query, origin!);
    else
      answer = await call(
        ctx,
        backend,
        ctx.req.method as 'GET',
        collection,
        query,
        admitted.body,
        contentTypeUp(ctx),
      );
    return respond(ctx, backend, answer, admitted.name, onlyName);
  } catch (err) {
    return failed(ctx, backend, err, origin);
  }
}

const subpath = (ctx: RequestContext, collection: string, name: string) => {
  const sub = resourceOf(ctx).subresource;
  return `${collection}/${encodeURIComponent(name)}${sub ? `/${sub}` : ''}`;
};

/** A get: the v2 name first, then — for claims stored before v2 — the v1 name; the origin is checked on the way back. */
async function get(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  query: Record<string, string>,
  origin: Origin,
): Promise<Exchange<Obj>> {
  const [newest, ...older] = candidates(origin, backend.scope);
  try {
    return await call(
      ctx,
      backend,
      'GET',
      subpath(ctx, collection, newest!.name),
      query,
      undefined,
      undefined,
    );
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 404) || older.length === 0) throw err;
    return call(ctx, backend, 'GET', subpath(ctx, collection, older[0]!.name), query, undefined, undefined);
  }
}

/**
 * A create: under the v2 name, unless this claim is stored already under its v1 name (AlreadyExists, as
 * kube-apiserver answers for an existing name). A v2 name that is taken the control plane refuses by itself.
 */
async function create(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  query: Record<string, string>,
  origin: Origin,
): Promise<Exchange<Obj>> {
  const request = resourceOf(ctx);
  const older = candidates(origin, backend.scope).slice(1);
  if (older.length > 0) {
    // A synced cache holds every claim of this cluster; only while it has not synced is the control plane asked.
    const synced = backend.claims?.hasSynced(request.group, request.version, request.resource);
    const legacy = synced
      ? (backend.claims?.stored(request.group, request.version, request.resource, older[0]!.name) as
          Obj | undefined)
      : await fetch(ctx, backend, collection, older[0]!.name);
    if (legacy && originMatches(legacy, origin, backend.scope)) throw alreadyExists(request, origin.name);
  }
  const body = translatedBody(ctx, backend.scope, currentScheme);
  return call(ctx, backend, 'POST', collection, query, body, contentTypeUp(ctx));
}

/**
 * update, patch (merge, apply, JSON), delete of one claim, and its status: to where the claim is stored, with its uid
 * as precondition. Where the claim cache knew the location, a conflict may mean the hint was stale: the control
 * plane is asked and the write retried once.
 */
async function writeNamed(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  query: Record<string, string>,
  origin: Origin,
): Promise<Exchange<Obj>> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const live = () => locateLive((name) => fetch(ctx, backend, collection, name), origin, backend.scope);
  const stored = (name: string) =>
    backend.claims?.stored(request.group, request.version, request.resource, name);
  let location =
    (admitted.operations ? undefined : locateInCache(stored, origin, backend.scope)) ?? (await live());
  for (;;) {
    try {
      return await writeTo(ctx, backend, collection, query, origin, location);
    } catch (err) {
      if (!staleHint(err) || location.kind !== 'found' || location.live) throw err;
      location = await live();
    }
  }
}

async function writeTo(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  query: Record<string, string>,
  origin: Origin,
  location: Location,
): Promise<Exchange<Obj>> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const applies = admitted.bodyType === 'application/apply-patch+yaml';
  if (location.kind === 'taken') {
    if (applies)
      throw new StatusError(
        409,
        'Conflict',
        `${request.resource}.${request.group} "${origin.name}" cannot be stored: its control-plane name is taken by an object of another origin; choose another name`,
      );
    throw notFoundOf(request, origin.name);
  }
  // Only an apply creates what does not exist (and not through a subresource).
  if (location.kind === 'free' && !(applies && !request.subresource)) throw notFoundOf(request, origin.name);
  const path = subpath(ctx, collection, location.name);
  if (admitted.operations && location.kind === 'found')
    return jsonPatch(ctx, backend, path, query, origin, location);
  const uid = location.kind === 'found' ? location.uid : undefined;
  const scheme = location.kind === 'found' ? location.scheme : currentScheme;
  const body =
    request.verb === 'delete'
      ? withDeletePrecondition(admitted.body, uid)
      : withUID(translatedBody(ctx, backend.scope, scheme) as Obj, uid);
  return call(ctx, backend, ctx.req.method as 'PUT', path, query, body, contentTypeUp(ctx));
}

/**
 * What a write to a stale location answers: a uid precondition that failed (409 for update and delete, 422 "field is
 * immutable" for patches, whose uid is in the body) — or any conflict, which a fresh lookup then settles.
 */
function staleHint(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return false;
  return err.code === 409 || (err.code === 422 && /metadata\.uid/.test(err.status?.message ?? err.message));
}

/** A stored object by control-plane name, or undefined for 404. */
async function fetch(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  collection: string,
  name: string,
): Promise<Obj | undefined> {
  try {
    return (
      await call(
        ctx,
        backend,
        'GET',
        `${collection}/${encodeURIComponent(name)}`,
        {},
        undefined,
        undefined,
        'application/json',
      )
    ).body;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
}

function originMatches(obj: Obj, origin: Origin, scope: Scope): boolean {
  const stored = originOf(obj, scope);
  return stored?.namespace === origin.namespace && stored.name === origin.name;
}

/** A body that names no uid gets the located object's: the write reaches that object or fails. */
function withUID(body: Obj | undefined, uid: string | undefined): Obj | undefined {
  if (!uid || !body || body.metadata?.uid) return body;
  return { ...body, metadata: { ...body.metadata, uid } };
}

function withDeletePrecondition(options: unknown, uid: string | undefined): unknown {
  if (!uid) return options;
  const given = (options && typeof options === 'object' ? options : {}) as Record<string, unknown> & {
    preconditions?: Record<string, unknown>;
  };
  if (given.preconditions?.uid) return options;
  return {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    ...given,
    preconditions: { ...given.preconditions, uid },
  };
}

function alreadyExists(request: ResourceRequest, name: string): StatusError {
  return new StatusError(
    409,
    'AlreadyExists',
    `${request.resource}.${request.group} "${name}" already exists`,
    {
      name,
      group: request.group,
      kind: request.resource,
    },
  );
}

/** What is sent up for create, update, merge and apply: the translated object, named under `scheme`. */
function translatedBody(ctx: RequestContext, scope: Scope, scheme: NameScheme): unknown {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const body = admitted.body;
  if (body === undefined) return body;
  const origin = { namespace: request.namespace!, name: admitted.name! };
  const obj = body as Obj;
  const translated = toControlPlane(obj, scope, origin, scheme);
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

/** One request to the control plane: its answer (or its absence) feeds the upstream health and the metrics. */
async function call(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  query: Record<string, string>,
  body: unknown,
  contentType: string | undefined,
  accept = admittedOf(ctx).upstreamAccept,
): Promise<Exchange<Obj>> {
  const started = performance.now();
  let code = 0;
  const waiting = setTimeout(() => backend.health.suspect(), suspectAfterMs);
  try {
    const answer = await backend.client.exchange<Obj>(method, path, {
      query,
      ...(body === undefined ? {} : { body: JSON.stringify(body), contentType }),
      headers: { accept, 'audit-id': ctx.auditID },
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
    clearTimeout(waiting);
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
  path: string,
  query: Record<string, string>,
  origin: Origin,
  located: Location & { kind: 'found' },
): Promise<Exchange<Obj>> {
  const request = resourceOf(ctx);
  const admitted = admittedOf(ctx);
  const { scope } = backend;
  const objectPath = `${path.replace(/\/status$/, '')}`;
  let current = located.object;
  for (let attempt = 1; ; attempt++) {
    const view = fromControlPlane(current, scope);
    if (!view || view.metadata?.namespace !== origin.namespace) throw notFoundOf(request, origin.name);
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
    const body = toControlPlane(obj, scope, origin, located.scheme);
    body.metadata!.resourceVersion = preconditioned ? clientVersion : current.metadata?.resourceVersion;
    body.metadata!.uid = current.metadata?.uid;
    // What the control plane holds stays: its owners, and the field managers it records for this write.
    if (current.metadata?.ownerReferences) body.metadata!.ownerReferences = current.metadata.ownerReferences;
    delete body.metadata!.managedFields;
    try {
      return await call(ctx, backend, 'PUT', path, query, body, 'application/json');
    } catch (err) {
      if (
        !(err instanceof KubeApiError && err.code === 409) ||
        preconditioned ||
        attempt >= jsonPatchAttempts
      )
        throw err;
    }
    const fresh = await call(ctx, backend, 'GET', objectPath, {}, undefined, undefined, 'application/json');
    current = fresh.body;
  }
}

function respond(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  answer: Exchange<Obj>,
  name: string | undefined,
  onlyName: string | undefined,
): undefined {
  const request = resourceOf(ctx);
  copyWarnings(ctx, answer.headers, backend.scope);
  const translated =
    answer.body === undefined
      ? undefined
      : translateResponse(answer.body, backend.scope, request.namespace, name, onlyName);
  if (!translated) throw notFoundOf(request, name);
  document(ctx.res, answer.code, translated, ctx.media);
  return undefined;
}

function failed(
  ctx: RequestContext,
  backend: ControlPlaneBackend,
  err: unknown,
  origin: Origin | undefined,
): NoAnswer {
  if (err instanceof StatusError) throw err;
  if (err instanceof TransportError) {
    if (ctx.signal.aborted) throw new StatusError(499, 'InternalError', 'the client went away');
    backend.health.failed(err.message);
    return { unreachable: err.message };
  }
  if (err instanceof KubeApiError) {
    copyWarnings(ctx, err.headers, backend.scope);
    throw translateFailure(err, backend.scope, resourceOf(ctx), origin);
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
  origin: Origin | undefined,
): StatusError {
  const name = origin?.name;
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
  for (const mapped of origin ? candidates(origin, scope) : [])
    message = message.replaceAll(mapped.name, origin!.name);
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
  onlyName: string | undefined,
): Promise<NoAnswer | undefined> {
  const request = resourceOf(ctx);
  if (backend.watches.closing()) return endedWatch(ctx);
  const end = new AbortController();
  const release = backend.watches.open(userOf(ctx).name, () => end.abort());
  const signal = AbortSignal.any([ctx.signal, end.signal]);
  ctx.res.once('close', release);
  let stream;
  const waiting = setTimeout(() => backend.health.suspect(), suspectAfterMs);
  try {
    stream = await backend.client.stream('GET', collection, {
      query,
      headers: { accept: admittedOf(ctx).upstreamAccept, 'audit-id': ctx.auditID },
      signal,
    });
    clearTimeout(waiting);
    backend.health.answered();
  } catch (err) {
    clearTimeout(waiting);
    release();
    if (err instanceof KubeApiError) {
      backend.health.answered();
      throw translateFailure(err, backend.scope, request, undefined);
    }
    if (ctx.signal.aborted) return undefined;
    // Ended by the proxy's own shutdown before the control plane answered: not an outage.
    if (end.signal.aborted) return endedWatch(ctx);
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
    translate: (event) => translateEvent(event, backend.scope, request.namespace, onlyName),
    onEvent: () => backend.health.answered(),
    signal,
  });
  return undefined;
}

/**
 * A watch the proxy will not hold because it is shutting down: an empty stream that ends at once, which clients
 * (client-go's reflector, kubectl) answer by watching again — on another replica, as the connection closes.
 */
function endedWatch(ctx: RequestContext): undefined {
  ctx.res.setHeader('connection', 'close');
  ctx.res.writeHead(200, { 'content-type': 'application/json' });
  ctx.res.end();
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
