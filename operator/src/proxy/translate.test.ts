import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { controlPlaneName } from '../claims/identity.ts';
import { fieldSetSharing } from '../kube/fieldsets.ts';
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

  it('shows claims whose field sets the cache shares exactly as unshared ones, sharing their app views too', () => {
    const sets = fc.array(
      fc.record({
        'f:metadata': fc.record({
          'f:labels': fc.dictionary(
            fc.constantFrom('f:app', 'f:connect.ctp.dev/cluster-id', 'f:connect.ctp.dev/app-name', 'f:team'),
            fc.constant({}),
          ),
          'f:annotations': fc.dictionary(
            fc.constantFrom('f:connect.ctp.dev/app-name', 'f:connect.ctp.dev/app-connection-secret', 'f:x'),
            fc.constant({}),
          ),
        }),
        'f:spec': fc.constant({ 'f:id': {} }),
      }),
      { minLength: 1, maxLength: 3 },
    );
    fc.assert(
      fc.property(sets, (fieldSets) => {
        const stored = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' });
        stored.metadata!.managedFields = fieldSets.map((fieldsV1) => ({ fieldsV1 }));
        const sharing = fieldSetSharing();
        const [a, b] = [0, 1].map(() => fromControlPlane(sharing.share(structuredClone(stored)), scope));
        expect(a).toEqual(fromControlPlane(structuredClone(stored), scope));
        a!.metadata!.managedFields!.forEach((entry, i) => {
          expect(entry.fieldsV1).toBe(b!.metadata!.managedFields![i]!.fieldsV1);
          expect(Object.isFrozen(entry.fieldsV1)).toBe(true);
        });
      }),
    );
  });

  it('does not show objects of another cluster, nor ones whose labels were copied onto another name', () => {
    const stored = toControlPlane(claim, scope, { namespace: 'default', name: 'my-cluster' });
    expect(fromControlPlane(stored, { ...scope, clusterID: 'cluster-b' })).toBeUndefined();
    const impostor = { ...stored, metadata: { ...stored.metadata, name: 'something-else' } };
    expect(fromControlPlane(impostor, scope)).toBeUndefined();
  });
});

describe("Crossplane's references", () => {
  const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,40}[a-z0-9])?$/);
  const ref = fc.record({
    apiVersion: fc.constantFrom('v1', 'data.example.org/v1beta1'),
    kind: fc.string(),
    name,
  });
  // What Crossplane writes into claims (resourceRef, the XR) and v2 XRs (spec.crossplane): control-plane names.
  const machinery = fc.record({
    resourceRef: ref,
    crossplane: fc.record({
      compositionRef: fc.record({ name }),
      compositionRevisionRef: fc.record({ name }),
      compositionUpdatePolicy: fc.constantFrom('Automatic', 'Manual'),
      resourceRefs: fc.array(ref, { maxLength: 4 }),
    }),
  });

  it('are shown as stored and stored as sent, so an edit of the app object writes back what Crossplane wrote', () => {
    fc.assert(
      fc.property(machinery, (fields) => {
        const stored = toControlPlane({ ...claim, spec: { ...claim.spec, ...fields } }, scope, {
          namespace: 'default',
          name: 'my-cluster',
        });
        const shown = fromControlPlane(stored, scope);
        expect(shown?.spec?.resourceRef).toEqual(fields.resourceRef);
        expect(shown?.spec?.crossplane).toEqual(fields.crossplane);
        const again = toControlPlane(shown!, scope, { namespace: 'default', name: 'my-cluster' });
        expect(again.spec).toEqual(stored.spec);
      }),
      { numRuns: 500 },
    );
  });
});
