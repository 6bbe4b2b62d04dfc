// The proxy's own admission, before anything is sent to the control plane: which served resource the request is
// for, what media types it speaks, its body (limited and decoded), the rules every object must follow, and the
// namespace it may be created in. Protected metadata — the connector's labels and annotations, ownerReferences and
// the connection Secret reference — is not checked here but imposed by construction: every body is rebuilt by the
// translation (create, update, merge and apply patches) or applied to the app view first (JSON patches, see
// storage), so no patch type can reach the stored copies of those fields.
import type { Catalog } from '../catalog/catalog.ts';
import type { ServedResource } from '../catalog/catalog.ts';
import type { Authorizer } from './authorization.ts';
import { forbidden } from './authorization.ts';
import { decodeBody, readBody } from './body.ts';
import type { Stage } from './chain.ts';
import { resourceOf, userOf, type RequestContext } from './context.ts';
import { parseOperations, type Operation } from './jsonpatch.ts';
import { bodyType, negotiate, type BodyType } from './media.ts';
import type { NamespacePhase } from './namespaces.ts';
import { checkObject, checkMergePatch, generateName, nameProblem } from './objectrules.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { noSuchResource, StatusError } from './respond.ts';

/** What admission established, for storage. */
export interface Admitted {
  resource: ServedResource;
  /** The Accept header for the control plane (JSON only). */
  upstreamAccept: string;
  bodyType: BodyType | undefined;
  /** The decoded body in the app cluster's view (validated); undefined without one. */
  body: unknown;
  /** A JSON patch's operations (applied to the app view by storage). */
  operations: Operation[] | undefined;
  /** The object's app-side name: the path's, or for a create the body's (generateName resolved). */
  name: string | undefined;
}

export interface AdmissionDeps {
  catalog: () => Catalog | undefined;
  namespacePhase: (name: string) => Promise<NamespacePhase>;
  authorize: Authorizer;
  /** Whether the claim exists in the control plane (asked only for an apply by a user who may not create). */
  exists: (request: ResourceRequest, resource: ServedResource) => Promise<boolean>;
}

const writes = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function admission(deps: AdmissionDeps): Stage {
  return async (ctx, next) => {
    const request = resourceOf(ctx);
    const resource = servedResource(deps.catalog(), request);
    const negotiated = negotiate(ctx.req.headers.accept, request.verb === 'watch');
    ctx.media = negotiated.media;
    const type = writes.has(request.verb)
      ? bodyType(request.verb, ctx.req.headers['content-type'])
      : undefined;
    const body = type ? decodeBody(await readBody(ctx.req, ctx.res), type) : undefined;
    const admitted: Admitted = {
      resource,
      upstreamAccept: negotiated.upstreamAccept,
      bodyType: type,
      body,
      operations: type === 'application/json-patch+json' ? parseOperations(body) : undefined,
      name: request.namedInPath ? request.name : undefined,
    };
    if (request.verb === 'create') admitted.name = admitCreate(request, resource, body);
    else if (request.verb === 'update' || type === 'application/apply-patch+yaml')
      checkObject(body, objectScope(request, resource));
    else if (type === 'application/merge-patch+json') checkMergePatch(body, objectScope(request, resource));
    await admitNamespace(ctx, deps, request, admitted);
    ctx.admitted = admitted;
    await next();
  };
}

/** The served resource, or 404: unknown resources, subresources other than status, cluster-scoped writes and gets. */
export function servedResource(catalog: Catalog | undefined, request: ResourceRequest): ServedResource {
  if (!catalog) throw new StatusError(503, 'ServiceUnavailable', 'the API catalog is not loaded yet');
  const resource = catalog.groupVersions
    .find((gv) => gv.group === request.group && gv.version === request.version)
    ?.resources.find((r) => r.plural === request.resource);
  if (!resource) throw noSuchResource();
  if (request.subresource && !(request.subresource === 'status' && resource.hasStatus))
    throw noSuchResource();
  if (!request.namespace && request.verb !== 'list' && request.verb !== 'watch') throw noSuchResource();
  return resource;
}

function objectScope(request: ResourceRequest, resource: ServedResource) {
  return {
    apiVersion: `${request.group}/${request.version}`,
    kind: resource.kind,
    namespace: request.namespace!,
    name: request.namedInPath ? request.name : undefined,
  };
}

/** A create's body must be an object of this kind; its name (or one generated from generateName) is returned. */
function admitCreate(request: ResourceRequest, resource: ServedResource, body: unknown): string {
  const obj = checkObject(body, objectScope(request, resource));
  const name =
    obj.metadata?.name ?? (obj.metadata?.generateName ? generateName(obj.metadata.generateName) : undefined);
  if (!name)
    throw new StatusError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required', {
      kind: resource.kind,
      causes: [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ],
    });
  const problem = nameProblem(name);
  if (problem)
    throw new StatusError(
      422,
      'Invalid',
      `${resource.kind} "${name}" is invalid: metadata.generateName: Invalid value: "${obj.metadata?.generateName ?? ''}": ${problem}`,
      {
        name,
        kind: resource.kind,
      },
    );
  return name;
}

/**
 * NamespaceLifecycle: nothing is created in a namespace that does not exist or is being deleted. An apply may create
 * too, so it is refused where the namespace is missing (in a terminating one it may only update, which the
 * namespace controller's later deletecollection cleans up either way). A user who may apply but not create is
 * refused when the apply would create, as kube-apiserver's patch handler authorizes such an apply for create too.
 */
async function admitNamespace(
  ctx: RequestContext,
  deps: AdmissionDeps,
  request: ResourceRequest,
  admitted: Admitted,
): Promise<void> {
  const creates = request.verb === 'create';
  const applies = admitted.bodyType === 'application/apply-patch+yaml' && !request.subresource;
  if ((!creates && !applies) || !request.namespace) return;
  const phase = await deps.namespacePhase(request.namespace);
  if (phase === 'Missing')
    throw new StatusError(404, 'NotFound', `namespaces "${request.namespace}" not found`, {
      name: request.namespace,
      kind: 'namespaces',
    });
  if (phase === 'Terminating' && creates)
    throw new StatusError(
      403,
      'Forbidden',
      `${admitted.resource.plural}.${request.group} "${admitted.name ?? ''}" is forbidden: unable to create new content in namespace ${request.namespace} because it is being terminated`,
      {
        causes: [
          {
            reason: 'NamespaceTerminating',
            field: 'metadata.namespace',
            message: `namespace ${request.namespace} is terminating`,
          },
        ],
      },
    );
  if (applies) {
    const user = userOf(ctx);
    // Without the name, as for any other create: one cached decision per user and namespace, not one per claim.
    const asCreate: ResourceRequest = { ...request, verb: 'create', name: undefined, namedInPath: false };
    const mayCreate = (await deps.authorize(user, asCreate)).allowed;
    if (!mayCreate && !(await deps.exists(request, admitted.resource)))
      throw forbidden(user, { ...asCreate, name: request.name });
  }
}
