// Prometheus metrics of the controllers, named like controller-runtime's so existing dashboards and alerts apply.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueObserver } from './workqueue.ts';

export interface ControllerMetrics {
  registry: Registry;
  reconciled(
    controller: string,
    result: 'success' | 'error' | 'requeue' | 'requeue_after',
    seconds: number,
  ): void;
  queueObserver(name: string): QueueObserver;
  /** Marks this process as leader (1) or not (0). */
  leader(isLeader: boolean): void;
}

export function createControllerMetrics(registry = new Registry()): ControllerMetrics {
  collectDefaultMetrics({ register: registry });
  const total = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'],
    buckets: [0.001, 0.01, 0.1, 1, 10, 60],
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'leader_election_master_status',
    help: 'Whether this process is the leader (1) or not (0)',
    labelNames: ['name'],
    registers: [registry],
  });
  return {
    registry,
    reconciled(controller, result, seconds) {
      total.inc({ controller, result });
      if (result === 'error') errors.inc({ controller });
      duration.observe({ controller }, seconds);
    },
    queueObserver(name) {
      return {
        depth: (n) => depth.set({ name }, n),
        added: () => adds.inc({ name }),
        retried: () => retries.inc({ name }),
        waited: (s) => latency.observe({ name }, s),
      };
    },
    leader(isLeader) {
      leader.set({ name: 'ctp-connector-operator' }, isLeader ? 1 : 0);
    },
  };
}
