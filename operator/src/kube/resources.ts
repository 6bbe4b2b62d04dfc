// REST paths of the kinds the connector manages, and server-side apply with one field manager. A fixed table
// rather than discovery: these are stable built-in APIs, and the table keeps every call free of lookups.
import type { KubeClient } from './client.ts';
import { isNotFound } from './client.ts';

export const fieldManager = 'ctp-connector';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    generation?: number;
  };
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

const kinds: Record<string, { base: string; plural: string; namespaced: boolean }> = {
  'v1/Secret': { base: '/api/v1', plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { base: '/api/v1', plural: 'configmaps', namespaced: true },
  'v1/ServiceAccount': { base: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { base: '/api/v1', plural: 'services', namespaced: true },
  'v1/Namespace': { base: '/api/v1', plural: 'namespaces', namespaced: false },
  'apps/v1/Deployment': { base: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  'policy/v1/PodDisruptionBudget': {
    base: '/apis/policy/v1',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  'rbac.authorization.k8s.io/v1/Role': {
    base: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'roles',
    namespaced: true,
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    base: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'rolebindings',
    namespaced: true,
  },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    base: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'clusterroles',
    namespaced: false,
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    base: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': {
    base: '/apis/admissionregistration.k8s.io/v1',
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': {
    base: '/apis/admissionregistration.k8s.io/v1',
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  'apiregistration.k8s.io/v1/APIService': {
    base: '/apis/apiregistration.k8s.io/v1',
    plural: 'apiservices',
    namespaced: false,
  },
  'connect.ctp.dev/v1alpha1/ControlPlaneConnection': {
    base: '/apis/connect.ctp.dev/v1alpha1',
    plural: 'controlplaneconnections',
    namespaced: false,
  },
};

/** Collection path of a kind (in a namespace for namespaced kinds). */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const info = kinds[`${apiVersion}/${kind}`];
  if (!info) throw new Error(`no REST mapping for ${apiVersion} ${kind}`);
  if (info.namespaced && !namespace) throw new Error(`${kind} is namespaced: a namespace is required`);
  return info.namespaced
    ? `${info.base}/namespaces/${namespace}/${info.plural}`
    : `${info.base}/${info.plural}`;
}

export function objectPath(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
}

/**
 * Server-side apply of the fields in `obj` under the connector's field manager (conflicts forced: we own them).
 * Another manager is for another actor on the same object (the CLI): one manager's apply drops the fields it
 * applied before and omits now, so two actors must never share one.
 */
export function apply<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  subresource?: 'status',
  manager: string = fieldManager,
): Promise<T> {
  return client.request<T>('PATCH', objectPath(obj) + (subresource ? `/${subresource}` : ''), {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: manager, force: true },
  });
}

export async function get<T extends KubeObject>(
  client: KubeClient,
  ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>,
): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', objectPath(ref));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Deletes an object; absent counts as deleted. */
export async function remove(
  client: KubeClient,
  ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>,
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
): Promise<void> {
  try {
    await client.request('DELETE', objectPath(ref), { body: { propagationPolicy } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function list<T extends KubeObject>(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  options: { namespace?: string; labelSelector?: string } = {},
): Promise<T[]> {
  const result = await client.request<{ items: T[] }>(
    'GET',
    collectionPath(apiVersion, kind, options.namespace),
    {
      query: { labelSelector: options.labelSelector },
    },
  );
  return result.items.map((item) => ({ ...item, apiVersion, kind }));
}
