import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { controlPlaneName } from '../claims/identity.ts';
import type { CachedClaim } from './claimcache.ts';
import {
  appSecret,
  copiedFromLabel,
  copyFingerprint,
  deliverable,
  namespacesOf,
  namespaceTally,
  ownerOf,
  wantedCopiesOf,
  wantedCopyOf,
  type WantedCopy,
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
      created: undefined,
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

describe('namespaceTally', () => {
  it('equals namespacesOf the keys after every join and leave, and says when the namespaces changed', () => {
    const key = fc
      .tuple(fc.constantFrom('shop', 'web', 'billing', 'a-b'), fc.constantFrom('x', 'y', 'z'))
      .map(([ns, name]) => `${ns}/${name}`);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 60 }), (steps) => {
        const tally = namespaceTally();
        const present = new Set<string>();
        for (const [join, k] of steps) {
          const before = namespacesOf(present);
          // As the sync calls it: only for a key that joins or leaves the set.
          if (join === present.has(k)) continue;
          const changed = join ? tally.added(k) : tally.removed(k);
          if (join) present.add(k);
          else present.delete(k);
          expect(tally.namespaces()).toEqual(namespacesOf(present));
          expect(changed).toBe(JSON.stringify(before) !== JSON.stringify(namespacesOf(present)));
        }
      }),
    );
  });
});

describe('namespacesOf', () => {
  it('names each namespace of the wanted copies once, sorted', () => {
    expect(namespacesOf(['web/a', 'shop/db', 'shop/cache', 'billing/x'])).toEqual(['billing', 'shop', 'web']);
    expect(namespacesOf([])).toEqual([]);
  });
});

describe('wantedCopiesOf: the Secrets composed for a v2 XR', () => {
  const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
  const stored = (
    refs: unknown,
    options: { clusterID?: string; connectionSecret?: string; name?: string } = {},
  ): CachedClaim => {
    const obj = toControlPlane(
      {
        apiVersion: 'data.example.org/v1beta1',
        kind: 'Database',
        metadata: { name: options.name ?? 'orders' },
        spec: {
          engine: 'postgres',
          ...(options.connectionSecret
            ? { writeConnectionSecretToRef: { name: options.connectionSecret } }
            : {}),
        },
      },
      { ...scope, clusterID: options.clusterID ?? 'c1' },
      { namespace: 'shop', name: options.name ?? 'orders' },
    ) as CachedClaim;
    obj.metadata.uid = 'xr-uid';
    obj.metadata.creationTimestamp = '2026-01-02T03:04:05Z' as unknown as Date;
    (obj.spec as Record<string, unknown>).crossplane = { resourceRefs: refs };
    return obj;
  };
  const storedName = controlPlaneName('orders', 'shop', 'c1');
  const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name });

  it('wants one copy per composed Secret, under the app name, controlled by the XR', () => {
    const xr = stored([
      secretRef(`${storedName}-x7k2p`),
      { apiVersion: 'v1', kind: 'ConfigMap', name: `${storedName}-abcde` },
      secretRef(`${storedName}-connection-details`),
    ]);
    const { copies, unnamed } = wantedCopiesOf(xr, scope);
    expect(unnamed).toEqual([]);
    expect(copies).toEqual([
      {
        key: 'shop/orders-x7k2p',
        secretName: 'orders-x7k2p',
        source: `${storedName}-x7k2p`,
        origin: { namespace: 'shop', name: 'orders' },
        kind: 'Database',
        apiVersion: 'data.example.org/v1beta1',
        uid: 'xr-uid',
        created: '2026-01-02T03:04:05Z',
        controller: 'xr-uid',
      },
      expect.objectContaining({
        key: 'shop/orders-connection-details',
        source: `${storedName}-connection-details`,
        controller: 'xr-uid',
      }),
    ]);
  });

  it('reports the composed Secrets whose names do not derive from the XR, and ignores malformed references', () => {
    const xr = stored([
      secretRef('db-credentials'),
      { apiVersion: 'v1', kind: 'Secret' },
      { apiVersion: 'example.org/v1', kind: 'Secret', name: `${storedName}-abcde` },
      null,
      'junk',
    ]);
    expect(wantedCopiesOf(xr, scope)).toEqual({ copies: [], unnamed: ['db-credentials'] });
    expect(wantedCopiesOf(stored('not a list'), scope)).toEqual({ copies: [], unnamed: [] });
  });

  it("keeps the XR's writeConnectionSecretToRef copy, which its composition writes, as a claim's", () => {
    const source = controlPlaneName('orders-conn', 'shop', 'c1');
    const xr = stored([secretRef(source), secretRef(`${storedName}-x7k2p`)], {
      connectionSecret: 'orders-conn',
    });
    const { copies, unnamed } = wantedCopiesOf(xr, scope);
    expect(unnamed).toEqual([]);
    expect(copies.map((c) => [c.key, c.source, c.controller])).toEqual([
      ['shop/orders-conn', source, undefined],
      ['shop/orders-x7k2p', `${storedName}-x7k2p`, 'xr-uid'],
    ]);
  });

  it("wants nothing for another cluster's XR, even one listing this cluster's Secrets", () => {
    const xr = stored([secretRef(`${storedName}-x7k2p`)], { clusterID: 'c2' });
    expect(wantedCopiesOf(xr, scope)).toEqual({ copies: [], unnamed: [] });
  });
});

