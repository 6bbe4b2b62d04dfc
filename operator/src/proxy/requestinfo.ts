// What a request to the proxy asks for, parsed once from its raw path and query the way k8s.io/apiserver's
// RequestInfoFactory does; every later stage trusts this and nothing else re-parses the URL. Pure, and total: any
// string in gives a RequestInfo or a precise reason why the URL is malformed (answered 400), never an exception.
import type { Stage } from './chain.ts';
import { StatusError } from './respond.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  group: string;
  version: string;
  /** App-cluster namespace; undefined for requests across all namespaces. */
  namespace: string | undefined;
  resource: string;
  /**
   * The object's name: from the path, or for list and watch from a `metadata.name` field selector, as
   * kube-apiserver does so that users limited by `resourceNames` can `kubectl get NAME -w`.
   */
  name: string | undefined;
  /** True when `name` came from the path (get, update, patch, delete), not from a field selector. */
  namedInPath: boolean;
  subresource: string | undefined;
  verb: Verb;
}

/** Everything else: discovery, OpenAPI, probes. `path` is decoded, without trailing slashes. */
export interface NonResourceRequest {
  path: string;
  verb: string;
}

export type RequestInfo =
  | { resourceRequest: true; path: string; query: URLSearchParams; resource: ResourceRequest }
  | { resourceRequest: false; path: string; query: URLSearchParams; nonResource: NonResourceRequest };

export type ParsedRequest =
  | { ok: true; info: RequestInfo }
  | { ok: false; code: 400 | 405; reason: 'BadRequest' | 'MethodNotAllowed'; message: string };

const badRequest = (message: string): ParsedRequest => ({
  ok: false,
  code: 400,
  reason: 'BadRequest',
  message,
});

const methodVerbs: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Parses a request target ("/apis/g/v/namespaces/ns/plural/name?watch=1"). */
export function parseRequest(method: string, target: string): ParsedRequest {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? '' : target.slice(queryAt + 1);
  if (!rawPath.startsWith('/')) return badRequest('the request path must be absolute');
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    const segment = decode(raw);
    if (segment === undefined) return badRequest(`malformed escape in the path segment "${raw}"`);
    segments.push(segment);
  }
  const query = parseQuery(rawQuery);
  if (typeof query === 'string') return badRequest(query);
  const path = `/${segments.join('/')}`;
  const resource = resourceRequest(method, segments, query);
  if (resource === 'invalid')
    return {
      ok: false,
      code: 405,
      reason: 'MethodNotAllowed',
      message: `the server does not allow ${method} on ${path}`,
    };
  if (resource) return { ok: true, info: { resourceRequest: true, path, query, resource } };
  return {
    ok: true,
    info: {
      resourceRequest: false,
      path,
      query,
      nonResource: { path, verb: (methodVerbs[method] ?? method).toLowerCase() },
    },
  };
}

/** decodeURIComponent without the exception: undefined for a malformed escape or invalid UTF-8. */
function decode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * Strict query parsing: URLSearchParams silently keeps malformed escapes ("%ZZ" stays "%ZZ"), which would then be
 * sent on as a different selector than the client wrote.
 */
function parseQuery(raw: string): URLSearchParams | string {
  const query = new URLSearchParams();
  if (raw === '') return query;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [rawKey, rawValue] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const key = decode(rawKey.replaceAll('+', ' '));
    const value = decode(rawValue.replaceAll('+', ' '));
    if (key === undefined || value === undefined)
      return `malformed escape in the query parameter "${rawKey}"`;
    query.append(key, value);
  }
  return query;
}

/**
 * /apis/<g>/<v>[/watch][/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]. undefined for a path that is not a
 * resource request (discovery: /apis, /apis/<g>, /apis/<g>/<v>), 'invalid' for a method the path does not take.
 */
function resourceRequest(
  method: string,
  segments: string[],
  query: URLSearchParams,
): ResourceRequest | 'invalid' | undefined {
  if (segments[0] !== 'apis' || segments.length < 4) return undefined;
  const [, group, version] = segments as [string, string, string];
  let rest = segments.slice(3);
  // The deprecated /watch/ prefix, still served by kube-apiserver.
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces') {
    // /namespaces and /namespaces/<ns> are the namespaces resource itself, which is not ours.
    if (rest.length < 3) return undefined;
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, pathName, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) return undefined;
  const watchParam = query.get('watch');
  const watch = watchPrefix || watchParam === 'true' || watchParam === '1';
  let verb: Verb;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = watch ? 'watch' : pathName ? 'get' : 'list';
      break;
    case 'POST':
      if (pathName) return 'invalid';
      verb = 'create';
      break;
    case 'PUT':
      if (!pathName) return 'invalid';
      verb = 'update';
      break;
    case 'PATCH':
      if (!pathName) return 'invalid';
      verb = 'patch';
      break;
    case 'DELETE':
      verb = pathName ? 'delete' : 'deletecollection';
      break;
    default:
      return 'invalid';
  }
  let name = pathName;
  if (!name && (verb === 'list' || verb === 'watch')) name = fieldSelectorName(query.get('fieldSelector'));
  return {
    group,
    version,
    namespace,
    resource,
    name,
    namedInPath: pathName !== undefined,
    subresource,
    verb,
  };
}

/** The name a field selector requires exactly (`metadata.name=x` or `==`), as fields.RequiresExactMatch. */
export function fieldSelectorName(selector: string | null): string | undefined {
  if (!selector) return undefined;
  for (const term of selector.split(',')) {
    const match = /^\s*metadata\.name\s*(==|=)\s*(.*?)\s*$/.exec(term);
    if (match) return match[2];
  }
  return undefined;
}

/** The request-info stage: parses once, answers 400 (or 405) for what cannot be parsed. */
export function requestInfo(): Stage {
  return async (ctx, next) => {
    const parsed = parseRequest(ctx.req.method ?? 'GET', ctx.req.url ?? '/');
    if (!parsed.ok) throw new StatusError(parsed.code, parsed.reason, parsed.message);
    ctx.info = parsed.info;
    await next();
  };
}
