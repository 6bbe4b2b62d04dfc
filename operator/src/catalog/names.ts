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
}

export function ownedNames(connection: string): OwnedNames {
  const base = `ctpc-${shortName(connection, 40)}`;
  return {
    token: `${base}-token`,
    serving: `${base}-serving`,
    catalog: `${base}-catalog`,
    proxy: `${base}-proxy`,
    clusterRoleBinding: `ctp-connector:proxy:${connection}`,
  };
}

/** A DNS label of at most `max` characters that stands for `name` (unchanged when it already is one). */
export function shortName(name: string, max: number): string {
  const label = name.replace(/\./g, '-');
  if (label === name && name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${label.slice(0, max - 7).replace(/-+$/, '')}-${hash}`;
}
