// An informer: list, then watch from the list's resourceVersion with bookmarks, keeping a cache of the objects and
// reporting each change. On failure it restarts with backoff, from where it was (relisting only when the control
// plane says that resourceVersion is gone, 410); it reports when the cache has synced, and how far it has seen
// (events and bookmarks). Our own rather than client-node's ListWatch, which stops for good on most errors and
// brings all of client-node's generated clients into memory with it.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { withoutManagedFields } from '../kube/fieldsets.ts';
import { lineSplitter } from '../kube/lines.ts';

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
  /** Objects per page of a list (default 500, as client-go). */
  pageSize?: number;
  /**
   * Applied to every object a list or watch brings, before the cache holds it (client-go's SetTransform). Default:
   * managedFields dropped, which none of the connector's controllers reads and which can be half an object's memory.
   */
  transform?: (obj: T) => T;
}

export function supervisedInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): SupervisedInformer<T> {
  const { client, path, labelSelector, fieldSelector, log } = options;
  const minBackoff = options.minBackoffMs ?? 1_000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const store = objectStore<T>();
  const transform = options.transform ?? withoutManagedFields;
  let resourceVersion = '';
  let listed = false;
  let running = false;
  let stopping = false;
  let backoff = minBackoff;
  let restartTimer: NodeJS.Timeout | undefined;
  let current: AbortController | undefined;
  let firstSync: { resolve: () => void; promise: Promise<void> } | undefined;
  let begunAt = 0;

  const emit = (event: InformerEvent, obj: T) => {
    backoff = minBackoff;
    // A failing handler loses its own event only: the cache already holds it, and the watch goes on.
    try {
      options.onEvent(event, obj);
    } catch (err) {
      log.error({ path, event, err: describe(err) }, 'event handler failed');
    }
  };

  const list = async (signal: AbortSignal) => {
    const { items, resourceVersion: listedAt } = await listPages(signal);
    signal.throwIfAborted(); // stopped while the answer was on its way
    listed = true;
    options.onListed?.(listedAt);
    // What the list no longer holds was deleted meanwhile; the rest is added or updated.
    for (const gone of store.absentFrom(items)) emit('delete', gone);
    for (const item of items) {
      const change = store.put(item);
      if (change) emit(change, item);
    }
    resourceVersion = listedAt ?? '';
    options.onProgress?.();
    firstSync?.resolve();
  };

  /**
   * Every object, in pages as client-go's reflector lists: no answer of thousands of objects held as one string
   * while it is parsed. The pages are one snapshot, at the first page's resourceVersion; a continue token that
   * expired meanwhile (410) fails the list, and the restart lists again.
   */
  const listPages = async (signal: AbortSignal) => {
    const items: T[] = [];
    let listedAt: string | undefined;
    let next: string | undefined;
    do {
      const page = await client.request<KubernetesListObject<T>>('GET', path, {
        query: { labelSelector, fieldSelector, limit: options.pageSize ?? 500, continue: next },
        signal,
      });
      listedAt ??= page.metadata?.resourceVersion;
      for (const item of page.items ?? []) items.push(transform(item));
      // Raw JSON says `continue` (client-node's type names its own deserialized field `_continue`).
      next = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
    } while (next);
    return { items, resourceVersion: listedAt };
  };

  /** One watch until it ends: true when it delivered something or fell silent (then it reconnects at once). */
  const watch = async (signal: AbortSignal): Promise<boolean> => {
    const { body } = await client.stream('GET', path, {
      query: {
        watch: true,
        resourceVersion,
        allowWatchBookmarks: true,
        labelSelector,
        fieldSelector,
      },
      signal,
    });
    const lines = lineSplitter();
    const started = Date.now();
    let delivered = false;
    for await (const chunk of untilSilent(body)) {
      signal.throwIfAborted();
      for (const line of lines.push(chunk)) {
        if (line.trim() === '') continue;
        const event = parseEvent<T>(line);
        if (!event) continue;
        if (event.type === 'ERROR') throw watchError(event.object);
        if (event.type !== 'BOOKMARK') event.object = transform(event.object);
        if (event.type === 'ADDED' || event.type === 'MODIFIED') {
          const change = store.put(event.object);
          if (change) emit(change, event.object);
        } else if (event.type === 'DELETED') {
          if (store.remove(event.object)) emit('delete', event.object);
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        delivered = true;
        options.onProgress?.();
      }
    }
    return delivered || Date.now() - started >= 30_000;
  };

  /** Lists (when there is no resourceVersion to watch from) and watches until a failure or stop(). */
  const loop = async (signal: AbortSignal) => {
    let quietEnds = 0;
    while (!signal.aborted) {
      if (!resourceVersion) await list(signal);
      try {
        if (await watch(signal)) quietEnds = 0;
        else if (!signal.aborted) {
          // A watch the server ends at once, again and again, is retried more and more slowly.
          await sleep(Math.min(maxBackoff, minBackoff * 2 ** quietEnds++), undefined, { signal });
        }
      } catch (err) {
        if (!isGone(err)) throw err;
        log.debug({ path }, 'watch resourceVersion too old; relisting');
        resourceVersion = '';
      }
    }
  };

  const scheduleRestart = () => {
    clearTimeout(restartTimer);
    const delay = backoff;
    backoff = Math.min(maxBackoff, backoff * 2);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void begin();
    }, delay);
  };

  const begin = async () => {
    if (stopping || running) return;
    running = true;
    begunAt = Date.now();
    const abort = (current = new AbortController());
    try {
      await loop(abort.signal);
    } catch (err) {
      if (abort.signal.aborted) return; // stop()
      options.onError?.(err);
      log.warn({ path, err: describe(err), retryInMs: backoff }, 'watch failed; restarting');
      scheduleRestart();
    } finally {
      if (current === abort) {
        current = undefined;
        running = false;
      }
    }
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
      current?.abort();
      current = undefined;
      running = false;
      await Promise.resolve();
    },
    get: (name, namespace) => store.get(name, namespace),
    list: (namespace) => store.list(namespace),
    synced: () => listed,
    resourceVersion: () => resourceVersion,
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
 * Objects by namespace and name; `put` says whether an object is new, changed (another resourceVersion) or not.
 * `list()` of everything is kept until the next change: the proxy reads it on every request to its claim cache.
 */
