import { describe, expect, it } from '@jest/globals';
import { appSecret, copiedFromLabel } from './connectionsecrets.ts';

describe('appSecret', () => {
  it('copies type and data under the original name, without the source metadata', () => {
    const source = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'mapped-0123',
        namespace: 'team-1',
        annotations: { 'argocd.argoproj.io/tracking-id': 'x' },
        labels: { 'app.kubernetes.io/instance': 'y' },
      },
      type: 'connection.crossplane.io/v1alpha1',
      data: { kubeconfig: 'YWJj' },
    };
    const copy = appSecret(
      { namespace: 'default', name: 'db', kind: 'KubernetesCluster', connection: 'main' },
      'db-conn',
      source,
    );
    expect(copy).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db-conn',
        namespace: 'default',
        labels: {
          'app.kubernetes.io/managed-by': 'ctp-connector',
          [copiedFromLabel]: 'KubernetesCluster.db',
          'connect.ctp.dev/connection': 'main',
        },
      },
      type: 'connection.crossplane.io/v1alpha1',
      data: { kubeconfig: 'YWJj' },
    });
  });

  it('keeps the label value within 63 characters and ending in an alphanumeric', () => {
    const copy = appSecret(
      { namespace: 'default', name: `${'a'.repeat(60)}-x`, kind: 'KubernetesCluster', connection: 'main' },
      's',
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'm' } },
    );
    const value = copy.metadata.labels?.[copiedFromLabel] ?? '';
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(/[A-Za-z0-9]$/);
  });
});
