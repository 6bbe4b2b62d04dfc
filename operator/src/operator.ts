// `ctp-connector operator`: health and metrics endpoints, leader election, and the ControlPlaneConnection controller
// with watches on everything it owns.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import * as api from './api/connection.ts';
import { connectionReconciler } from './connection/reconcile.ts';
import { controlPlaneRegistry } from './connection/controlplanes.ts';
import { connectionStatusMetrics } from './connection/metrics.ts';
import { connectionLabel } from './connection/names.ts';
import type { OperatorSettings, RBACSubject } from './connection/workload.ts';
import { createController } from './controller/controller.ts';
import { eventRecorder } from './controller/events.ts';
import { supervisedInformer } from './controller/informer.ts';
import { leaderElector } from './controller/leader.ts';
import { createControllerMetrics } from './controller/metrics.ts';
import { guardedClient, kubeconfigClient, type KubeClient, type RequestGuard } from './kube/client.ts';
import type { Logger } from './log.ts';
import { probes, serveEndpoints } from './observe/endpoints.ts';

export interface OperatorOptions {
  kubeconfig?: string;
  settings: OperatorSettings;
  leaderElect: boolean;
  /** Lease timing (client-go's defaults: 15 s, 10 s, 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** host:port, or ":port" for all interfaces; "0" disables. */
  metricsAddress: string;
  healthAddress: string;
  log: Logger;
}

export interface RunningOperator {
  /** Bound addresses (host:port) of the metrics and health endpoints, when enabled. */
  addresses: { metrics?: string; health?: string };
  stop(): Promise<void>;
  /** Resolves when the operator has stopped (by stop(), or by losing leadership). */
  done: Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { log, settings } = options;
  // The User-Agent names the replica, so the API servers' audit logs tell replicas apart; the part before "/" stays
  // the default field manager of non-apply writes.
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const userAgent = `ctp-connector-operator/${identity}`;
  const app = kubeconfigClient(options.kubeconfig, userAgent);
  const metrics = createControllerMetrics();
  const statusMetrics = connectionStatusMetrics(metrics.registry);
  let ready = false;

  const probe = probes(() => ready);
  const notFound = { status: 404, body: 'not found' };
  const endpoints = [
    await serveEndpoints(options.healthAddress, (path) => probe(path) ?? notFound),
    await serveEndpoints(options.metricsAddress, async (path) =>
      path === '/metrics'
        ? { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }
        : (probe(path) ?? notFound),
    ),
  ];

  /**
   * The controller until `guard.signal` aborts (leadership lost, or stopping): every request it makes — to the app
   * cluster and to control planes — carries the guard, so none leaves once the lease may have passed on.
   */
  const runController = async (guard: RequestGuard) => {
    const { signal } = guard;
    const client = guardedClient(app, guard);
    settings.operatorSubject ??= await whoAmI(client, log);
    const events = eventRecorder(client, 'ctp-connector-operator', log);
    const connections = supervisedInformer<KubernetesObject>({
      client,
      path: `/apis/${api.group}/${api.version}/${api.plural}`,
      log: log.child({ watch: api.plural }),
      onEvent: (_e, obj) => controller.queue.add(obj.metadata?.name ?? ''),
    });
    statusMetrics.observe(() => connections.list());
    const controlPlanes = controlPlaneRegistry(log, (name) => controller.queue.add(name), {
      userAgent,
      guard,
    });
    const controller = createController({
      name: 'controlplaneconnection',
      reconcile: connectionReconciler({ app: client, settings, controlPlanes, events, log }),
      keys: () => connections.list().map((c) => c.metadata?.name ?? ''),
      metrics,
      log,
    });
    controller.watch(connections);
    // Owned objects map back to their connection through the connection label.
    const owned = (path: string) =>
      controller.watch(
        supervisedInformer<KubernetesObject>({
          client,
          path,
          labelSelector: connectionLabel,
          log: log.child({ watch: path }),
          onEvent: (_e, obj) => {
            const name = obj.metadata?.labels?.[connectionLabel];
            if (name) controller.queue.add(name);
          },
        }),
      );
    owned(`/api/v1/namespaces/${settings.namespace}/secrets`);
    owned(`/api/v1/namespaces/${settings.namespace}/configmaps`);
    owned(`/apis/apps/v1/namespaces/${settings.namespace}/deployments`);
    owned('/apis/apiregistration.k8s.io/v1/apiservices');
    ready = true;
    try {
      await controller.run(signal);
    } finally {
      statusMetrics.observe(() => []);
      await controlPlanes.stop();
    }
  };

  const stopping = new AbortController();
  const done = (async () => {
    if (!options.leaderElect) {
      await runController({ signal: stopping.signal });
      return;
    }
    const elector = leaderElector({
      client: app,
      namespace: settings.namespace,
      name: 'ctp-connector-operator',
      identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      log,
    });
    stopping.signal.addEventListener('abort', () => elector.stop(), { once: true });
    ready = true; // a standby replica is ready: it serves health and waits for the lease
    const outcome = await elector.run(async (leadership) => {
      metrics.leader(true);
      try {
        await runController(leadership);
      } finally {
        metrics.leader(false);
      }
    });
    if (outcome === 'lost') log.error('leadership lost; stopping so a fresh process can campaign again');
  })().finally(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await app.close();
  });

  return {
    addresses: { health: endpoints[0]?.address, metrics: endpoints[1]?.address },
    async stop() {
      stopping.abort();
      await done;
    },
    done,
  };
}

/**
 * The operator's identity as the app cluster sees it (a SelfSubjectReview, which every user may create): a subject of
 * the per-namespace bindings it creates, so that it can clean up there. Unknown is survivable: it logs and goes on.
 */
async function whoAmI(client: KubeClient, log: Logger): Promise<RBACSubject | undefined> {
  try {
    const review = await client.request<{ status?: { userInfo?: { username?: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    return subjectOf(review.status?.userInfo?.username ?? '');
  } catch (err) {
    log.warn(
      { err: String(err) },
      'cannot learn the operator identity; connection Secret copies are not cleaned up',
    );
    return undefined;
  }
}

/** The RBAC subject of a username: a ServiceAccount for system:serviceaccount:<ns>:<name>, else a User. Pure. */
export function subjectOf(username: string): RBACSubject | undefined {
  if (!username) return undefined;
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (sa) return { kind: 'ServiceAccount', name: sa[2]!, namespace: sa[1]! };
  return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: username };
}
