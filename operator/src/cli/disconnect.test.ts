import { describe, expect, it } from '@jest/globals';
import { disconnectReport, renderDisconnected, type ClaimCensus } from './disconnect.ts';
import { readyConnection } from './testdata.ts';

const census: ClaimCensus = {
  counts: [
    { group: 'platform.example.org', version: 'v1alpha1', kind: 'KubernetesCluster', count: 2 },
    { group: 'data.example.org', version: 'v1', kind: 'Database', count: 1 },
    { group: 'data.example.org', version: 'v1', kind: 'Cache', count: 0 },
  ],
  errors: [],
};

describe('disconnect report', () => {
  it('counts claims per kind and names the outcome of each policy', () => {
    const report = disconnectReport(readyConnection(), 'Delete', census);
    expect(report).toEqual({
      connection: 'team-a',
      policy: 'Delete',
      targetNamespace: 'team-a',
      clusterID: 'cluster-1',
      claims: {
        total: 3,
        byKind: [census.counts[0], census.counts[1]],
        complete: true,
        errors: [],
      },
      outcome: 'deleted',
    });
    expect(disconnectReport(readyConnection(), 'Migrate', census).outcome).toBe('handed over');
    expect(disconnectReport(readyConnection(), 'Detach', census).outcome).toBe('left attached');
  });

  it.each([
    [
      'Delete',
      '3 claims (KubernetesCluster.platform.example.org: 2, Database.data.example.org: 1) deleted from control-plane namespace team-a.',
    ],
    [
      'Detach',
      '3 claims (KubernetesCluster.platform.example.org: 2, Database.data.example.org: 1) left untouched in control-plane namespace team-a; connecting again with cluster ID cluster-1 re-attaches them.',
    ],
    [
      'Migrate',
      '3 claims (KubernetesCluster.platform.example.org: 2, Database.data.example.org: 1) handed over to the control plane: they stay in namespace team-a, no longer tied to this cluster, marked with connect.ctp.dev/migrated-from-* annotations.',
    ],
  ] as const)('tells a human what %s did', (policy, line) => {
    expect(renderDisconnected(disconnectReport(readyConnection(), policy, census)).split('\n')).toEqual([
      `ControlPlaneConnection team-a is gone (deletionPolicy ${policy}).`,
      line,
      'Removed from this cluster: its APIServices, the proxy and its credentials.',
      '',
    ]);
  });

  it('says when the count is a lower bound', () => {
    const partial = disconnectReport(readyConnection(), 'Detach', {
      counts: [{ group: 'g', version: 'v1', kind: 'One', count: 1 }],
      errors: ['data.example.org/v1: GET /apis/data.example.org/v1: 503'],
    });
    expect(partial.claims.complete).toBe(false);
    const text = renderDisconnected(partial);
    expect(text).toContain('at least 1 claim (One.g: 1) left untouched');
    expect(text).toContain(
      'note: could not count claims: data.example.org/v1: GET /apis/data.example.org/v1: 503',
    );
  });
});
