// A controller: informers feed keys into a work queue; workers reconcile one key at a time (never the same key
// concurrently), requeue on request, retry failures with backoff, and resync everything periodically. Every reconcile
// gets the controller's signal (controller-runtime's context): when it aborts (leadership lost, or stopping) the
// queue hands out no more keys and running reconciles are cancelled.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { SupervisedInformer } from './informer.ts';
import type { ControllerMetrics } from './metrics.ts';
import { createWorkQueue, exponentialBackoff, type WorkQueue } from './workqueue.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ControllerOptions {
  name: string;
  /** Reconciles one key; `signal` aborts when the controller stops (its requests should carry it). */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
  /** Keys of every object, for the periodic resync. */
  keys(): string[];
  workers?: number;
  resyncMs?: number;
  metrics: ControllerMetrics;
  log: Logger;
}

export interface Controller {
  queue: WorkQueue;
  /** Informers whose events map to keys; started with the controller. */
  watch<T extends KubernetesObject>(informer: SupervisedInformer<T>): void;
  run(signal: AbortSignal): Promise<void>;
}

export function createController(options: ControllerOptions): Controller {
  const { name, metrics, log } = options;
  const queue = createWorkQueue(exponentialBackoff(50, 300_000), metrics.queueObserver(name));
  const informers: SupervisedInformer<KubernetesObject>[] = [];

  const worker = async (signal: AbortSignal) => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        queue.done(key);
        return;
      }
      const start = performance.now();
      log.debug({ key }, 'reconciling');
      try {
        const result = await options.reconcile(key, signal);
        log.debug(
          { key, ms: Math.round(performance.now() - start), requeueAfterMs: result.requeueAfterMs },
          'reconciled',
        );
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          queue.addAfter(key, result.requeueAfterMs);
          metrics.reconciled(name, 'requeue_after', (performance.now() - start) / 1000);
        } else {
          metrics.reconciled(name, 'success', (performance.now() - start) / 1000);
        }
      } catch (err) {
        metrics.reconciled(name, 'error', (performance.now() - start) / 1000);
        if (signal.aborted) {
          log.info({ key, err: err instanceof Error ? err.message : String(err) }, 'reconcile cancelled');
          continue;
        }
        log.warn(
          { key, err: err instanceof Error ? err.message : String(err), retries: queue.retries(key) },
          'reconcile failed; will retry',
        );
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };

  return {
    queue,
    watch(informer) {
      informers.push(informer);
    },
    async run(signal) {
      await Promise.all(informers.map((i) => i.start()));
      log.info({ controller: name }, 'caches synced; starting workers');
      for (const key of options.keys()) queue.add(key);
      const resync = setInterval(
        () => options.keys().forEach((k) => queue.add(k)),
        options.resyncMs ?? 10 * 60_000,
      );
      const workers = Array.from({ length: options.workers ?? 2 }, () => worker(signal));
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      clearInterval(resync);
      queue.shutDown();
      await Promise.all(workers);
      await Promise.all(informers.map((i) => i.stop()));
      log.info({ controller: name }, 'stopped');
    },
  };
}
