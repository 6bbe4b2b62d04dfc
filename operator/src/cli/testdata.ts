// Connection objects in the shapes the operator writes, for the CLI's unit tests.
import type { Condition } from '../api/connection.ts';
import type { Connection } from './connections.ts';

export function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message = '',
): Condition {
  return { type, status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 };
}

export function connection(conditions: Condition[], overrides: Partial<Connection> = {}): Connection {
  return {
    apiVersion: 'connect.ctp.dev/v1alpha1',
    kind: 'ControlPlaneConnection',
    metadata: { name: 'team-a', generation: 1, uid: 'u-1' },
    spec: { targetNamespace: 'team-a', deletionPolicy: 'Migrate', proxy: { replicas: 2 } },
    status: {
      observedGeneration: 1,
      conditions,
      clusterID: 'cluster-1',
      controlPlane: { server: 'https://cp.example.com' },
      apis: [
        {
          group: 'platform.example.org',
          version: 'v1alpha1',
          kinds: ['KubernetesCluster'],
          apiService: 'v1alpha1.platform.example.org',
          available: true,
        },
        {
          group: 'data.example.org',
          version: 'v1',
          kinds: ['Database', 'Cache'],
          apiService: 'v1.data.example.org',
          available: true,
        },
      ],
      credentials: { mode: 'Scoped', expiresAt: '2026-01-01T01:00:00Z' },
      proxy: { replicas: 2, readyReplicas: 1 },
    },
    ...overrides,
  };
}

export const readyConnection = () =>
  connection([
    condition('Ready', 'True', 'Connected', 'serving 2 claim API group/versions from https://cp.example.com'),
    condition('Reconciling', 'False', 'ReconcileSucceeded'),
    condition('Stalled', 'False', 'NoError'),
  ]);
