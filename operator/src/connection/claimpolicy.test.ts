import { describe, expect, it } from '@jest/globals';
import { claimStep } from './claimpolicy.ts';

const origin = { clusterID: 'cluster-1', connection: 'prod' };
const claim = {
  metadata: {
    name: 'web-0123456789abcdef',
    labels: {
      'connect.ctp.dev/cluster-id': 'cluster-1',
      'connect.ctp.dev/app-namespace': 'shop',
      'connect.ctp.dev/app-name': 'web',
      'connect.ctp.dev/name-scheme': 'v2',
      tier: 'gold',
    },
    annotations: { 'connect.ctp.dev/app-name': 'web' },
  },
};

describe('claimStep', () => {
  it('leaves every claim alone under Detach', () => {
    expect(claimStep('Detach', claim, origin)).toEqual({ action: 'keep' });
  });

  it('deletes under Delete, and only waits for a claim that is deleting already', () => {
    expect(claimStep('Delete', claim, origin)).toEqual({ action: 'delete' });
    const deleting = { metadata: { ...claim.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect(claimStep('Delete', deleting, origin)).toEqual({ action: 'wait' });
  });

  it('hands over under Migrate: every connector label removed, the origin in annotations, user labels kept', () => {
    expect(claimStep('Migrate', claim, origin)).toEqual({
      action: 'migrate',
      patch: {
        metadata: {
          labels: {
            'connect.ctp.dev/cluster-id': null,
            'connect.ctp.dev/app-namespace': null,
            'connect.ctp.dev/app-name': null,
            'connect.ctp.dev/name-scheme': null,
          },
          annotations: {
            'connect.ctp.dev/migrated-from-cluster': 'cluster-1',
            'connect.ctp.dev/migrated-from-namespace': 'shop',
            'connect.ctp.dev/migrated-from-name': 'web',
            'connect.ctp.dev/migrated-from-connection': 'prod',
          },
        },
      },
    });
  });

  it('takes a long app name from the annotation, since no label can hold it', () => {
    const long = 'a'.repeat(70);
    const labels = { 'connect.ctp.dev/cluster-id': 'cluster-1', 'connect.ctp.dev/app-namespace': 'shop' };
    const step = claimStep(
      'Migrate',
      { metadata: { name: 'x', labels, annotations: { 'connect.ctp.dev/app-name': long } } },
      origin,
    );
    expect(step.action === 'migrate' && step.patch.metadata.annotations).toMatchObject({
      'connect.ctp.dev/migrated-from-name': long,
    });
  });
});
