// One APIService per served group/version, pointing at the connection's proxy Service. An APIService that
// someone else owns — a CRD or built-in group of this cluster (automanaged), another connection, anything else —
// is a conflict: reported, never overwritten. Pure.
import type { KubeObject } from '../kube/resources.ts';
import type { ServedGroupVersion } from '../catalog/catalog.ts';
import { connectionLabel, managedByLabels } from './names.ts';

export interface APIService extends KubeObject {
  spec?: {
    group?: string;
    version?: string;
    service?: { name: string; namespace: string; port?: number } | null;
    caBundle?: string;
    groupPriorityMinimum?: number;
    versionPriority?: number;
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface ProxyEndpoint {
  namespace: string;
  service: string;
  port: number;
}

export const apiServiceName = (gv: { group: string; version: string }) => `${gv.version}.${gv.group}`;

export function desiredAPIServices(
  owner: KubeObject['metadata']['ownerReferences'],
  connection: string,
  groupVersions: readonly ServedGroupVersion[],
  endpoint: ProxyEndpoint,
  caPem: string,
): APIService[] {
  return groupVersions.map((gv) => ({
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: {
      name: apiServiceName(gv),
      labels: { ...managedByLabels, [connectionLabel]: connection },
      ownerReferences: owner,
    },
    spec: {
      group: gv.group,
      version: gv.version,
      service: { name: endpoint.service, namespace: endpoint.namespace, port: endpoint.port },
      caBundle: Buffer.from(caPem).toString('base64'),
      // Below the 18000+ of built-in groups and CRDs' 1000 defaults would tie; claims come after them in kubectl.
      groupPriorityMinimum: 1000,
      versionPriority: 15,
    },
  }));
}

export interface Conflict {
  apiService: string;
  owner: string;
}

/** Desired APIServices that exist already under another owner. */
export function conflicts(
  desired: readonly APIService[],
  existing: readonly APIService[],
  connection: string,
): Conflict[] {
  const byName = new Map(existing.map((a) => [a.metadata.name, a]));
  const result: Conflict[] = [];
  for (const want of desired) {
    const have = byName.get(want.metadata.name);
    if (!have) continue;
    const labels = have.metadata.labels ?? {};
    if (labels[connectionLabel] === connection) continue;
    let owner: string;
    if (labels['kube-aggregator.kubernetes.io/automanaged'] === 'true') {
      owner = have.spec?.service
        ? 'an automanaged APIService'
        : `a CustomResourceDefinition or built-in API of this cluster`;
    } else if (labels[connectionLabel]) {
      owner = `ControlPlaneConnection ${labels[connectionLabel]}`;
    } else {
      const svc = have.spec?.service;
      owner = svc
        ? `another aggregated API server (service ${svc.namespace}/${svc.name})`
        : 'this cluster itself';
    }
    result.push({ apiService: want.metadata.name, owner });
  }
  return result;
}

export function available(apiService: APIService | undefined): { available: boolean; message: string } {
  const condition = apiService?.status?.conditions?.find((c) => c.type === 'Available');
  if (!condition) return { available: false, message: 'not yet checked by the aggregator' };
  return {
    available: condition.status === 'True',
    message:
      condition.status === 'True'
        ? 'Available'
        : `${condition.reason ?? 'Unavailable'}: ${condition.message ?? ''}`,
  };
}
