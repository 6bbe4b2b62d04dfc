import { describe, expect, it } from '@jest/globals';
import { conditionChanges, readiness } from './connections.ts';
import { condition, connection, readyConnection } from './testdata.ts';

describe('readiness', () => {
  it('is Ready when Ready=True for the current generation', () => {
    expect(readiness(readyConnection())).toEqual({
      state: 'Ready',
      message: 'serving 2 claim API group/versions from https://cp.example.com',
    });
  });

  it('is Progressing while the operator has not seen the current generation', () => {
    const stale = readyConnection();
    stale.metadata.generation = 2;
    expect(readiness(stale).state).toBe('Progressing');
    expect(readiness(connection([], { status: undefined })).state).toBe('Progressing');
  });

  it('is Stalled when the operator says a human must act, with its reason', () => {
    const stalled = connection([
      condition('Ready', 'False', 'InvalidKubeconfig', 'Secret ctp-system/x key "value": not a kubeconfig'),
      condition('Stalled', 'True', 'InvalidKubeconfig', 'Secret ctp-system/x key "value": not a kubeconfig'),
    ]);
    expect(readiness(stalled)).toEqual({
      state: 'Stalled',
      reason: 'InvalidKubeconfig',
      message: 'Secret ctp-system/x key "value": not a kubeconfig',
    });
  });

  it('is Progressing with the reason while the operator retries', () => {
    const retrying = connection([
      condition('Ready', 'False', 'APIServiceUnavailable', 'v1.data.example.org: FailedDiscoveryCheck'),
      condition('Reconciling', 'True', 'Retrying'),
      condition('Stalled', 'False', 'NoError'),
    ]);
    expect(readiness(retrying)).toEqual({
      state: 'Progressing',
      message: 'APIServiceUnavailable: v1.data.example.org: FailedDiscoveryCheck',
    });
  });
});

describe('conditionChanges', () => {
  it('reports new conditions and changed status, reason or message; nothing else', () => {
    const before = [
      condition('Ready', 'False', 'CredentialsNotFound', 'Secret a/b not found'),
      condition('Stalled', 'False', 'NoError'),
    ];
    const after = [
      condition('Ready', 'False', 'APIServiceUnavailable', 'waiting'),
      condition('Stalled', 'False', 'NoError'),
      condition('Reconciling', 'True', 'Retrying'),
    ];
    expect(conditionChanges(before, after)).toEqual([
      'Ready=False APIServiceUnavailable: waiting',
      'Reconciling=True Retrying',
    ]);
    expect(conditionChanges(after, after)).toEqual([]);
    expect(conditionChanges(undefined, before)).toHaveLength(2);
  });
});
