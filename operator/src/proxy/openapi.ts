// OpenAPI documents for the served claims, built from the catalog (the CRDs' own schemas): v3 per group/version
// (proxied to us as-is by the aggregator; kubectl explain, kubectl's patch-type choice and server-side field
// validation read it) and v2 (merged by the aggregator into kube-apiserver's; Argo CD's diffing reads it).
// PATCH never offers strategic merge, exactly like CRDs. Pure.
import { createHash } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.ts';
import type { ServedGroupVersion, ServedResource } from '../catalog/catalog.ts';

type Doc = Record<string, unknown>;

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Definition name as Kubernetes spells it: reversed group, version, kind (e.g. org.example.platform.v1alpha1.X). */
export function definitionName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

function gvk(gv: ServedGroupVersion, kind: string) {
  return [{ group: gv.group, version: gv.version, kind }];
}

function objectSchema(gv: ServedGroupVersion, r: ServedResource, ref: (name: string) => Doc): Doc {
  const schema = structuredClone(
    r.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  ) as Doc & {
    properties?: Record<string, unknown>;
  };
  schema.properties = {
    ...schema.properties,
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    },
    metadata: ref(`${meta}.ObjectMeta`),
  };
  return { ...schema, 'x-kubernetes-group-version-kind': gvk(gv, r.kind) };
}

function listSchema(gv: ServedGroupVersion, r: ServedResource, ref: (name: string) => Doc): Doc {
  return {
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: ref(`${meta}.ListMeta`),
      items: { type: 'array', items: ref(definitionName(gv.group, gv.version, r.kind)) },
    },
    'x-kubernetes-group-version-kind': gvk(gv, r.listKind),
  };
}