describe('deliverable', () => {
  const want = (controller?: string): WantedCopy => ({
    key: 'shop/orders-x7k2p',
    secretName: 'orders-x7k2p',
    source: 'orders-0123456789abcdef-x7k2p',
    origin: { namespace: 'shop', name: 'orders' },
    kind: 'Database',
    controller,
  });
  const secret = (ownerReferences?: unknown[]) =>
    ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'orders-0123456789abcdef-x7k2p', ownerReferences },
    }) as never;

  it("copies a composed Secret only while its controller reference is the XR's uid", () => {
    const controllerRef = (uid: string, controller = true) => ({
      apiVersion: 'data.example.org/v1beta1',
      kind: 'Database',
      name: 'orders-0123456789abcdef',
      uid,
      controller,
    });
    expect(deliverable(want('xr-uid'), secret([controllerRef('xr-uid')]))).toBe(true);
    // Another's (a forged resourceRef, another cluster's XR), merely owned, or owned by nobody: not the XR's.
    expect(deliverable(want('xr-uid'), secret([controllerRef('other-uid')]))).toBe(false);
    expect(deliverable(want('xr-uid'), secret([controllerRef('xr-uid', false)]))).toBe(false);
    expect(deliverable(want('xr-uid'), secret())).toBe(false);
  });

  it('copies a claim connection Secret by its name alone (its name carries the claim hash)', () => {
    expect(deliverable(want(), secret())).toBe(true);
  });
});

describe('ownerOf', () => {
  const want = (uid: string, created?: string): WantedCopy => ({
    key: 'shop/db-connection-details',
    secretName: 'db-connection-details',
    source: uid,
    origin: { namespace: 'shop', name: uid },
    kind: 'Database',
    uid,
    created,
  });

  it('gives a copy two objects want to the oldest, then the least uid, whatever the order', () => {
    const old = want('b', '2026-01-01T00:00:00Z');
    const young = want('a', '2026-01-02T00:00:00Z');
    const twin = want('c', '2026-01-01T00:00:00Z');
    const undated = want('0');
    for (const order of [
      [old, young, twin, undated],
      [undated, twin, young, old],
      [young, undated, old, twin],
    ])
      expect(ownerOf(order)).toBe(old);
    expect(ownerOf([undated, want('00')])).toBe(undated);
    expect(ownerOf([])).toBeUndefined();
  });
});
