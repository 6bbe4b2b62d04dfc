// Scoped credentials: with the connection's (usually broad) credential, the operator creates in the control plane
// a ServiceAccount, Role and RoleBinding limited to targetNamespace and the claim APIs, and requests short-lived
// tokens for it. The proxy only ever holds such a token. Names include a hash of the clusterID so that several app
// clusters sharing a namespace each get their own identity.
import type { KubeClient } from '../kube/client.ts';
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
