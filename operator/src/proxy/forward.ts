// Claim requests, forwarded to the control plane: the path is rewritten to targetNamespace and the mapped name,
// bodies are translated up, every response is translated back, and selectors are narrowed so a request can only
// ever reach this cluster's (and this namespace's) claims.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { load } from 'js-yaml';
import { controlPlaneName, originSelector } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { describeNetworkError, KubeApiError, type KubeClient } from '../kube/client.ts';
import type { ClaimCache } from './claimcache.ts';
import { answerFromCache, namespaceIsEmpty } from './local.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { json, status } from './respond.ts';
import {
  connectionSecretAnnotation,
  fromControlPlane,
  originOf,
  toControlPlane,
  type Scope,
} from './translate.ts';

export const maxBodyBytes = 3 * 1024 * 1024;

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
  'allowWatchBookmarks',
  'sendInitialEvents',
];

export interface ForwardContext {
  catalog: Catalog;
  upstream: KubeClient | undefined;
  /** The aggregator's Audit-ID (or one of ours), sent on so both clusters' audit logs can be joined. */
  auditID: string;
  metrics: ProxyMetrics;
  /** This cluster's claims as last seen, and whether the control plane answers (absent while starting). */
  claims: ClaimCache | undefined;
}

type Obj = Record<string, unknown> & {
  metadata?: Record<string, unknown> & { name?: string; namespace?: string; generateName?: string };
};

