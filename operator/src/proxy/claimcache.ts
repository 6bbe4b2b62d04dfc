// The proxy's watch cache of this cluster's claims in the control plane: one informer per served resource, in
// targetNamespace, selected by the cluster's origin label. It feeds connection Secret delivery, answers for app
// namespaces that hold no claims, and reads while the control plane is unreachable — when writes are refused at
// once instead of hanging. What its lists and watches see of the control plane feeds the proxy's upstream health.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { originSelector } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer, type InformerEvent, type SupervisedInformer } from '../controller/informer.ts';
import type { KubeClient } from '../kube/client.ts';
import { isHTTPAnswer, type UpstreamHealth } from './health.ts';

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
  /** Whether the resource has synced: then the cache holds every claim of this cluster (as of its last event). */
  hasSynced(group: string, version: string, plural: string): boolean;
  /** The cached claim stored under a control-plane name, if the resource has synced and holds it. */
  stored(group: string, version: string, plural: string, name: string): CachedClaim | undefined;
  /** Every cached claim of every resource. */
  all(): CachedClaim[];
  /** Called with every claim event, and after every (re)list of a resource, when events may have been missed. */
  onChange(listener: (change: ClaimChange) => void): void;
  /** The control plane answers again: resources still waiting out a backoff (RBAC granted only now) list at once. */
  retryUnsynced(): void;
  stop(): Promise<void>;
}

export type ClaimChange = { event: InformerEvent; claim: CachedClaim } | { event: 'listed' };

export interface ClaimCacheOptions {
  controlPlane: KubeClient;
  catalog: Catalog;
  log: Logger;
  health: UpstreamHealth;
}

export function startClaimCache(options: ClaimCacheOptions): ClaimCache {
  const { controlPlane, catalog, log, health } = options;
  const listeners: ((change: ClaimChange) => void)[] = [];
  const changed = (change: ClaimChange) => listeners.forEach((l) => l(change));

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
          health.answered();
          if (claim.metadata.resourceVersion) entry.resourceVersion = claim.metadata.resourceVersion;
          changed({ event, claim });
        },
        onListed: (resourceVersion) => {
          health.answered();
          if (resourceVersion) entry.resourceVersion = resourceVersion;
          changed({ event: 'listed' });
        },
        onError: (err) => {
          // An HTTP answer (403, 410, ...) means the control plane is there; anything else means it is not.
          if (isHTTPAnswer(err)) health.answered();
          else health.failed(String(err));
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
    hasSynced(group, version, plural) {
      return resources.get(`${group}/${version}/${plural}`)?.informer.synced() ?? false;
    },
    stored(group, version, plural, name) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      return entry?.informer.synced() ? entry.informer.get(name, catalog.targetNamespace) : undefined;
    },
    all: () => informers.flatMap((i) => i.list()),
    onChange: (listener) => void listeners.push(listener),
    retryUnsynced: () => {
      for (const informer of informers) if (!informer.synced()) informer.retryNow();
    },
    async stop() {
      listeners.length = 0;
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
