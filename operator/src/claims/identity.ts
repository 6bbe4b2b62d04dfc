// Where an app-cluster claim lives in the control plane (DESIGN §3): every claim of one app cluster is stored in
// the connection's targetNamespace under a deterministic name — readable, at most 63 characters (Crossplane
// copies claim names into label values) and collision-free across app namespaces and clusters — with labels
// and an annotation that say where it came from. Pure.
import { createHash } from 'node:crypto';

export const clusterIDLabel = 'connect.ctp.dev/cluster-id';
export const appNamespaceLabel = 'connect.ctp.dev/app-namespace';
export const appNameLabel = 'connect.ctp.dev/app-name';
export const appNameAnnotation = 'connect.ctp.dev/app-name';
/** Every metadata key the proxy owns on stored claims; client-supplied values are overridden. */
export const connectorLabels = [clusterIDLabel, appNamespaceLabel, appNameLabel];

const readablePart = 46;

/** The control-plane name of app-cluster claim `namespace/name` of cluster `clusterID`. */
export function controlPlaneName(name: string, namespace: string, clusterID: string): string {
  const key = `${name}\0${namespace}\0${clusterID}`; // unambiguous, unlike the hash input
  const known = names.get(key);
  if (known !== undefined) return known;
  const hash = createHash('sha256')
    .update(`${name}-x-${namespace}-x-${clusterID}`)
    .digest('hex')
    .slice(0, 16);
  const readable = name.slice(0, readablePart).replace(/[-.]+$/, '');
  const mapped = `${readable}-${hash}`;
  if (names.size >= maxRememberedNames) names.clear();
  names.set(key, mapped);
  return mapped;
}

// The proxy checks the name of every cached claim it looks at (thousands per list while it decides whether an
// app namespace is empty); hashing each time was its largest CPU cost. Bounded, and the result is the same.
const maxRememberedNames = 100_000;
const names = new Map<string, string>();

/** Label values: at most 63 characters, alphanumeric at both ends; longer values are represented by a hash. */
export function labelValue(value: string): string {
  return /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(value)
    ? value
    : createHash('sha256').update(value).digest('hex').slice(0, 32);
}

export interface ClaimOrigin {
  clusterID: string;
  namespace: string;
  name: string;
}

/** Labels the proxy sets on a stored claim (app-name only when it fits a label value). */
export function originLabels(origin: ClaimOrigin): Record<string, string> {
  const labels: Record<string, string> = {
    [clusterIDLabel]: labelValue(origin.clusterID),
    [appNamespaceLabel]: origin.namespace,
  };
  if (origin.name.length <= 63 && labelValue(origin.name) === origin.name) labels[appNameLabel] = origin.name;
  return labels;
}

/** Label selector that matches exactly the claims of one cluster (and, optionally, one app namespace). */
export function originSelector(clusterID: string, namespace?: string): string {
  const parts = [`${clusterIDLabel}=${labelValue(clusterID)}`];
  if (namespace) parts.push(`${appNamespaceLabel}=${namespace}`);
  return parts.join(',');
}
