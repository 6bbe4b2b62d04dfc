import { describe, expect, it } from '@jest/globals';
import { subjectOf } from './operator.ts';

describe('subjectOf', () => {
  it('turns a ServiceAccount username into a ServiceAccount subject', () => {
    expect(subjectOf('system:serviceaccount:ctp-system:ctp-connector-operator')).toEqual({
      kind: 'ServiceAccount',
      name: 'ctp-connector-operator',
      namespace: 'ctp-system',
    });
  });

  it('turns anything else into a User, and nothing into nothing', () => {
    expect(subjectOf('admin')).toEqual({
      kind: 'User',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'admin',
    });
    expect(subjectOf('system:serviceaccount:only-ns')).toMatchObject({ kind: 'User' });
    expect(subjectOf('')).toBeUndefined();
  });
});
