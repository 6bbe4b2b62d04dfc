// The proxy's watch cache of this cluster's claims in the control plane: one informer per served resource, in
// targetNamespace, selected by the cluster's origin label. It feeds connection Secret delivery, answers for app
// namespaces that hold no claims, and reads while the control plane is unreachable — when writes are refused at
// once instead of hanging. Availability flips to false on a transport failure (of a watch or of a forwarded request)
// and back to true on the next successful list or response.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { originSelector } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer, type InformerEvent, type SupervisedInformer } from '../controller/informer.ts';
import type { KubeClient } from '../kube/client.ts';

export type CachedClaim = KubernetesObject & {
  metadata: NonNullable<KubernetesObject['metadata']>;
} & Record<string, unknown>;

export interface ClaimView {
  items: readonly CachedClaim[];
  /** The newest resourceVersion the cache has seen (list or event): a list answered from it can be watched on. */
  resourceVersion: string;
}

export interface ClaimCache {
  /** Resolves once the first list of every resource is in. */
  synced: Promise<void>;
  /** The cached claims of one resource, or undefined while it has not synced. */
  view(group: string, version: string, plural: string): ClaimView | undefined;
  /** The cached claim stored under a control-plane name, if the resource has synced and holds it. */
  stored(group: string, version: string, plural: string, name: string): CachedClaim | undefined;
  /** Every cached claim of every resource. */
  all(): CachedClaim[];
  /** Called with every claim event, and after every (re)list of a resource, when events may have been missed. */
  onChange(listener: (change: ClaimChange) => void): void;
  available(): boolean;
  /** A forwarded request could not reach the control plane. */
  unreachable(reason: string): void;
  /** A forwarded request was answered by the control plane. */
  reached(): void;
  stop(): Promise<void>;
}

export type ClaimChange = { event: InformerEvent; claim: CachedClaim } | { event: 'listed' };

export interface ClaimCacheOptions {
  controlPlane: KubeClient;
  catalog: Catalog;
  log: Logger;
  onAvailability?(available: boolean): void;
}

export function startClaimCache(options: ClaimCacheOptions): ClaimCache {
  const { controlPlane, catalog, log } = options;
  const listeners: ((change: ClaimChange) => void)[] = [];
  const changed = (change: ClaimChange) => listeners.forEach((l) => l(change));
  let available = true;
  const setAvailable = (value: boolean, reason?: string) => {
    if (value === available) return;
    available = value;
    if (value) log.info('control plane reachable again: forwarding every request');
    else log.warn({ reason }, 'control plane unreachable: reads from the cache, writes refused');
    options.onAvailability?.(value);
  };

  const resources = new Map<string, { informer: SupervisedInformer<CachedClaim>; resourceVersion: string }>();
  for (const gv of catalog.groupVersions) {
    for (const r of gv.resources) {
      const entry = { resourceVersion: '' } as {
        informer: SupervisedInformer<CachedClaim>;
        resourceVersion: string;
      };
      entry.informer = supervisedInformer<CachedClaim>({
        client: controlPlane,
        path: `/apis/${gv.group}/${gv.version}/namespaces/${catalog.targetNamespace}/${r.plural}`,
        labelSelector: originSelector(catalog.clusterID),
        log: log.child({ watch: r.plural }),
        // Retry soon: while this fails the proxy refuses writes, and a successful list ends that.
        maxBackoffMs: 5_000,
        onEvent: (event, claim) => {
          if (claim.metadata.resourceVersion) entry.resourceVersion = claim.metadata.resourceVersion;
          changed({ event, claim });
        },
        onListed: (resourceVersion) => {
          if (resourceVersion) entry.resourceVersion = resourceVersion;
          setAvailable(true);
          changed({ event: 'listed' });
        },
        onError: (err) => {
          // An HTTP answer (403, 410, ...) means the control plane is there; anything else means it is not.
          if (!(err as { statusCode?: number }).statusCode) setAvailable(false, String(err));
        },
      });
      resources.set(`${gv.group}/${gv.version}/${r.plural}`, entry);
    }
  }
  const informers = [...resources.values()].map((e) => e.informer);
  const synced = Promise.all(informers.map((i) => i.start())).then(() => undefined);

  return {
    synced,
    view(group, version, plural) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      if (!entry?.informer.synced()) return undefined;
      return { items: entry.informer.list(), resourceVersion: entry.resourceVersion };
    },
    stored(group, version, plural, name) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      return entry?.informer.synced() ? entry.informer.get(name, catalog.targetNamespace) : undefined;
    },
    all: () => informers.flatMap((i) => i.list()),
    onChange: (listener) => void listeners.push(listener),
    available: () => available,
    unreachable: (reason) => setAvailable(false, reason),
    reached: () => {
      setAvailable(true);
      // The control plane answers: a resource still waiting out its backoff (say, RBAC granted only now) lists now.
      for (const informer of informers) if (!informer.synced()) informer.retryNow();
    },
    async stop() {
      listeners.length = 0;
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