/** Shared meta types, kept open: the apiserver validates them, the documents only describe. */
const metaTypes: Record<string, Doc> = {
  [`${meta}.ObjectMeta`]: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    description: 'Standard object metadata.',
  },
  [`${meta}.ListMeta`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  [`${meta}.Status`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  [`${meta}.DeleteOptions`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  [`${meta}.Patch`]: {
    type: 'object',
    description: 'A patch: JSON patch, JSON merge patch or an apply configuration.',
  },
};

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  action: string;
  id: string;
  kind: string;
  request?: string;
  response: string;
  query: string[];
}

function operations(gv: ServedGroupVersion, r: ServedResource): Record<string, Operation[]> {
  const K = r.kind;
  const obj = definitionName(gv.group, gv.version, K);
  const list = definitionName(gv.group, gv.version, r.listKind);
  const status = `${meta}.Status`;
  const deleteOptions = `${meta}.DeleteOptions`;
  const writes = ['dryRun', 'fieldManager', 'fieldValidation'];
  const patches = [...writes, 'force'];
  const listQuery = [
    'labelSelector',
    'fieldSelector',
    'limit',
    'continue',
    'resourceVersion',
    'resourceVersionMatch',
  ];
  const watchQuery = [...listQuery, 'timeoutSeconds', 'watch', 'allowWatchBookmarks', 'sendInitialEvents'];
  const op = (
    method: Operation['method'],
    action: string,
    id: string,
    response: string,
    query: string[],
    request?: string,
  ): Operation => ({
    method,
    action,
    id,
    kind: K,
    response,
    query,
    ...(request ? { request } : {}),
  });
  const collection = `/apis/${gv.group}/${gv.version}/namespaces/{namespace}/${r.plural}`;
  const item = `${collection}/{name}`;
  const paths: Record<string, Operation[]> = {
    [`/apis/${gv.group}/${gv.version}/${r.plural}`]: [
      op('get', 'list', `list${K}ForAllNamespaces`, list, watchQuery),
    ],
    [collection]: [
      op('get', 'list', `listNamespaced${K}`, list, watchQuery),
      op('post', 'post', `createNamespaced${K}`, obj, writes, obj),
      op(
        'delete',
        'deletecollection',
        `deleteCollectionNamespaced${K}`,
        status,
        [...listQuery, 'dryRun', 'propagationPolicy'],
        deleteOptions,
      ),
    ],
    [item]: [
      op('get', 'get', `readNamespaced${K}`, obj, ['resourceVersion']),
      op('put', 'put', `replaceNamespaced${K}`, obj, writes, obj),
      op('patch', 'patch', `patchNamespaced${K}`, obj, patches, `${meta}.Patch`),
      op(
        'delete',
        'delete',
        `deleteNamespaced${K}`,
        status,
        ['dryRun', 'gracePeriodSeconds', 'propagationPolicy'],
        deleteOptions,
      ),
    ],
  };
  if (r.hasStatus) {
    paths[`${item}/status`] = [
      op('get', 'get', `readNamespaced${K}Status`, obj, []),
      op('put', 'put', `replaceNamespaced${K}Status`, obj, writes, obj),
      op('patch', 'patch', `patchNamespaced${K}Status`, obj, patches, `${meta}.Patch`),
    ];
  }
  return paths;
}

function pathParameters(path: string): Doc[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

/** The OpenAPI v3 document of one group/version. */
export function openAPIV3(gv: ServedGroupVersion): Doc {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const schemas: Record<string, Doc> = { ...metaTypes };
  const paths: Record<string, Doc> = {};
  for (const r of gv.resources) {
    schemas[definitionName(gv.group, gv.version, r.kind)] = objectSchema(gv, r, ref);
    schemas[definitionName(gv.group, gv.version, r.listKind)] = listSchema(gv, r, ref);
    for (const [path, ops] of Object.entries(operations(gv, r))) {
      const entry: Doc = { parameters: pathParameters(path) };
      for (const op of ops) {
        const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
        entry[op.method] = {
          operationId: op.id,
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': { group: gv.group, version: gv.version, kind: op.kind },
          parameters: op.query.map((name) => ({
            name,
            in: 'query',
            schema: { type: name === 'force' || name === 'watch' ? 'boolean' : 'string' },
          })),
          ...(op.request
            ? {
                requestBody: {
                  content:
                    op.method === 'patch'
                      ? Object.fromEntries(patchTypes.map((t) => [t, { schema: ref(op.request!) }]))
                      : json(op.request),
                },
              }
            : {}),
          responses: {
            '200': { description: 'OK', content: json(op.response) },
            ...(op.method === 'post'
              ? { '201': { description: 'Created', content: json(op.response) } }
              : {}),
          },
        };
      }
      paths[path] = entry;
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'ctp-connector', version: `${gv.group}/${gv.version}` },
    paths,
    components: { schemas },
  };
}

/** The OpenAPI v3 root: where each group/version's document is, with a hash that changes with it. */
export function openAPIV3Root(catalog: Catalog): Doc {
  return {
    paths: Object.fromEntries(
      catalog.groupVersions.map((gv) => [
        `apis/${gv.group}/${gv.version}`,
        {
          serverRelativeURL: `/openapi/v3/apis/${gv.group}/${gv.version}?hash=${documentHash(openAPIV3(gv))}`,
        },
      ]),
    ),
  };
}

/** Swagger 2.0 for all served group/versions (the aggregator merges it into kube-apiserver's /openapi/v2). */
export function openAPIV2(catalog: Catalog): Doc {
  const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
  const definitions: Record<string, Doc> = { ...metaTypes };
  const paths: Record<string, Doc> = {};
  for (const gv of catalog.groupVersions) {
    for (const r of gv.resources) {
      definitions[definitionName(gv.group, gv.version, r.kind)] = objectSchema(gv, r, ref);
      definitions[definitionName(gv.group, gv.version, r.listKind)] = listSchema(gv, r, ref);
      for (const [path, ops] of Object.entries(operations(gv, r))) {
        const entry: Doc = {
          parameters: [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
            name: m[1],
            in: 'path',
            required: true,
            type: 'string',
          })),
        };
        for (const op of ops) {
          entry[op.method] = {
            operationId: op.id,
            'x-kubernetes-action': op.action,
            'x-kubernetes-group-version-kind': { group: gv.group, version: gv.version, kind: op.kind },
            consumes: op.method === 'patch' ? patchTypes : ['application/json'],
            produces: ['application/json'],
            parameters: [
              ...op.query.map((name) => ({
                name,
                in: 'query',
                type: name === 'force' || name === 'watch' ? 'boolean' : 'string',
              })),
              ...(op.request ? [{ name: 'body', in: 'body', required: true, schema: ref(op.request) }] : []),
            ],
            responses: { '200': { description: 'OK', schema: ref(op.response) } },
          };
        }
        paths[path] = entry;
      }
    }
  }
  return { swagger: '2.0', info: { title: 'ctp-connector', version: 'v1' }, paths, definitions };
}

export function documentHash(doc: Doc): string {
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 32).toUpperCase();
}
