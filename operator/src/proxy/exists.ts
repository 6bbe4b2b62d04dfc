// Whether a claim exists in the control plane under this cluster's origin: asked by admission only when a user who
// may not create applies, to tell an update (allowed) from a create (refused). A live read, never the cache, which
// may be cold.
import { controlPlaneName } from '../claims/identity.ts';
import type { ServedResource } from '../catalog/catalog.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { StatusError } from './respond.ts';
import { originOf, type Scope } from './translate.ts';

export async function existsInControlPlane(
  client: KubeClient | undefined,
  scope: Scope,
  request: ResourceRequest,
  resource: ServedResource,
): Promise<boolean> {
  if (!client)
    throw new StatusError(503, 'ServiceUnavailable', 'the control-plane credential is not loaded yet');
  if (!request.name || !request.namespace) return false;
  const mapped = controlPlaneName(request.name, request.namespace, scope.clusterID);
  try {
    const stored = await client.request<Record<string, unknown>>(
      'GET',
      `/apis/${request.group}/${request.version}/namespaces/${scope.targetNamespace}/${resource.plural}/${encodeURIComponent(mapped)}`,
      { timeoutMs: 10_000 },
    );
    const origin = originOf(stored, scope);
    return origin?.namespace === request.namespace && origin.name === request.name;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw new StatusError(
      503,
      'ServiceUnavailable',
      `the control plane could not be asked whether the claim exists: ${(err as Error).message}`,
    );
  }
}
