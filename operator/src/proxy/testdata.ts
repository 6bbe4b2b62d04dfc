// Requests of the seed's KubernetesCluster claims, as request info parses them, for unit tests.
import type { ResourceRequest } from './requestinfo.ts';

export function claimRequest(
  verb: ResourceRequest['verb'],
  namespace?: string,
  name?: string,
): ResourceRequest {
  return {
    group: 'platform.example.org',
    version: 'v1alpha1',
    resource: 'kubernetesclusters',
    namespace,
    name,
    namedInPath: verb !== 'list' && verb !== 'watch' && name !== undefined,
    subresource: undefined,
    verb,
  };
}
