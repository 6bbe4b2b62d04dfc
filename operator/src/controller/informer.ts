// A client-node informer (ListWatch) under supervision. client-node 2.x stops an informer for good on most errors
// (HTTP errors, connection resets, a failing list), emits `error` with AbortError on its own stop(), and never asks
// for bookmarks. This wrapper restarts it with backoff, ignores its own stop, requests bookmarks, lists with the
// same selectors as the watch, reports when the cache has synced, and how far it has seen (events and bookmarks).
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
  /** The resourceVersion the cache holds every change up to: of its last list, event or bookmark. */
  resourceVersion(): string;
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
  /** Called once the cache holds what a list, event or bookmark brought, with resourceVersion() updated. */
  onProgress?(): void;
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
    // ListWatch stores the list once this returns, in the same turn.
    setImmediate(() => options.onProgress?.());
    return list;
  };
  const separator = path.includes('?') ? '&' : '?';
  const informer = new ListWatch<T>(
    `${path}${separator}allowWatchBookmarks=true`,
    progressWatch(client, () => options.onProgress?.()),
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
    resourceVersion: () => informer.latestResourceVersion(),
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

/**
 * A Watch that reports each event and bookmark after ListWatch has handled it (its handler stores the object, then
 * the resourceVersion, synchronously): bookmarks change no object, but prove the cache has caught up that far.
 */
function progressWatch(client: KubeClient, progressed: () => void): Watch {
  const watch = new Watch(client.kubeConfig);
  const start = watch.watch.bind(watch);
  watch.watch = (path, query, callback, done) =>
    start(
      path,
      query,
      (phase, obj, raw) => {
        const handled = callback(phase, obj, raw) as unknown;
        if (handled instanceof Promise) void handled.then(progressed, progressed);
        else progressed();
      },
      done,
    );
  return watch;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { statusCode?: number }).statusCode;
    return status ? `${err.message} (HTTP ${status})` : err.message;
  }
  return String(err);
}
