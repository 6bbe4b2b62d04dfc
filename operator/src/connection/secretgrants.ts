// Where a connection's proxy may write connection Secret copies: a RoleBinding to the proxy-secrets ClusterRole in
// each app namespace its replicas deliver copies to, and none anywhere else — the network-facing proxy holds no
// cluster-wide Secret rights. The replicas report those namespaces in a ConfigMap (one key each, refreshed every
// minute); the operator binds the union of the fresh reports, never its own namespace or the system namespaces. A ValidatingAdmissionPolicy
// installed with the operator (config/rbac/policies.yaml) limits the proxy's writes there to Secrets the connector
// delivered: a binding lets it read the namespace's Secrets, never overwrite or delete one of its users'.
//
// The operator is a subject of each binding too: when a namespace drops out it removes the copies left there (a
// proxy restarted after its claims went has no way to find them), then the binding.
import type { KubeClient } from '../kube/client.ts';
import { isForbidden, isNotFound } from '../kube/client.ts';
import { apply, list, remove, type KubeObject } from '../kube/resources.ts';
import {
  deliveredByLabel,
  releasedAnnotation,
  reportValidMs,
  type OwnedNames,
  type SecretNamespacesReport,
} from '../catalog/names.ts';
import { dnsLabel } from '../api/connection.ts';
import { connectionLabel, managedByLabels } from './names.ts';
import { proxySecretsClusterRole, type OperatorSettings, type RBACSubject } from './workload.ts';

/** Marks the per-namespace bindings (the connection label says whose). */
export const grantLabel = 'connect.ctp.dev/grant';
const grantValue = 'connection-secrets';
/** Never bound, whatever a report says: the cluster's own namespaces hold no claims' Secrets. */
export const systemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease'];
/** More namespaces than this in one report is not a proxy telling the truth. */
export const maxGrantedNamespaces = 10_000;

/** The replicas' reports that are readable and fresh. Pure. */
function freshReports(
  data: Record<string, string> | undefined,
  now: Date,
): Partial<SecretNamespacesReport>[] {
  const fresh: Partial<SecretNamespacesReport>[] = [];
  for (const value of Object.values(data ?? {})) {
    let report: Partial<SecretNamespacesReport>;
    try {
      report = JSON.parse(value) as Partial<SecretNamespacesReport>;
    } catch {
      continue;
    }
    const at = typeof report?.at === 'string' ? Date.parse(report.at) : NaN;
    if (now.getTime() - at <= reportValidMs) fresh.push(report);
  }
  return fresh;
}

/** The issued-at stamps of tokens that a replica reports the control plane rejected. Pure. */
export function rejectedTokens(data: Record<string, string> | undefined, now: Date): Set<string> {
  return new Set(
    freshReports(data, now)
      .map((r) => r.rejectedToken)
      .filter((t): t is string => typeof t === 'string'),
  );
}

/** The namespaces to bind: the union of the replicas' fresh reports, valid names only, never `exclude`. Pure. */
export function grantedNamespaces(
  data: Record<string, string> | undefined,
  now: Date,
  exclude: readonly string[],
): string[] {
  const wanted = new Set<string>();
  for (const report of freshReports(data, now)) {
    if (!Array.isArray(report.namespaces)) continue;
    for (const ns of report.namespaces.slice(0, maxGrantedNamespaces)) {
      if (typeof ns === 'string' && dnsLabel.safeParse(ns).success && !exclude.includes(ns)) wanted.add(ns);
    }
  }
  return [...wanted].sort().slice(0, maxGrantedNamespaces);
}

