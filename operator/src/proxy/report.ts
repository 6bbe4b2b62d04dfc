// What one proxy replica tells the operator, under a key of its own in the connection's secretNamespaces ConfigMap
// (the only object in the operator's namespace it may write): the app namespaces it delivers connection Secrets to,
// so the operator binds it there (connection/secretgrants.ts), and the token the control plane rejected, so the
// operator mints a new one at once instead of at the next rotation (a revoked ServiceAccount token, say). Repeated
// every minute as a heartbeat; expired reports of replicas that went away are removed by whichever replica writes.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ownedNames, reportEveryMs, reportValidMs, type SecretNamespacesReport } from '../catalog/names.ts';
import type { KubeClient } from '../kube/client.ts';

export interface ReplicaReport {
  /** The namespaces this replica delivers connection Secrets to now. */
  setNamespaces(namespaces: string[]): void;
  /** The control plane rejected the token issued at `issuedAt` (the token Secret's annotation). */
  credentialRejected(issuedAt: string): void;
  stop(): Promise<void>;
}

/**
 * The merge patch of one replica's report: its own key, and null for the keys of replicas whose reports expired (a
 * replica that went away without saying so). Pure.
 */
export function reportPatch(
  identity: string,
  report: Omit<SecretNamespacesReport, 'at'>,
  current: Record<string, string> | undefined,
  now: Date,
): { data: Record<string, string | null> } {
  const mine: SecretNamespacesReport = { ...report, at: now.toISOString() };
  const data: Record<string, string | null> = { [identity]: JSON.stringify(mine) };
  for (const [key, value] of Object.entries(current ?? {})) {
    if (key === identity) continue;
    let at = NaN;
    try {
      at = Date.parse((JSON.parse(value) as Partial<SecretNamespacesReport>).at ?? '');
    } catch {
      // unreadable: as good as expired
    }
    if (!(now.getTime() - at <= reportValidMs)) data[key] = null;
  }
  return { data };
}

/** This replica's key: its pod name and process, as a ConfigMap key may spell them. */
export function reportIdentity(host = hostname(), pid = process.pid): string {
  return `${host}.${pid}`.replace(/[^-._a-zA-Z0-9]/g, '_').slice(0, 253);
}

export function replicaReport(options: {
  app: KubeClient;
  /** The operator's namespace. */
  namespace: string;
  connection: string;
  log: Logger;
}): ReplicaReport {
  const { app, namespace, log } = options;
  const name = ownedNames(options.connection).secretNamespaces;
  const path = `/api/v1/namespaces/${namespace}/configmaps/${name}`;
  const identity = reportIdentity();
  let state: Omit<SecretNamespacesReport, 'at'> = { namespaces: [] };
  let sent: string | undefined; // the state last written
  let running: Promise<void> | undefined;
  let again = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const write = async () => {
    const current = await app.request<{ data?: Record<string, string> }>('GET', path);
    await app.request('PATCH', path, {
      body: reportPatch(identity, state, current.data, new Date()),
      contentType: 'application/merge-patch+json',
    });
  };

  /** Writes the report (one write at a time; a change meanwhile writes again), retrying with backoff. */
  const publish = (force = false) => {
    if (stopped) return;
    if (running) {
      again ||= force || JSON.stringify(state) !== sent;
      return;
    }
    const snapshot = JSON.stringify(state);
    if (!force && snapshot === sent) return;
    running = write()
      .then(
        () => {
          sent = snapshot;
          failures = 0;
        },
        (err: unknown) => {
          failures++;
          // The ConfigMap appears with the connection's workload; until then, and while the API is away, try again.
          if (failures === 1 || failures % 20 === 0)
            log.warn({ err: String(err), failures }, 'cannot write the replica report; retrying');
          retry = setTimeout(() => publish(true), Math.min(30_000, 200 * 2 ** Math.min(failures, 8)));
          retry.unref();
        },
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          publish(true);
        }
      });
  };

  const heartbeat = setInterval(() => publish(true), reportEveryMs);
  heartbeat.unref();

  return {
    setNamespaces(namespaces) {
      state = { ...state, namespaces };
      publish();
    },
    credentialRejected(issuedAt) {
      if (state.rejectedToken === issuedAt) return;
      state = { ...state, rejectedToken: issuedAt };
      log.warn({ issuedAt }, 'the control plane rejected the token; asking the operator for a new one');
      publish();
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(retry);
      await running;
      // Gone: the operator may unbind what no other replica reports (best effort; reports expire anyway).
      await app
        .request('PATCH', path, {
          body: { data: { [identity]: null } },
          contentType: 'application/merge-patch+json',
        })
        .catch(() => undefined);
    },
  };
}
