// Names of the objects a connection owns in the app cluster: the contract between the operator, which creates them,
// and the proxy, which reads its token, serving certificate and catalog from them. Connection names are DNS
// subdomains of up to 253 characters; Service and Deployment names must be short DNS labels, so long or dotted
// names are shortened with a hash that keeps them unique.
import { createHash } from 'node:crypto';

export interface OwnedNames {
  /** Secret with the control-plane kubeconfig the proxy uses. */
  token: string;
  /** Secret with the proxy's serving certificate and its CA. */
  serving: string;
  /** ConfigMap with the API catalog the proxy serves discovery and OpenAPI from. */
  catalog: string;
  /** Deployment, Service, ServiceAccount and PodDisruptionBudget of the proxy. */
  proxy: string;
  /** ClusterRoleBinding of the proxy to the shared proxy ClusterRole. */
  clusterRoleBinding: string;
  /** ConfigMap in which the proxy's replicas say which app namespaces they deliver connection Secrets to. */
  secretNamespaces: string;
  /** RoleBinding, in each such namespace, that lets the proxy write connection Secret copies there. */
  secretsRoleBinding: string;
}

/** Labels of a connection Secret copy in an app namespace: which claim it is of, and which connection delivered it. */
export const copiedFromLabel = 'connect.ctp.dev/connection-secret-of';
export const deliveredByLabel = 'connect.ctp.dev/delivered-by';
/**
 * Set by the operator on the copies it keeps when a connection goes (connectionSecretsOnDeletion: Keep), before it
 * hands the claims over: the proxy, which sees the claims leave, then removes no such copy.
 */
export const releasedAnnotation = 'connect.ctp.dev/released-at';

/**
 * What one proxy replica reports in the secretNamespaces ConfigMap, under a key of its own: the app namespaces it
 * delivers connection Secrets to, and when it said so (a replica that stopped reporting is forgotten).
 */
export interface SecretNamespacesReport {
  namespaces: string[];
  at: string;
  /** The token-issued-at annotation of a token the control plane rejected: the operator then mints a new one. */
  rejectedToken?: string;
}
/** Annotations of the token Secret: when its token was issued and when it expires. */
export const tokenIssuedAnnotation = 'connect.ctp.dev/token-issued-at';
export const tokenExpiresAnnotation = 'connect.ctp.dev/token-expires-at';
/** How often a replica repeats its report, and how long a report counts. */
export const reportEveryMs = 60_000;
export const reportValidMs = 5 * reportEveryMs;

export function ownedNames(connection: string): OwnedNames {
  const base = `ctpc-${shortName(connection, 40)}`;
  return {
    token: `${base}-token`,
    serving: `${base}-serving`,
    catalog: `${base}-catalog`,
    proxy: `${base}-proxy`,
    clusterRoleBinding: `ctp-connector:proxy:${connection}`,
    secretNamespaces: `${base}-secret-namespaces`,
    secretsRoleBinding: `ctp-connector:secrets:${connection}`,
  };
}

/** A DNS label of at most `max` characters that stands for `name` (unchanged when it already is one). */
export function shortName(name: string, max: number): string {
  const label = name.replace(/\./g, '-');
  if (label === name && name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${label.slice(0, max - 7).replace(/-+$/, '')}-${hash}`;
}
