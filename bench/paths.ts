// The three request paths measured side by side. All three present the same identity to the control plane (its
// admin client certificate: the connection uses Passthrough credentials), so they differ only in the hops:
//   direct       client → control-plane kube-apiserver
//   passthrough  client → app kube-apiserver → aggregation → pass-through proxy → control plane
//   connector    client → app kube-apiserver → aggregation → ctp-connector proxy → control plane
// The direct and pass-through paths read and write the same objects (the claim CRD copied into the pass-through
// group, in a control-plane namespace named like the app namespace); the connector's live in its targetNamespace
// under mapped names, as the connector stores them.
import type { Target } from './http.ts';
import { claimGroup, passthroughGroup, plural, version, type BenchEnvironment } from './setup.ts';

export const pathNames = ['direct', 'passthrough', 'connector'] as const;
export type PathName = (typeof pathNames)[number];

export interface RequestPath {
  name: PathName;
  target: Target;
  group: string;
  /** The collection of claims in an (app) namespace, as this path's client addresses it. */
  collection(namespace: string): string;
}

export function requestPaths(env: BenchEnvironment): Record<PathName, RequestPath> {
  const path = (name: PathName, target: Target, group: string): RequestPath => ({
    name,
    target,
    group,
    collection: (namespace) => `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
  });
  return {
    direct: path('direct', env.admin.controlPlane, passthroughGroup),
    passthrough: path('passthrough', env.admin.app, passthroughGroup),
    connector: path('connector', env.admin.app, claimGroup),
  };
}

/** The order paths run in repetition `rep`: rotated, so no path always runs first (or right after another). */
export function pathOrder(rep: number): PathName[] {
  return pathNames.map((_, i) => pathNames[(i + rep) % pathNames.length]!);
}
