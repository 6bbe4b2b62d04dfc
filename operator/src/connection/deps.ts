// What the reconciler and the finalizer work with, chosen at construction (tests swap them), and what they return.
import type { Logger } from 'pino';
import type { EventRecorder } from '../controller/events.ts';
import type { KubeClient } from '../kube/client.ts';
import type { ControlPlaneRegistry } from './controlplanes.ts';
import type { OperatorSettings } from './workload.ts';

export interface ReconcilerDeps {
  /** The app cluster; while leader election runs, a client guarded by the leadership. */
  app: KubeClient;
  settings: OperatorSettings;
  controlPlanes: ControlPlaneRegistry;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

export interface Result {
  requeueAfterMs?: number;
}