/** The RoleBinding in `namespace` that lets the proxy (and the operator, to clean up) write copies there. Pure. */
export function secretsRoleBinding(input: {
  connection: string;
  namespace: string;
  names: OwnedNames;
  settings: OperatorSettings;
}): KubeObject {
  const { connection, namespace, names, settings } = input;
  const subjects: RBACSubject[] = [
    { kind: 'ServiceAccount', name: names.proxy, namespace: settings.namespace },
    ...(settings.operatorSubject ? [settings.operatorSubject] : []),
  ];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: names.secretsRoleBinding,
      namespace,
      // No owner reference: under foreground deletion the garbage collector would remove the binding while the
      // finalizer still needs it to remove the copies (the finalizer removes it, whatever the propagation).
      labels: { ...managedByLabels, [connectionLabel]: connection, [grantLabel]: grantValue },
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: settings.proxySecretsClusterRole ?? proxySecretsClusterRole,
    },
    subjects,
  };
}

/** The bindings of a connection that exist now, in every namespace. */
export async function grantsOf(app: KubeClient, connection: string): Promise<KubeObject[]> {
  const { items } = await app.request<{ items: KubeObject[] }>(
    'GET',
    '/apis/rbac.authorization.k8s.io/v1/rolebindings',
    { query: { labelSelector: `${connectionLabel}=${connection},${grantLabel}=${grantValue}` } },
  );
  return items.map((binding) => ({
    ...binding,
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
  }));
}

/** Binds the namespaces wanted, and unbinds the others after removing the copies left in them. */
export async function reconcileSecretGrants(
  app: KubeClient,
  input: { connection: string; names: OwnedNames; settings: OperatorSettings },
  namespaces: readonly string[],
): Promise<void> {
  const existing = await grantsOf(app, input.connection);
  for (const namespace of namespaces) {
    try {
      await apply(app, secretsRoleBinding({ ...input, namespace }));
    } catch (err) {
      if (!isNotFound(err)) throw err; // the namespace is gone (its claims with it)
    }
  }
  const wanted = new Set(namespaces);
  for (const binding of existing) {
    if (!wanted.has(binding.metadata.namespace ?? ''))
      await revokeGrant(app, input.connection, binding, true);
  }
}

/** Removes one binding; first the copies the connection delivered in its namespace, when `removeCopies`. */
export async function revokeGrant(
  app: KubeClient,
  connection: string,
  binding: KubeObject,
  removeCopies: boolean,
): Promise<void> {
  const namespace = binding.metadata.namespace ?? '';
  if (removeCopies) {
    try {
      const copies = await list<KubeObject>(app, 'v1', 'Secret', {
        namespace,
        labelSelector: `${deliveredByLabel}=${connection}`,
      });
      for (const copy of copies) await remove(app, { ...copy, apiVersion: 'v1', kind: 'Secret' });
    } catch (err) {
      // Without the operator among the binding's subjects (an operator that could not learn who it is) the copies
      // stay; the binding goes all the same rather than stay forever.
      if (!isForbidden(err)) throw err;
    }
  }
  await remove(app, binding);
}

/**
 * Marks every copy the connection delivered as released (kept for the workloads): done before the claims are handed
 * over, so that the proxy, which sees them leave, removes none of them. Idempotent.
 */
export async function releaseCopies(app: KubeClient, connection: string, now: Date): Promise<number> {
  let released = 0;
  for (const binding of await grantsOf(app, connection)) {
    const namespace = binding.metadata.namespace ?? '';
    let copies: KubeObject[];
    try {
      copies = await list<KubeObject>(app, 'v1', 'Secret', {
        namespace,
        labelSelector: `${deliveredByLabel}=${connection}`,
      });
    } catch (err) {
      if (isForbidden(err) || isNotFound(err)) continue; // not among the subjects, or the namespace is gone
      throw err;
    }
    for (const copy of copies) {
      if (copy.metadata.annotations?.[releasedAnnotation]) continue;
      await app.request('PATCH', `/api/v1/namespaces/${namespace}/secrets/${copy.metadata.name}`, {
        body: { metadata: { annotations: { [releasedAnnotation]: now.toISOString() } } },
        contentType: 'application/merge-patch+json',
      });
      released++;
    }
  }
  return released;
}
