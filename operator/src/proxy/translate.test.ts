import { describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../claims/identity.ts';
import { fromControlPlane, originOf, toControlPlane } from './translate.ts';

const scope = { clusterID: 'cluster-a', targetNamespace: 'team-1' };
const claim = {
  apiVersion: 'platform.example.org/v1alpha1',
  kind: 'KubernetesCluster',
  metadata: {
    name: 'my-cluster',
    namespace: 'default',
    labels: {
      app: 'web',
      'connect.ctp.dev/cluster-id': 'forged',
      'connect.ctp.dev/app-namespace': 'kube-system',
    },
    annotations: {
      'argocd.argoproj.io/tracking-id': 'app:platform.example.org/KubernetesCluster:default/my-cluster',
    },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u' }],
  },
  spec: { id: 'my-cluster', writeConnectionSecretToRef: { name: 'my-cluster-kubeconfig' } },
};

describe('claim translation', () => {
  it('stores a claim under its mapped name in targetNamespace, with origin labels no client can forge', () => {
    const up = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' });
    expect(up.metadata).toEqual({
      name: controlPlaneName('my-cluster', 'default', 'cluster-a'),
      namespace: 'team-1',
      labels: {
        app: 'web',
        'connect.ctp.dev/cluster-id': 'cluster-a',
        'connect.ctp.dev/app-namespace': 'default',
        'connect.ctp.dev/app-name': 'my-cluster',
        'connect.ctp.dev/name-scheme': 'v2',
      },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'app:platform.example.org/KubernetesCluster:default/my-cluster',
        'connect.ctp.dev/app-name': 'my-cluster',
        'connect.ctp.dev/app-connection-secret': 'my-cluster-kubeconfig',
      },
    });
    expect(up.spec?.writeConnectionSecretToRef?.name).toBe(
      controlPlaneName('my-cluster-kubeconfig', 'default', 'cluster-a'),
    );
  });

  it('keeps a claim stored before the v2 scheme under its v1 names, and recognises it as this cluster claim', () => {
    const legacy = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' }, 'v1');
    expect(legacy.metadata?.name).toBe(controlPlaneName('my-cluster', 'default', 'cluster-a', 'v1'));
    expect(legacy.metadata?.labels).not.toHaveProperty('connect.ctp.dev/name-scheme');
    expect(legacy.spec?.writeConnectionSecretToRef?.name).toBe(
      controlPlaneName('my-cluster-kubeconfig', 'default', 'cluster-a', 'v1'),
    );
    expect(originOf(legacy, scope)).toEqual({ namespace: 'default', name: 'my-cluster' });
    // A v1 object labelled v2 (or the reverse) does not carry the name its scheme gives: not this cluster's.
    const mislabelled = {
      ...legacy,
      metadata: {
        ...legacy.metadata,
        labels: { ...legacy.metadata?.labels, 'connect.ctp.dev/name-scheme': 'v2' },
      },
    };
    expect(originOf(mislabelled, scope)).toBeUndefined();
  });

  it('maps stored claims back exactly, hiding every connector field including in managedFields', () => {
    const stored = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' });
    stored.metadata!.managedFields = [
      {
        fieldsV1: {
          'f:metadata': {
            'f:labels': { 'f:app': {}, 'f:connect.ctp.dev/cluster-id': {} },
            'f:annotations': { 'f:connect.ctp.dev/app-name': {} },
          },
        },
      },
    ];
    const down = fromControlPlane(stored, scope);
    expect(down?.metadata).toEqual({
      name: 'my-cluster',
      namespace: 'default',
      labels: { app: 'web' },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'app:platform.example.org/KubernetesCluster:default/my-cluster',
      },
      managedFields: [{ fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:annotations': {} } } }],
    });
    expect(down?.spec).toEqual(claim.spec);
  });

  it('does not show objects of another cluster, nor ones whose labels were copied onto another name', () => {
    const stored = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' });
    expect(fromControlPlane(stored, { ...scope, clusterID: 'cluster-b' })).toBeUndefined();
    const impostor = { ...stored, metadata: { ...stored.metadata, name: 'something-else' } };
    expect(fromControlPlane(impostor, scope)).toBeUndefined();
  });
});
