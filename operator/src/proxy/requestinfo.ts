// What a request to the proxy asks for, parsed from its path and query as kube-apiserver's RequestInfo does for
// resource requests. Pure.

export interface ResourceRequest {
  group: string;
  version: string;
  /** App-cluster namespace; undefined for requests across all namespaces. */
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
}

/** Parses /apis/<g>/<v>[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]; undefined for anything else. */
export function parseResourceRequest(
  method: string,
  path: string,
  query: URLSearchParams,
): ResourceRequest | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'apis' || parts.length < 4) return undefined;
  const [, group, version] = parts as [string, string, string];
  let rest = parts.slice(3);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces') {
    return undefined; // the namespaces resource itself is not ours
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) return undefined;
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: ResourceRequest['verb'];
  switch (method) {
    case 'GET':
      verb = name ? 'get' : watch ? 'watch' : 'list';
      break;
    case 'POST':
      if (name) return undefined;
      verb = 'create';
      break;
    case 'PUT':
      if (!name) return undefined;
      verb = 'update';
      break;
    case 'PATCH':
      if (!name) return undefined;
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      return undefined;
  }
  return { group, version, namespace, resource, name, subresource, verb };
}
