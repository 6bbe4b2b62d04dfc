// Kubernetes Events for transitions, so `kubectl describe` and event-based alerting see what happened. Events of
// cluster-scoped objects live in the "default" namespace, as kube-controller-manager does it.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventRecorder {
  event(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export function eventRecorder(client: KubeClient, component: string, log: Logger): EventRecorder {
  return {
    event(target, type, reason, message) {
      const namespace = target.namespace ?? 'default';
      const now = new Date().toISOString();
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        reportingComponent: component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      // Best effort: an event that cannot be written must not fail a reconcile.
      client
        .request('POST', `/api/v1/namespaces/${namespace}/events`, { body })
        .catch((err: unknown) => log.warn({ err: String(err), reason }, 'could not record event'));
    },
  };
}
