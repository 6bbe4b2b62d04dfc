// Where an app-cluster claim lives in the control plane (DESIGN §3): every claim of one app cluster is stored in
// the connection's targetNamespace under a deterministic name — readable, at most 63 characters (Crossplane
// copies claim names into label values) — with labels and an annotation that say where it came from. Pure.
//
// Two naming schemes, recorded on every stored object by the label connect.ctp.dev/name-scheme:
// - v2 (every new claim): the hash covers a length-delimited encoding of (clusterID, namespace, name), so distinct
//   triples never share a hash input. The 64-bit hash can still collide in theory; the proxy never relies on it
//   alone (a write reads the stored object's origin labels first).
// - v1 (claims stored before v2, no label): the hash input "<name>-x-<namespace>-x-<clusterID>" is ambiguous, since
//   all three may contain "-x-". Such claims keep their names — renaming would re-create them, and Crossplane with
//   them their cloud resources — and are found under their v1 name when no v2 name exists.
import { createHash } from 'node:crypto';

export const clusterIDLabel = 'connect.ctp.dev/cluster-id';
export const appNamespaceLabel = 'connect.ctp.dev/app-namespace';
export const appNameLabel = 'connect.ctp.dev/app-name';
export const appNameAnnotation = 'connect.ctp.dev/app-name';
export const nameSchemeLabel = 'connect.ctp.dev/name-scheme';
/** Every metadata key the proxy owns on stored claims; client-supplied values are overridden. */
export const connectorLabels = [clusterIDLabel, appNamespaceLabel, appNameLabel, nameSchemeLabel];

export type NameScheme = 'v1' | 'v2';
export const currentScheme: NameScheme = 'v2';

/** The scheme a stored object was named with: v2 when labelled so, v1 (from before the label) otherwise. */
export function schemeOf(obj: { metadata?: { labels?: Record<string, string> } }): NameScheme {
  return obj.metadata?.labels?.[nameSchemeLabel] === 'v2' ? 'v2' : 'v1';
}

const readablePart = 46;

/** The control-plane name of app-cluster claim `namespace/name` of cluster `clusterID`, under `scheme`. */
export function controlPlaneName(
  name: string,
  namespace: string,
  clusterID: string,
  scheme: NameScheme = currentScheme,
): string {
  const key = `${scheme}\0${name}\0${namespace}\0${clusterID}`;
  const known = names.get(key);
  if (known !== undefined) return known;
  const hash = createHash('sha256')
    .update(hashInput(name, namespace, clusterID, scheme))
    .digest('hex')
    .slice(0, 16);
  const readable = name.slice(0, readablePart).replace(/[-.]+$/, '');
  const mapped = `${readable}-${hash}`;
  if (names.size >= maxRememberedNames) names.clear();
  names.set(key, mapped);
  return mapped;
}

/** v2: each field prefixed by its length, after a version tag; v1: the ambiguous join of the first version. */
export function hashInput(name: string, namespace: string, clusterID: string, scheme: NameScheme): string {
  if (scheme === 'v1') return `${name}-x-${namespace}-x-${clusterID}`;
  return ['ctp-connector/v2', clusterID, namespace, name].map((f) => `${f.length}:${f}`).join('');
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
export function originLabels(
  origin: ClaimOrigin,
  scheme: NameScheme = currentScheme,
): Record<string, string> {
  const labels: Record<string, string> = {
    [clusterIDLabel]: labelValue(origin.clusterID),
    [appNamespaceLabel]: origin.namespace,
    ...(scheme === 'v2' ? { [nameSchemeLabel]: 'v2' } : {}),
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
