// Per-connection access to its control plane: a pooled client, and an informer on the control plane's
// CompositeResourceDefinitions so a new or removed XRD reaches the app cluster within seconds (no polling). Rebuilt
// when the credential changes; stopped when the connection goes away.
import type { Logger } from 'pino';
import { supervisedInformer, type SupervisedInformer } from '../controller/informer.ts';
import type { KubeClient } from '../kube/client.ts';
import { clientFor, ConditionError, kubeconfigFor, type Credential } from './credentials.ts';
import type { XRD } from './discovery.ts';
import { hashOf } from './names.ts';

export interface ControlPlane {
  client: KubeClient;
  /** XRDs of the control plane, once synced; throws a ConditionError when they cannot be listed. */
  xrds(timeoutMs?: number): Promise<readonly XRD[]>;
}

export interface ControlPlaneRegistry {
  get(connection: string, credential: Credential): ControlPlane;
  forget(connection: string): Promise<void>;
  stop(): Promise<void>;
}

const xrdGroup = 'apiextensions.crossplane.io';

export function controlPlaneRegistry(
  log: Logger,
  enqueue: (connection: string) => void,
): ControlPlaneRegistry {
  const entries = new Map<string, { fingerprint: string; plane: ControlPlane; close(): Promise<void> }>();

  const create = (connection: string, credential: Credential) => {
    const client = clientFor(credential);
    let informer: SupervisedInformer<XRD & { apiVersion?: string; kind?: string }> | undefined;
    let lastError: unknown;
    const plane: ControlPlane = {
      client,
      async xrds(timeoutMs = 15_000) {
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
        const synced = informer.start();
        const timeout = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), timeoutMs).unref(),
        );
        if ((await Promise.race([synced, timeout])) === 'timeout') {
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
