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
import type { OperatorSettings } from './connection/workload.ts';
import { createController } from './controller/controller.ts';
import { eventRecorder } from './controller/events.ts';
import { supervisedInformer } from './controller/informer.ts';
import { leaderElector } from './controller/leader.ts';
import { createControllerMetrics } from './controller/metrics.ts';
import { kubeClient, pooledKubeConfig } from './kube/client.ts';
import type { Logger } from './log.ts';
import { probes, serveEndpoints } from './observe/endpoints.ts';

export interface OperatorOptions {
  kubeconfig?: string;
  settings: OperatorSettings;
  leaderElect: boolean;
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
  const kc = pooledKubeConfig((k) =>
    options.kubeconfig ? k.loadFromFile(options.kubeconfig) : k.loadFromDefault(),
  );
  const app = kubeClient(kc, 'ctp-connector-operator');
  const metrics = createControllerMetrics();
  const statusMetrics = connectionStatusMetrics(metrics.registry);
  const events = eventRecorder(app, 'ctp-connector-operator', log);
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

  const runController = async (signal: AbortSignal) => {
    const connections = supervisedInformer<KubernetesObject>({
      client: app,
      path: `/apis/${api.group}/${api.version}/${api.plural}`,
      log: log.child({ watch: api.plural }),
      onEvent: (_e, obj) => controller.queue.add(obj.metadata?.name ?? ''),
    });
    statusMetrics.observe(() => connections.list());
    const controlPlanes = controlPlaneRegistry(log, (name) => controller.queue.add(name));
    const controller = createController({
      name: 'controlplaneconnection',
      reconcile: connectionReconciler({ app, settings, controlPlanes, events, log }),
      keys: () => connections.list().map((c) => c.metadata?.name ?? ''),
      metrics,
      log,
    });
    controller.watch(connections);
    // Owned objects map back to their connection through the connection label.
    const owned = (path: string) =>
      controller.watch(
        supervisedInformer<KubernetesObject>({
          client: app,
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
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const done = (async () => {
    if (!options.leaderElect) {
      await runController(stopping.signal);
      return;
    }
    const elector = leaderElector({
      client: app,
      namespace: settings.namespace,
      name: 'ctp-connector-operator',
      identity,
      log,
    });
    stopping.signal.addEventListener('abort', () => elector.stop(), { once: true });
    ready = true; // a standby replica is ready: it serves health and waits for the lease
    const outcome = await elector.run(async (signal) => {
      metrics.leader(true);
      await runController(signal);
      metrics.leader(false);
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
