// Scoped credentials: with the connection's (usually broad) credential, the operator creates in the control plane
// a ServiceAccount, Role and RoleBinding limited to targetNamespace and the claim APIs, and requests short-lived
// tokens for it. The proxy only ever holds such a token. Names include a hash of the clusterID so that several app
// clusters sharing a namespace each get their own identity — and since RBAC cannot tell one cluster's claims from
// another's in one namespace, a ValidatingAdmissionPolicy fences that identity's writes to objects labelled with its
// own cluster ID.
import { isForbidden, type KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/resources.ts';
import { clusterIDLabel, labelValue } from '../claims/identity.ts';
import { hashOf, managedByLabels } from './names.ts';

export function scopedIdentityName(clusterID: string): string {
  return `ctp-connector-${hashOf(clusterID, 10)}`;
}

/** ServiceAccount, Role and RoleBinding in the control plane. Pure. */
export function scopedObjects(
  targetNamespace: string,
  clusterID: string,
  groups: readonly string[],
): KubeObject[] {
  const name = scopedIdentityName(clusterID);
  const labels = { ...managedByLabels, [clusterIDLabel]: labelValue(clusterID) };
  const meta = { name, namespace: targetNamespace, labels };
  const rules: Record<string, unknown>[] = [
    // Connection Secrets of claims are read and copied back into the app cluster.
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
  ];
  if (groups.length > 0) {
    rules.unshift({ apiGroups: [...groups].sort(), resources: ['*'], verbs: ['*'] });
  }
  return [
    ...writeFence(targetNamespace, clusterID),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: targetNamespace }],
    },
  ];
}

/** The fence's name: cluster-scoped, so it names the namespace too (one clusterID may connect to several). */
export function fenceName(targetNamespace: string, clusterID: string): string {
  return `ctp-connector-${hashOf(`${targetNamespace}/${clusterID}`, 10)}`;
}

/**
 * A ValidatingAdmissionPolicy and its binding in the control plane: requests of this cluster's ServiceAccount in
 * targetNamespace may only create, update and delete objects whose connect.ctp.dev/cluster-id label is this
 * cluster's, and may not change that label. Whatever the proxy (or a stolen token) sends, another cluster's claims
 * in a shared namespace are out of its reach for writes. Pure.
 */
export function writeFence(targetNamespace: string, clusterID: string): KubeObject[] {
  const name = fenceName(targetNamespace, clusterID);
  const labels = { ...managedByLabels, [clusterIDLabel]: labelValue(clusterID) };
  const user = `system:serviceaccount:${targetNamespace}:${scopedIdentityName(clusterID)}`;
  const ours = (obj: string) =>
    `has(${obj}.metadata.labels) && '${clusterIDLabel}' in ${obj}.metadata.labels && ${obj}.metadata.labels['${clusterIDLabel}'] == '${labelValue(clusterID)}'`;
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': targetNamespace } },
          resourceRules: [
            {
              apiGroups: ['*'],
              apiVersions: ['*'],
              operations: ['CREATE', 'UPDATE', 'DELETE'],
              resources: ['*/*'], // every resource and subresource
              scope: 'Namespaced',
            },
          ],
        },
        matchConditions: [
          { name: 'this-clusters-identity', expression: `request.userInfo.username == '${user}'` },
        ],
        validations: [
          {
            expression: `request.operation == 'DELETE' || (${ours('object')})`,
            message: `the connector of cluster ${clusterID} may only write objects labelled ${clusterIDLabel}=${labelValue(clusterID)}`,
            reason: 'Forbidden',
          },
          {
            expression: `request.operation == 'CREATE' || (${ours('oldObject')})`,
            message: `the connector of cluster ${clusterID} may not change or delete objects of another cluster`,
            reason: 'Forbidden',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export async function requestToken(
  controlPlane: KubeClient,
  targetNamespace: string,
  clusterID: string,
  ttlSeconds: number,
): Promise<IssuedToken> {
  const name = scopedIdentityName(clusterID);
  const response = await controlPlane.request<{ status: { token: string; expirationTimestamp: string } }>(
    'POST',
    `/api/v1/namespaces/${targetNamespace}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: ttlSeconds },
      },
    },
  );
  return { token: response.status.token, expiresAt: new Date(response.status.expirationTimestamp) };
}

/** A token is rotated once half its lifetime has passed: "well before expiry", with room for retries. */
export function rotationDue(issuedAt: Date, expiresAt: Date): Date {
  return new Date(issuedAt.getTime() + (expiresAt.getTime() - issuedAt.getTime()) / 2);
}

/**
 * The other app clusters whose scoped identities live in targetNamespace (by their ServiceAccounts' cluster-id
 * labels); undefined when the credential may not list ServiceAccounts there.
 */
export async function otherClustersIn(
  controlPlane: KubeClient,
  targetNamespace: string,
  clusterID: string,
): Promise<string[] | undefined> {
  try {
    const list = await controlPlane.request<{ items: { metadata: { labels?: Record<string, string> } }[] }>(
      'GET',
      `/api/v1/namespaces/${targetNamespace}/serviceaccounts`,
      {
        query: {
          labelSelector: `app.kubernetes.io/managed-by=${managedByLabels['app.kubernetes.io/managed-by']}`,
        },
      },
    );
    const ours = labelValue(clusterID);
    return [
      ...new Set(
        list.items
          .map((sa) => sa.metadata.labels?.[clusterIDLabel])
          .filter((id): id is string => Boolean(id) && id !== ours),
      ),
    ].sort();
  } catch (err) {
    if (isForbidden(err)) return undefined;
    throw err;
  }
}
