import { describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../claims/identity.ts';
import type { CachedClaim } from './claimcache.ts';
import {
  appSecret,
  copiedFromLabel,
  copyFingerprint,
  namespacesOf,
  wantedCopyOf,
} from './connectionsecrets.ts';
import { connectionSecretAnnotation, toControlPlane } from './translate.ts';

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
      {
        namespace: 'default',
        name: 'db',
        kind: 'KubernetesCluster',
        apiVersion: 'platform.example.org/v1alpha1',
        connection: 'main',
      },
      'db-conn',
      source,
    );
    expect(copy).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db-conn',
        namespace: 'default',
        annotations: {
          'connect.ctp.dev/delivered-by': 'main',
          [copiedFromLabel]: 'KubernetesCluster.platform.example.org/db',
        },
        labels: {
          'app.kubernetes.io/managed-by': 'ctp-connector',
          [copiedFromLabel]: 'KubernetesCluster.db',
          'connect.ctp.dev/delivered-by': 'main',
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

describe('wantedCopyOf', () => {
  const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
  const stored = (secretName: string | undefined, clusterID = 'c1') =>
    toControlPlane(
      {
        apiVersion: 'platform.example.org/v1alpha1',
        kind: 'KubernetesCluster',
        metadata: { name: 'db', annotations: { [connectionSecretAnnotation]: 'forged' } },
        spec: secretName ? { writeConnectionSecretToRef: { name: secretName } } : {},
      },
      { ...scope, clusterID },
      { namespace: 'shop', name: 'db' },
    ) as CachedClaim;

  it('names the copy by app namespace and Secret name, and its source by the mapped name', () => {
    expect(wantedCopyOf(stored('db-conn'), scope)).toEqual({
      key: 'shop/db-conn',
      secretName: 'db-conn',
      source: controlPlaneName('db-conn', 'shop', 'c1'),
      origin: { namespace: 'shop', name: 'db' },
      kind: 'KubernetesCluster',
      apiVersion: 'platform.example.org/v1alpha1',
      uid: undefined,
    });
  });

  it('wants nothing for a claim without a connection Secret, or of another cluster', () => {
    expect(wantedCopyOf(stored(undefined), scope)).toBeUndefined();
    expect(wantedCopyOf(stored('db-conn', 'c2'), scope)).toBeUndefined();
  });
});

describe('copyFingerprint', () => {
  const copy = (data: Record<string, string>) =>
    appSecret({ namespace: 'shop', name: 'db', kind: 'KubernetesCluster', connection: 'main' }, 'db-conn', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'm' },
      data,
    });

  it('is the same for the copy as the app cluster returns it (server metadata, other labels, key order)', () => {
    const wanted = copy({ a: 'MQ==', b: 'Mg==' });
    const live = {
      ...copy({ b: 'Mg==', a: 'MQ==' }),
      metadata: {
        ...wanted.metadata,
        uid: 'u',
        resourceVersion: '7',
        labels: { ...wanted.metadata.labels, team: 'x' },
      },
    };
    expect(copyFingerprint(live)).toBe(copyFingerprint(wanted));
  });

  it('differs when data, type or one of the connector labels differ', () => {
    const wanted = copy({ a: 'MQ==' });
    expect(copyFingerprint(copy({ a: 'Mg==' }))).not.toBe(copyFingerprint(wanted));
    expect(copyFingerprint({ ...wanted, type: 'Opaque' })).not.toBe(copyFingerprint(wanted));
    const relabelled = {
      ...wanted,
      metadata: { ...wanted.metadata, labels: { [copiedFromLabel]: 'other' } },
    };
    expect(copyFingerprint(relabelled)).not.toBe(copyFingerprint(wanted));
  });
});

describe('namespacesOf', () => {
  it('names each namespace of the wanted copies once, sorted', () => {
    expect(namespacesOf(['web/a', 'shop/db', 'shop/cache', 'billing/x'])).toEqual(['billing', 'shop', 'web']);
    expect(namespacesOf([])).toEqual([]);
  });
});
