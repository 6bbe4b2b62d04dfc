// Rendered manifests (helm template, kubectl kustomize) as objects, and the normalisation that lets the chart's
// and kustomize's output be compared: the labels Helm adds, and its instance label in selectors, are dropped.
import { loadAll } from 'js-yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return (loadAll(text) as (Manifest | null)[]).filter((m): m is Manifest => m !== null);
}

export function manifestKey(m: Manifest): string {
  return `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;
}

/** Labels the chart puts on every object (and the instance label of its selectors), which kustomize has not. */
export const helmLabels = [
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/part-of',
];

/** A copy of `value` without the Helm labels in any label map or selector; label maps left empty are removed. */
export function withoutHelmLabels<T>(value: T): T {
  if (Array.isArray(value)) return (value as unknown[]).map((v) => withoutHelmLabels(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (helmLabels.includes(key)) continue;
    const cleaned = withoutHelmLabels(v);
    if (key === 'labels' && cleaned && typeof cleaned === 'object' && Object.keys(cleaned).length === 0)
      continue;
    out[key] = cleaned;
  }
  return out as T;
}

/** The objects of `manifests` whose kind is in `kinds`, keyed and normalised, in a stable order. */
export function comparable(manifests: Manifest[], kinds: string[]): Record<string, Manifest> {
  return Object.fromEntries(
    manifests
      .filter((m) => kinds.includes(m.kind))
      .map((m) => [manifestKey(m), withoutHelmLabels(m)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
