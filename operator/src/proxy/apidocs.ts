// Discovery and OpenAPI, answered from the catalog the operator writes and never from the control plane, so the
// APIServices stay Available (and the app cluster's discovery complete) whatever the control plane does.
import type { Catalog } from '../catalog/catalog.ts';
import type { Stage } from './chain.ts';
import { infoOf } from './context.ts';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  discoveryContentType,
  negotiateDiscovery,
} from './discovery.ts';
import { openAPIV2, openAPIV3, openAPIV3Root } from './openapi.ts';
import { json, noSuchResource, StatusError } from './respond.ts';

export function apiDocuments(catalogOf: () => Catalog | undefined): Stage {
  const openAPI = openAPIDocuments();
  return async (ctx, next) => {
    const info = infoOf(ctx);
    if (info.resourceRequest) return next();
    const catalog = catalogOf();
    if (!catalog) throw new StatusError(503, 'ServiceUnavailable', 'the API catalog is not loaded yet');
    const { path, verb } = info.nonResource;
    if (verb !== 'get') throw noSuchResource();
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'apis' && parts.length === 1) {
      const format = negotiateDiscovery(ctx.req.headers.accept);
      const body = format === 'legacy' ? apiGroupList(catalog) : aggregatedDiscovery(catalog, format);
      return json(ctx.res, 200, body, discoveryContentType(format));
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const group = apiGroup(catalog, parts[1]!);
      if (!group) throw noSuchResource();
      return json(ctx.res, 200, group);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = apiResourceList(catalog, parts[1]!, parts[2]!);
      if (!list) throw noSuchResource();
      return json(ctx.res, 200, list);
    }
    if (path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/v3/')) {
      const doc = openAPI(catalog, path);
      if (!doc) throw noSuchResource();
      return json(ctx.res, 200, doc);
    }
    throw noSuchResource();
  };
}

/**
 * OpenAPI documents are derived from the catalog: built once per catalog version and served path (paths that serve
 * nothing are not remembered, so made-up paths cannot grow the cache).
 */
function openAPIDocuments(): (catalog: Catalog, path: string) => Record<string, unknown> | undefined {
  let cache: { catalog: Catalog; docs: Map<string, Record<string, unknown>> } | undefined;
  return (catalog, path) => {
    if (cache?.catalog !== catalog) cache = { catalog, docs: new Map() };
    let doc = cache.docs.get(path);
    if (!doc) {
      if (path === '/openapi/v2') doc = openAPIV2(catalog);
      else if (path === '/openapi/v3') doc = openAPIV3Root(catalog);
      else {
        const [, , , , group, version, ...extra] = path.split('/');
        const gv =
          extra.length === 0
            ? catalog.groupVersions.find((g) => g.group === group && g.version === version)
            : undefined;
        doc = gv ? openAPIV3(gv) : undefined;
      }
      if (doc) cache.docs.set(path, doc);
    }
    return doc;
  };
}
