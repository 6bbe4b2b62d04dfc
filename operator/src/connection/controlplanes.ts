// Per-connection access to its control plane: a pooled client, and an informer on the control plane's
// CompositeResourceDefinitions so a new or removed XRD reaches the app cluster within seconds (no polling). Rebuilt
// when the credential changes; stopped when the connection goes away.
import type { Logger } from 'pino';
import { supervisedInformer, type SupervisedInformer } from '../controller/informer.ts';
import { guardedClient, type KubeClient, type RequestGuard } from '../kube/client.ts';
import { clientFor, ConditionError, kubeconfigFor, type Credential } from './credentials.ts';
import type { XRD } from './discovery.ts';
import { hashOf } from './names.ts';

export interface ControlPlane {
  client: KubeClient;
  /** XRDs of the control plane, once synced; throws a ConditionError when they cannot be listed. */
  xrds(timeoutMs?: number, signal?: AbortSignal): Promise<readonly XRD[]>;
}

export interface ControlPlaneRegistry {
  get(connection: string, credential: Credential): ControlPlane;
  forget(connection: string): Promise<void>;
  stop(): Promise<void>;
}

const xrdGroup = 'apiextensions.crossplane.io';

export interface RegistryOptions {
  userAgent?: string;
  /** Carried by every request to a control plane (the operator's leadership). */
  guard?: RequestGuard;
}

export function controlPlaneRegistry(
  log: Logger,
  enqueue: (connection: string) => void,
  options: RegistryOptions = {},
): ControlPlaneRegistry {
  const entries = new Map<string, { fingerprint: string; plane: ControlPlane; close(): Promise<void> }>();

  const create = (connection: string, credential: Credential) => {
    const raw = clientFor(credential, options.userAgent);
    const client = options.guard ? guardedClient(raw, options.guard) : raw;
    let informer: SupervisedInformer<XRD & { apiVersion?: string; kind?: string }> | undefined;
    let lastError: unknown;
    const plane: ControlPlane = {
      client,
      async xrds(timeoutMs = 15_000, signal?: AbortSignal) {
        if (!informer) {
          const version = await xrdVersion(client);
          informer = supervisedInformer({
            client,
            path: `/apis/${xrdGroup}/${version}/compositeresourcedefinitions`,
            log: log.child({ connection, watch: 'xrds' }),
            onEvent: () => enqueue(connection),
            // Retry often enough that a control plane that comes back is noticed within seconds.
            maxBackoffMs: 10_000,
            onError: (err) => {
              lastError = err;
              enqueue(connection);
            },
            // Back after a failure: reconcile now rather than when the failed reconciles' backoff ends (minutes
            // after a long outage), so Ready returns within seconds of the control plane.
            onListed: () => {
              if (lastError === undefined) return;
              lastError = undefined;
              enqueue(connection);
            },
          });
        }
        if ((await syncedWithin(informer.start(), timeoutMs, signal)) === 'timeout') {
          const status = (lastError as { statusCode?: number } | undefined)?.statusCode;
          if (status === 403) {
            throw new ConditionError(
              'Forbidden',
              `the credential may not list ${xrdGroup} CompositeResourceDefinitions`,
              true,
            );
          }
          throw new ConditionError(
            'ControlPlaneUnreachable',
            `could not list CompositeResourceDefinitions within ${timeoutMs / 1000}s: ${lastError instanceof Error ? lastError.message : 'no answer'}`,
            false,
          );
        }
        return informer.list();
      },
    };
    return {
      fingerprint: hashOf(kubeconfigFor(credential), 32),
      plane,
      async close() {
        await informer?.stop();
        await client.close();
      },
    };
  };

  return {
    get(connection, credential) {
      const fingerprint = hashOf(kubeconfigFor(credential), 32);
      const existing = entries.get(connection);
      if (existing?.fingerprint === fingerprint) return existing.plane;
      if (existing) void existing.close();
      const entry = create(connection, credential);
      entries.set(connection, entry);
      return entry.plane;
    },
    async forget(connection) {
      const entry = entries.get(connection);
      entries.delete(connection);
      await entry?.close();
    },
    async stop() {
      await Promise.all([...entries.values()].map((e) => e.close()));
      entries.clear();
    },
  };
}

/** Waits for `synced` (which never rejects) up to `timeoutMs`; rejects when `signal` aborts first. */
function syncedWithin(
  synced: Promise<void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<'synced' | 'timeout'> {
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      settle(() => {
        const reason: unknown = signal?.reason;
        reject(reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`));
      });
    const timer = setTimeout(() => settle(() => resolve('timeout')), timeoutMs);
    const settle = (how: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      how();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void synced.then(() => settle(() => resolve('synced')));
  });
}

/** The served version of the XRD API (v2 on Crossplane v2, v1 on v1), or a ConditionError without Crossplane. */
async function xrdVersion(client: KubeClient): Promise<string> {
  let group: { preferredVersion?: { version: string }; versions?: { version: string }[] };
  try {
    group = await client.request('GET', `/apis/${xrdGroup}`);
  } catch (err) {
    if ((err as { code?: number }).code === 404) {
      throw new ConditionError(
        'CrossplaneNotFound',
        `the control plane serves no ${xrdGroup} API: is Crossplane installed?`,
        false,
      );
    }
    throw err;
  }
  const versions = (group.versions ?? []).map((v) => v.version);
  return versions.includes('v2') ? 'v2' : (group.preferredVersion?.version ?? versions[0] ?? 'v1');
}