export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  info: ResourceRequest,
  query: URLSearchParams,
  ctx: ForwardContext,
): Promise<void> {
  const scope: Scope = { clusterID: ctx.catalog.clusterID, targetNamespace: ctx.catalog.targetNamespace };
  const resource = ctx.catalog.groupVersions
    .find((gv) => gv.group === info.group && gv.version === info.version)
    ?.resources.find((r) => r.plural === info.resource);
  if (!resource) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
  if (info.subresource && !(info.subresource === 'status' && resource.hasStatus)) {
    return status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }
  if (!info.namespace && info.verb !== 'list' && info.verb !== 'watch') {
    return status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }
  if (!ctx.upstream)
    return status(res, 503, 'ServiceUnavailable', 'the control-plane credential is not loaded yet');

  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  if (info.verb === 'patch' && contentType === 'application/strategic-merge-patch+json') {
    return status(
      res,
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
  }

  // Taken only where it can answer: a view copies every cached claim of the resource.
  const cached = (...verbs: string[]) =>
    verbs.includes(info.verb) ? ctx.claims?.view(info.group, info.version, info.resource) : undefined;
  if (ctx.claims && !ctx.claims.available()) {
    // Reads come from the cache (so does deleting nothing: namespace deletion); other writes fail at once.
    const view = cached('get', 'list', 'deletecollection');
    const answer = view && answerFromCache(info, query, req.headers.accept, view, scope, resource);
    if (answer) return json(res, answer.code, answer.body);
    return unavailable(res, 'the control plane is unreachable; retry shortly');
  }
  const view = info.namespace ? cached('list', 'deletecollection') : undefined;
  if (view && info.namespace && namespaceIsEmpty(view, scope, info.namespace)) {
    const answer = answerFromCache(info, query, req.headers.accept, view, scope, resource);
    if (answer) return json(res, answer.code, answer.body);
  }

  const base = `/apis/${info.group}/${info.version}/namespaces/${scope.targetNamespace}/${info.resource}`;
  const params: Record<string, string> = {};
  for (const key of passthroughQuery) {
    const value = query.get(key);
    if (value !== null) params[key] = value;
  }

  let body: unknown;
  let name = info.name;
  if (
    info.verb === 'create' ||
    info.verb === 'update' ||
    info.verb === 'patch' ||
    info.verb === 'delete' ||
    info.verb === 'deletecollection'
  ) {
    const raw = await readBody(req);
    if (raw === undefined)
      return status(
        res,
        413,
        'RequestEntityTooLarge',
        `the request body is larger than ${maxBodyBytes} bytes`,
      );
    if (raw.length > 0) {
      try {
        body = contentType === 'application/apply-patch+yaml' ? load(raw) : JSON.parse(raw);
      } catch (err) {
        return status(
          res,
          400,
          'BadRequest',
          `the request body is not valid ${contentType}: ${(err as Error).message}`,
        );
      }
    }
  }
  const namespace = info.namespace;
  if (
    namespace &&
    body &&
    typeof body === 'object' &&
    !Array.isArray(body) &&
    (info.verb === 'create' || info.verb === 'update' || info.verb === 'patch')
  ) {
    const obj = body as Obj;
    const bodyNamespace = obj.metadata?.namespace;
    if (bodyNamespace && bodyNamespace !== namespace) {
      return status(
        res,
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (info.verb === 'create') {
      name =
        obj.metadata?.name ??
        (obj.metadata?.generateName
          ? `${obj.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`
          : undefined);
      if (!name)
        return status(res, 422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
      delete obj.metadata?.generateName;
    }
    if (name && obj.metadata?.name && obj.metadata.name !== name) {
      return status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
    }
    if (info.verb !== 'patch' || contentType !== 'application/json-patch+json') {
      body = toControlPlane(obj, scope, { namespace, name: name! });
      if (info.verb === 'patch' && contentType === 'application/merge-patch+json' && !obj.metadata?.name) {
        // A merge patch that does not name the object must not rename it.
        delete (body as Obj).metadata!.name;
        delete (body as Obj).metadata!.namespace;
      }
    }
  }
  if (
    Array.isArray(body) &&
    body.some((op: { path?: string }) =>
      /^\/metadata\/(name|namespace)$|connect\.ctp\.dev~1/.test(op.path ?? ''),
    )
  ) {
    return status(
      res,
      422,
      'Invalid',
      'a JSON patch may not change metadata.name, metadata.namespace or connect.ctp.dev metadata',
    );
  }

  const mappedName = name ? controlPlaneName(name, namespace ?? '', scope.clusterID) : undefined;
  let path = base;
  if (mappedName && info.verb !== 'create') path += `/${encodeURIComponent(mappedName)}`;
  if (info.subresource) path += `/${info.subresource}`;
  if (info.verb === 'list' || info.verb === 'deletecollection') {
    const selectors = narrowSelectors(query, scope, namespace);
    if (!selectors) return json(res, 200, emptyList(info, resource.listKind));
    Object.assign(params, selectors);
  }
  const accept = stripBinary(req.headers.accept);
  if (info.verb === 'watch') {
    const selectors = narrowSelectors(query, scope, namespace);
    if (!selectors)
      return status(res, 400, 'BadRequest', 'the field selector names another namespace than the request');
    return forwardWatch(
      res,
      { ...ctx, upstream: ctx.upstream },
      base,
      { ...params, ...selectors, watch: 'true' },
      accept,
      namespace,
    );
  }

  if (
    mappedName &&
    namespace &&
    (info.verb === 'update' || info.verb === 'patch' || info.verb === 'delete')
  ) {
    // DESIGN §3's hash input joins name, namespace and cluster with "-x-", so two long names can map to one
    // control-plane name ("<l>-x-a" in "b", "<l>" in "a-x-b"). Writing by name must never reach the other claim:
    // for this request it does not exist, and server-side apply cannot create it.
    const stored = ctx.claims?.stored(info.group, info.version, info.resource, mappedName);
    const origin = stored && originOf(stored, scope);
    if (stored && (origin?.namespace !== namespace || origin.name !== name)) {
      if (contentType === 'application/apply-patch+yaml')
        return status(
          res,
          409,
          'Conflict',
          `${resource.plural}.${info.group} "${name}" cannot be stored: its control-plane name is taken by a claim of another namespace; choose another name`,
        );
      return status(res, 404, 'NotFound', `${resource.plural}.${info.group} "${name}" not found`);
    }
  }

  const started = performance.now();
  const observeUpstream = (code: number) =>
    ctx.metrics.upstream({ verb: info.verb, code }, (performance.now() - started) / 1000);
  try {
    const response = await ctx.upstream.request<Obj>(req.method as 'GET', path, {
      query: params,
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType:
        contentType === 'application/apply-patch+yaml' ? 'application/apply-patch+yaml' : contentType,
      headers: { accept, 'audit-id': ctx.auditID },
      timeoutMs: 55_000,
    });
    observeUpstream(info.verb === 'create' ? 201 : 200);
    ctx.claims?.reached();
    const translated = translateResponse(response, scope, namespace, name);
    if (!translated)
      return status(res, 404, 'NotFound', `${resource.plural}.${info.group} "${name ?? ''}" not found`);
    return json(res, info.verb === 'create' ? 201 : 200, translated);
  } catch (err) {
    observeUpstream(err instanceof KubeApiError ? err.code : 0);
    if (!(err instanceof KubeApiError)) {
      ctx.claims?.unreachable(describeNetworkError(err));
      const view = cached('get', 'list');
      const answer = view && answerFromCache(info, query, req.headers.accept, view, scope, resource);
      if (answer) return json(res, answer.code, answer.body);
    } else ctx.claims?.reached();
    if (err instanceof KubeApiError) {
      const s = err.status;
      const message = (s?.message ?? err.message).replaceAll(mappedName ?? '\0', name ?? '');
      return json(res, err.code, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason: s?.reason ?? 'InternalError',
        code: err.code,
        ...(s?.details ? { details: { ...s.details, ...(name ? { name } : {}) } } : {}),
      });
    }
    return unavailable(res, `the control plane is unreachable: ${(err as Error).message}`);
  }
}

/**
 * 503 without Retry-After: controllers (Argo CD, Flux, client-go informers) retry a 503 on their own, while a
 * Retry-After header would make kubectl and client-go repeat the write up to ten times and hang the user.
 */
function unavailable(res: ServerResponse, message: string): void {
  status(res, 503, 'ServiceUnavailable', message);
}

/** The label (and field) selectors sent up: always this cluster, and the namespace asked for; undefined = empty. */
function narrowSelectors(
  query: URLSearchParams,
  scope: Scope,
  namespace: string | undefined,
): Record<string, string> | undefined {
  let ns = namespace;
  const fields: string[] = [];
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const match = /^metadata\.(name|namespace)(==|=|!=)(.*)$/.exec(term);
    if (match?.[1] === 'namespace' && match[2] !== '!=') {
      if (ns && ns !== match[3]) return undefined;
      ns = match[3];
    } else if (match?.[1] === 'name' && match[2] !== '!=' && ns) {
      fields.push(`metadata.name=${controlPlaneName(match[3]!, ns, scope.clusterID)}`);
    } else if (match?.[1] === 'name') {
      // A name across namespaces: filter on the app-name label instead.
      const label = `connect.ctp.dev/app-name${match[2] === '!=' ? '!=' : '='}${match[3]}`;
      fields.push(`label:${label}`);
    } else {
      fields.push(term);
    }
  }
  const labels = [originSelector(scope.clusterID, ns)];
  const user = query.get('labelSelector');
  if (user) labels.push(user);
  const fieldTerms = fields.filter((f) => !f.startsWith('label:'));
  labels.push(...fields.filter((f) => f.startsWith('label:')).map((f) => f.slice(6)));
  return {
    labelSelector: labels.join(','),
    ...(fieldTerms.length ? { fieldSelector: fieldTerms.join(',') } : {}),
  };
}

function translateResponse(
  obj: Obj,
  scope: Scope,
  namespace: string | undefined,
  name: string | undefined,
): Obj | undefined {
  const kind = obj.kind as string | undefined;
  if (kind === 'Status') {
    const details = obj.details as { name?: string } | undefined;
    return details && name ? { ...obj, details: { ...details, name } } : obj;
  }
  if (kind === 'Table') {
    const rows = ((obj.rows as { cells: unknown[]; object?: Obj }[] | undefined) ?? []).flatMap((row) => {
      const object = row.object ? fromControlPlane(row.object, scope) : undefined;
      if (row.object && !object) return [];
      if (namespace && object?.metadata?.namespace !== namespace) return [];
      // Printer columns show stored values: put the app-side names back (name, connection secret).
      const annotations = row.object?.metadata?.annotations as Record<string, string> | undefined;
      const secret = annotations?.[connectionSecretAnnotation];
      const appNamespace = object?.metadata?.namespace;
      const mappedSecret =
        secret && appNamespace ? controlPlaneName(secret, appNamespace, scope.clusterID) : undefined;
      const cells = row.cells.map((cell, i) =>
        i === 0 && object?.metadata?.name
          ? object.metadata.name
          : mappedSecret && cell === mappedSecret
            ? secret
            : cell,
      );
      return [{ ...row, cells, ...(object ? { object } : {}) }];
    });
    return { ...obj, rows };
  }
  if (Array.isArray(obj.items)) {
    const items = (obj.items as Obj[])
      .map((item) => fromControlPlane(item, scope))
      .filter((item): item is Obj => Boolean(item));
    return { ...obj, items: namespace ? items.filter((i) => i.metadata?.namespace === namespace) : items };
  }
  const translated = fromControlPlane(obj, scope);
  if (!translated) return undefined;
  if (namespace && translated.metadata?.namespace !== namespace) return undefined;
  return translated;
}

/**
 * Streams a watch from the control plane, translating every event; bookmarks and errors (410 Expired included)
 * pass through. Ends when either side does: a client that goes away aborts the upstream watch.
 */
async function forwardWatch(
  res: ServerResponse,
  ctx: ForwardContext & { upstream: KubeClient },
  path: string,
  query: Record<string, string>,
  accept: string,
  namespace: string | undefined,
): Promise<void> {
  const scope: Scope = { clusterID: ctx.catalog.clusterID, targetNamespace: ctx.catalog.targetNamespace };
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let stream;
  try {
    stream = await ctx.upstream.stream('GET', path, {
      query,
      headers: { accept, 'audit-id': ctx.auditID },
      signal: abort.signal,
    });
  } catch (err) {
    if (err instanceof KubeApiError) {
      return json(res, err.code, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        ...err.status,
        code: err.code,
      });
    }
    return status(
      res,
      503,
      'ServiceUnavailable',
      `the control plane is unreachable: ${(err as Error).message}`,
    );
  }
  const closed = ctx.metrics.watchOpened(path.slice(path.lastIndexOf('/') + 1));
  res.once('close', closed);
  const contentType = stream.headers['content-type'];
  res.writeHead(200, { 'content-type': typeof contentType === 'string' ? contentType : 'application/json' });
  res.flushHeaders();
  let pending = '';
  try {
    for await (const chunk of stream.body) {
      pending += chunk.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        const event = translateEvent(JSON.parse(line) as { type: string; object: Obj }, scope, namespace);
        if (event) res.write(`${JSON.stringify(event)}\n`);
      }
    }
  } catch (err) {
    if (!abort.signal.aborted)
      res.write(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', code: 500, message: `watch from the control plane ended: ${(err as Error).message}` } })}\n`,
      );
  }
  res.end();
}

function translateEvent(
  event: { type: string; object: Obj },
  scope: Scope,
  namespace: string | undefined,
): { type: string; object: Obj } | undefined {
  if (event.type === 'BOOKMARK' || event.type === 'ERROR') return event;
  const object = translateResponse(event.object, scope, namespace, undefined);
  if (!object) return undefined;
  // A Table event carries one row; a row of another cluster or namespace means the event is not ours.
  if (
    object.kind === 'Table' &&
    Array.isArray(event.object.rows) &&
    event.object.rows.length > 0 &&
    (object.rows as unknown[]).length === 0
  ) {
    return undefined;
  }
  return { type: event.type, object };
}

function emptyList(info: ResourceRequest, listKind: string): Obj {
  return {
    kind: listKind,
    apiVersion: `${info.group}/${info.version}`,
    metadata: { resourceVersion: '1' },
    items: [],
  };
}

/** Protobuf and CBOR cannot be rewritten; every client also accepts JSON. */
function stripBinary(accept: string | undefined): string {
  const kept = (accept ?? 'application/json')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => !/protobuf|cbor/.test(t));
  return kept.length ? kept.join(',') : 'application/json';
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
