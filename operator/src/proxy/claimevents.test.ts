import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { controlPlaneName } from '../claims/identity.ts';
import { appEventName, appEventOf, hiddenName, translateMessage, type CoreEvent } from './claimevents.ts';
import { toControlPlane } from './translate.ts';

const scope = { clusterID: 'cluster-a', targetNamespace: 'team-1' };
/** A claim as the connector stores it, with the uid the control plane gave it. */
const stored = (name: string, namespace: string, clusterID = scope.clusterID, secret?: string) => {
  const claim = toControlPlane(
    {
      apiVersion: 'platform.example.org/v1alpha1',
      kind: 'KubernetesCluster',
      metadata: { name, namespace },
      spec: secret ? { writeConnectionSecretToRef: { name: secret } } : {},
    },
    { ...scope, clusterID },
    { namespace, name },
  );
  return {
    ...claim,
    metadata: { ...claim.metadata, name: claim.metadata!.name!, uid: `uid-${name}-${clusterID}` },
  };
};
const eventAbout = (
  object: ReturnType<typeof stored>,
  message: string,
  extra: Partial<CoreEvent> = {},
): CoreEvent => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `${object.metadata.name}.17a`, namespace: 'team-1', uid: 'event-uid-1' },
  involvedObject: {
    apiVersion: 'platform.example.org/v1alpha1',
    kind: 'KubernetesCluster',
    name: object.metadata.name,
    namespace: 'team-1',
    uid: object.metadata.uid,
    resourceVersion: '42',
  },
  reason: 'BindCompositeResource',
  message,
  type: 'Normal',
  count: 3,
  firstTimestamp: '2026-12-01T10:00:00Z',
  lastTimestamp: '2026-12-01T10:05:00Z',
  source: { component: 'offered/compositeresourcedefinition.apiextensions.crossplane.io', host: 'cp-node-1' },
  reportingComponent: '',
  reportingInstance: 'crossplane-7d9f',
  ...extra,
});

describe('control-plane events in the app cluster', () => {
  const db = stored('db', 'shop', scope.clusterID, 'db-conn');

  it('is an Event on the app object: app name, namespace, the uid the proxy serves, kept count and times', () => {
    const xr = `${db.metadata.name}-x7k2p`;
    const secret = controlPlaneName('db-conn', 'shop', scope.clusterID);
    const out = appEventOf(
      eventAbout(
        db,
        `Successfully bound composite resource ${xr} of ${db.metadata.name} in team-1; secret ${secret}.`,
      ),
      db,
      scope,
      'prod',
    );
    expect(out).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: appEventName('db', 'event-uid-1'),
        namespace: 'shop',
        labels: { 'connect.ctp.dev/delivered-by': 'prod' },
        annotations: { 'connect.ctp.dev/source-event': 'event-uid-1' },
      },
      involvedObject: {
        apiVersion: 'platform.example.org/v1alpha1',
        kind: 'KubernetesCluster',
        name: 'db',
        namespace: 'shop',
        uid: db.metadata.uid,
        resourceVersion: '42',
      },
      reason: 'BindCompositeResource',
      // The XR keeps the name resourceRef shows; the claim, its Secret and the namespace are the app's.
      message: `Successfully bound composite resource ${xr} of db in shop; secret db-conn.`,
      type: 'Normal',
      count: 3,
      firstTimestamp: '2026-12-01T10:00:00Z',
      lastTimestamp: '2026-12-01T10:05:00Z',
      source: {
        component: 'offered/compositeresourcedefinition.apiextensions.crossplane.io via ctp-connector',
      },
      reportingComponent: 'offered/compositeresourcedefinition.apiextensions.crossplane.io via ctp-connector',
    });
  });

  it('is nothing for events about another cluster’s object, another namespace or a mismatching uid', () => {
    const other = stored('db', 'shop', 'cluster-b');
    expect(appEventOf(eventAbout(other, 'x'), other, scope, 'prod')).toBeUndefined();
    expect(
      appEventOf(eventAbout(db, 'x', { metadata: { namespace: 'team-2', uid: 'u' } }), db, scope, 'prod'),
    ).toBeUndefined();
    const wrongUid = eventAbout(db, 'x');
    wrongUid.involvedObject.uid = 'someone-else';
    expect(appEventOf(wrongUid, db, scope, 'prod')).toBeUndefined();
    const wrongKind = eventAbout(db, 'x');
    wrongKind.involvedObject.kind = 'ConfigMap';
    expect(appEventOf(wrongKind, db, scope, 'prod')).toBeUndefined();
  });

  it('names app Events after the source uid: the same name every time, a valid name for the longest app names', () => {
    expect(appEventName('db', 'u1')).toBe(appEventName('db', 'u1'));
    expect(appEventName('db', 'u1')).not.toBe(appEventName('db', 'u2'));
    const long = `${'a'.repeat(235)}-b`;
    expect(appEventName(long, 'u1').length).toBeLessThanOrEqual(253);
    expect(appEventName(long, 'u1')).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(appEventName(long, 'u1')).not.toMatch(/[-.]\./);
  });

  const appName = fc
    .stringMatching(/^[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?$/)
    .filter((n) => !/\.\.|\.-|-\./.test(n)); // DNS-1123 subdomains
  const filler = fc.constantFrom(
    'cannot compose',
    'of',
    'in namespace',
    ':',
    '"',
    ' ',
    ', ',
    'claim',
    'ready.',
  );

  it('maps this claim’s names back and never shows the target namespace or another cluster’s claim names', () => {
    fc.assert(
      fc.property(
        appName,
        appName,
        appName,
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
        filler,
        (name, namespace, foreign, parts, glue) => {
          fc.pre(
            name !== 'team-1' &&
              namespace !== 'team-1' &&
              !name.startsWith('team-1') &&
              !namespace.startsWith('team-1'),
          );
          const ours = stored(name, namespace);
          const theirs = stored(foreign, namespace, 'cluster-b');
          const words = [
            ours.metadata.name,
            'team-1',
            theirs.metadata.name,
            glue,
            `"${theirs.metadata.name}"`,
          ];
          const message = parts.map((i) => words[i]!).join(' ');
          const out = translateMessage(message, { stored: ours.metadata.name, app: name, namespace }, scope);
          const tokens = out.split(/[^a-z0-9.-]+/);
          expect(tokens).not.toContain('team-1');
          expect(tokens).not.toContain(ours.metadata.name);
          expect(tokens).not.toContain(theirs.metadata.name);
          expect(out).not.toContain(theirs.metadata.name);
          const expected = parts
            .map((i) => [name, namespace, hiddenName, glue, `"${hiddenName}"`][i])
            .join(' ');
          expect(out).toBe(expected);
        },
      ),
    );
  });
});
