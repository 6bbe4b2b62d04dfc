// A client-node informer (ListWatch) under supervision. client-node 2.x stops an informer for good on most errors
// (HTTP errors, connection resets, a failing list), emits `error` with AbortError on its own stop(), and never asks
// for bookmarks. This wrapper restarts it with backoff, ignores its own stop, requests bookmarks, lists with the
// same selectors as the watch, and reports when the cache has synced.
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface SupervisedInformer<T extends KubernetesObject> {
  /** Starts listing and watching; resolves once the first list is in the cache. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
  synced(): boolean;
  /** Restarts now, with the backoff reset, when it is waiting to restart after a failure (at most once per minBackoffMs). */
  retryNow(): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  client: KubeClient;
  /** Collection path, e.g. /apis/apps/v1/deployments or /api/v1/namespaces/ns/secrets. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  onEvent(event: InformerEvent, obj: T): void;
  /** Called when the informer failed and will be restarted (e.g. to surface a condition). */
  onError?(err: unknown): void;
  /** Called after every successful list (the first and each relist), with the list's resourceVersion. */
  onListed?(resourceVersion: string | undefined): void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function supervisedInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): SupervisedInformer<T> {
  const { client, path, labelSelector, fieldSelector, log } = options;
  const minBackoff = options.minBackoffMs ?? 1_000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const listFn = async (): Promise<KubernetesListObject<T>> => {
    const list = await client.request<KubernetesListObject<T>>('GET', path, {
      query: { labelSelector, fieldSelector },
    });
    listed = true;
    options.onListed?.(list.metadata?.resourceVersion);
    return list;
  };
  const separator = path.includes('?') ? '&' : '?';
  const informer = new ListWatch<T>(
    `${path}${separator}allowWatchBookmarks=true`,
    new Watch(client.kubeConfig),
    listFn,
    false,
    labelSelector,
    fieldSelector,
  );
  let listed = false;
  let running = false;
  let stopping = false;
  let backoff = minBackoff;
  let restartTimer: NodeJS.Timeout | undefined;
  let firstSync: { resolve: () => void; promise: Promise<void> } | undefined;

  for (const event of ['add', 'update', 'delete'] as const) {
    informer.on(event, (obj: T) => {
      backoff = minBackoff;
      options.onEvent(event, obj);
    });
  }
  informer.on('error', (err: unknown) => {
    if (stopping) return; // stop() itself reports an AbortError
    running = false;
    options.onError?.(err);
    log.warn({ path, err: describe(err), retryInMs: backoff }, 'watch failed; restarting');
    scheduleRestart();
  });

  const scheduleRestart = () => {
    clearTimeout(restartTimer);
    const delay = backoff;
    backoff = Math.min(maxBackoff, backoff * 2);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void begin();
    }, delay);
  };

  let begunAt = 0;
  const begin = async () => {
    if (stopping || running) return;
    running = true;
    begunAt = Date.now();
    try {
      await informer.start();
    } catch (err) {
      // Building the request failed (e.g. credentials); no `error` event is emitted for this.
      running = false;
      options.onError?.(err);
      log.warn({ path, err: describe(err), retryInMs: backoff }, 'watch could not start; retrying');
      scheduleRestart();
      return;
    }
    if (listed) firstSync?.resolve();
  };

  return {
    start() {
      stopping = false;
      if (!firstSync) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        firstSync = { resolve, promise };
      }
      void begin();
      return firstSync.promise;
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      if (running) await informer.stop();
      running = false;
    },
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    synced: () => listed,
    retryNow() {
      // At most once a second: callers may ask on every request while a list keeps failing (403).
      if (running || stopping || !restartTimer || Date.now() - begunAt < minBackoff) return;
      clearTimeout(restartTimer);
      restartTimer = undefined;
      backoff = minBackoff;
      void begin();
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { statusCode?: number }).statusCode;
    return status ? `${err.message} (HTTP ${status})` : err.message;
  }
  return String(err);
}