export function objectStore<T extends KubernetesObject>() {
  const byNamespace = new Map<string, Map<string, T>>();
  let everything: readonly T[] | undefined;
  const keyOf = (obj: T) => ({ ns: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
  return {
    put(obj: T): 'add' | 'update' | undefined {
      const { ns, name } = keyOf(obj);
      let names = byNamespace.get(ns);
      if (!names) byNamespace.set(ns, (names = new Map<string, T>()));
      const found = names.get(name);
      const version = obj.metadata?.resourceVersion;
      if (found && version && found.metadata?.resourceVersion === version) return undefined;
      names.set(name, obj);
      everything = undefined;
      return found ? 'update' : 'add';
    },
    remove(obj: T): boolean {
      const { ns, name } = keyOf(obj);
      const names = byNamespace.get(ns);
      if (!names?.delete(name)) return false;
      if (names.size === 0) byNamespace.delete(ns);
      everything = undefined;
      return true;
    },
    /** Removes and returns what is not in `items`. */
    absentFrom(items: readonly T[]): T[] {
      const present = new Set(
        items.map((i) => {
          const { ns, name } = keyOf(i);
          return `${ns}/${name}`;
        }),
      );
      const gone: T[] = [];
      for (const [ns, names] of byNamespace) {
        for (const [name, obj] of names)
          if (!present.has(`${ns}/${name}`)) {
            names.delete(name);
            gone.push(obj);
          }
        if (names.size === 0) byNamespace.delete(ns);
      }
      if (gone.length > 0) everything = undefined;
      return gone;
    },
    get: (name: string, namespace?: string) => byNamespace.get(namespace ?? '')?.get(name),
    list(namespace?: string): readonly T[] {
      if (namespace) return [...(byNamespace.get(namespace)?.values() ?? [])];
      everything ??= [...byNamespace.values()].flatMap((names) => [...names.values()]);
      return everything;
    },
  };
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

const eventTypes = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** A watch event line, or undefined for anything else (ignored, as client-go's decoder skips nothing it can read). */
export function parseEvent<T>(line: string): WatchEvent<T> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = parsed as { type?: unknown; object?: unknown } | null;
  if (!event || typeof event.type !== 'string' || !eventTypes.has(event.type)) return undefined;
  if (!event.object || typeof event.object !== 'object') return undefined;
  return event as WatchEvent<T>;
}

/** An ERROR event's Status as an error (410 Gone: the resourceVersion is too old, relist). */
function watchError(status: unknown): KubeApiError {
  const s = (status ?? {}) as { code?: number; reason?: string; message?: string };
  return new KubeApiError('WATCH', 'event stream', s.code ?? 500, { kind: 'Status', ...s }, s.message ?? '');
}

const isGone = (err: unknown) => err instanceof KubeApiError && err.code === 410;

/**
 * The watch's chunks, ending quietly (the caller watches again from where it was) when none arrives for `idleMs`:
 * kube-apiserver sends a bookmark about once a minute, so a silent connection may be a dead one, and a half-open TCP
 * connection never errors on its own.
 */
async function* untilSilent(body: AsyncIterable<Buffer>, idleMs = 60_000): AsyncGenerator<Buffer> {
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const silent = new Promise<'silent'>((resolve) => {
        timer = setTimeout(() => resolve('silent'), idleMs);
      });
      try {
        const next = await Promise.race([iterator.next(), silent]);
        if (next === 'silent' || next.done) return;
        yield next.value;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    // Ends the response (and its connection) when the loop stops early.
    void iterator.return?.();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { statusCode?: number }).statusCode;
    return status ? `${err.message} (HTTP ${status})` : err.message;
  }
  return String(err);
}
