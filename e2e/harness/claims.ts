// Claims as the journeys use them: the sample KubernetesCluster claim under other names, applied in an app cluster
// the way users do, read back from either side, and watched through the app cluster's aggregation layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { controlPlaneName } from '../../operator/src/claims/identity.ts';
import { kubeconfigClient } from '../../operator/src/kube/client.ts';
import { fixturesDir } from './fixtures.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { waitFor } from './wait.ts';
import { collectWatch, type WatchEvent as CollectedEvent } from './watch.ts';

export const claimResource = 'kubernetesclusters.platform.example.org';
export const claimAPIPath = '/apis/platform.example.org/v1alpha1';

export interface Claim {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { id: string; writeConnectionSecretToRef?: { name: string } } & Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * Crossplane leaves a claim with this annotation alone once it has recorded it paused (one status write, no
 * finalizer): for tests that prove nothing but the connector wrote a stored claim, byte for byte.
 */
export const pausedAnnotation = 'crossplane.io/paused';

/** The sample claim (e2e/fixtures/samples) as `namespace/name`: spec.id `id`, the given metadata and Secret. */
export function claimManifest(options: {
  name: string;
  namespace: string;
  id?: string;
  connectionSecret?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Paused in Crossplane (pausedAnnotation); wait for settledInControlPlane before comparing stored versions. */
  paused?: boolean;
}): Claim {
  const claim = load(
    readFileSync(join(fixturesDir, 'samples', 'kubernetescluster-claim.yaml'), 'utf8'),
  ) as Claim;
  const { name, namespace, labels } = options;
  const annotations = options.paused
    ? { ...options.annotations, [pausedAnnotation]: 'true' }
    : options.annotations;
  claim.metadata = {
    name,
    namespace,
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
  claim.spec.id = options.id ?? options.name;
  if (options.connectionSecret) claim.spec.writeConnectionSecretToRef = { name: options.connectionSecret };
  else delete claim.spec.writeConnectionSecretToRef;
  return claim;
}

/**
 * Waits until Crossplane, where the control plane runs it, has written its last to a paused stored object: the
 * Synced condition says ReconcilePaused. Without Crossplane nobody else writes claims, and there is nothing to wait for.
 */
export async function settledInControlPlane(
  cp: KubectlTarget & { crossplane?: unknown },
  namespace: string,
  storedName: string,
  resource = claimResource,
): Promise<void> {
  if (!cp.crossplane) return;
  await waitFor(
    async () => {
      const r = await kubectl(cp, [
        ...['-n', namespace, 'get', resource, storedName],
        ...['-o', 'jsonpath={.status.conditions[?(@.type=="Synced")].reason}'],
      ]);
      return r.stdout.trim() === 'ReconcilePaused' ? true : undefined;
    },
    { timeoutMs: 30_000, what: `Crossplane to record ${resource} ${namespace}/${storedName} paused` },
  );
}

/**
 * `kubectl apply` of claims in an app cluster, retried while kubectl does not know the claim API yet (its discovery
 * cache is refreshed after a connection comes or goes).
 */
export function applyClaims(app: KubectlTarget, claims: Claim[], args: string[] = []): Promise<string> {
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: claims });
  return waitFor(
    async () => {
      const r = await kubectl(app, ['apply', ...args, '-f', '-'], input);
      if (r.code !== 0) throw new Error(r.stderr.trim());
      return r.stdout;
    },
    { timeoutMs: 60_000, intervalMs: 1_000, what: 'kubectl apply of the claims' },
  );
}

/** The claims in `namespace` (all namespaces when omitted), as `kubectl get -o json` returns them. */
export async function listClaims(cluster: KubectlTarget, namespace?: string): Promise<Claim[]> {
  const scope = namespace ? ['-n', namespace] : ['-A'];
  const list = JSON.parse(await kubectlOk(cluster, ['get', claimResource, ...scope, '-o', 'json'])) as {
    items: Claim[];
  };
  return list.items;
}

/** `kubectl get` of one claim; undefined when the answer is NotFound. */
export async function getClaim(cluster: KubectlTarget, namespace: string, name: string) {
  const r = await kubectl(cluster, ['get', claimResource, '-n', namespace, name, '-o', 'json']);
  if (r.code === 0) return JSON.parse(r.stdout) as Claim;
  if (r.stderr.includes('(NotFound)')) return undefined;
  throw new Error(`kubectl get ${claimResource} ${namespace}/${name}: ${r.stderr.trim()}`);
}

export type WatchEvent = CollectedEvent<Claim>;

export interface ClaimWatch {
  events: WatchEvent[];
  /** Resolves with the first event that matches, waiting up to 30 s. */
  next(match: (event: WatchEvent) => boolean, what: string): Promise<WatchEvent>;
  stop(): Promise<void>;
}

/**
 * A watch on claims through the app cluster's kube-apiserver (and so through the aggregator and the proxy), as an
 * informer opens it: from `resourceVersion` ("0": with the current objects as ADDED first), with bookmarks.
 */
export async function watchClaims(
  app: { kubeconfigPath: string },
  namespace: string | undefined,
  resourceVersion: string,
  fieldSelector?: string,
): Promise<ClaimWatch> {
  const client = kubeconfigClient(app.kubeconfigPath);
  const path = `${claimAPIPath}${namespace ? `/namespaces/${namespace}` : ''}/kubernetesclusters`;
  const watch = await collectWatch<Claim>(client, path, {
    resourceVersion,
    allowWatchBookmarks: 'true',
    ...(fieldSelector ? { fieldSelector } : {}),
  });
  return {
    events: watch.events,
    next: (match, what) => watch.until(match, `watch event: ${what}`),
    async stop() {
      watch.stop();
      await watch.ended;
      await client.close();
    },
  };
}

/**
 * What Crossplane does for a claim with spec.writeConnectionSecretToRef: the connection Secret, in the control
 * plane's `targetNamespace` under the name the connector maps `secretName` of app namespace `namespace` to.
 * Returns that name.
 */
export async function writeConnectionSecret(
  cp: KubectlTarget,
  place: { targetNamespace: string; namespace: string; clusterID: string },
  secretName: string,
  data: Record<string, string>,
): Promise<string> {
  const mapped = controlPlaneName(secretName, place.namespace, place.clusterID);
  await kubectlOk(cp, [
    '-n',
    place.targetNamespace,
    'create',
    'secret',
    'generic',
    mapped,
    ...Object.entries(data).map(([k, v]) => `--from-literal=${k}=${v}`),
  ]);
  return mapped;
}

/**
 * An Opaque Secret no controller owns, where Crossplane would write a claim's connection Secret: Crossplane refuses to
 * write over it ("refusing to modify uncontrolled secret") and reports the claim Synced=False.
 */
export async function uncontrolledSecret(
  cluster: KubectlTarget,
  namespace: string,
  name: string,
): Promise<void> {
  await kubectlOk(
    cluster,
    ['-n', namespace, 'apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque' }),
  );
}
