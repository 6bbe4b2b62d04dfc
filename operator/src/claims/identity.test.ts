import { describe, expect, it } from '@jest/globals';
import { controlPlaneName, labelValue, originLabels, originSelector } from './identity.ts';

describe('claim identity in the control plane', () => {
  it('keeps the name readable and appends a hash of name, namespace and cluster', () => {
    const name = controlPlaneName('my-cluster', 'default', 'cluster-a');
    expect(name).toMatch(/^my-cluster-[0-9a-f]{16}$/);
    expect(controlPlaneName('my-cluster', 'default', 'cluster-a')).toBe(name);
  });

  it('is distinct across namespaces and clusters, including ambiguous joins', () => {
    const names = new Set([
      controlPlaneName('a', 'b', 'c'),
      controlPlaneName('a', 'b', 'd'),
      controlPlaneName('a', 'c', 'c'),
      controlPlaneName('b', 'b', 'c'),
      controlPlaneName('a-x-b', 'c', 'c'),
      controlPlaneName('a', 'b-x-c', 'c'),
    ]);
    expect(names.size).toBe(6);
  });

  it('never exceeds 63 characters and never leaves a trailing separator before the hash', () => {
    const long = `${'a'.repeat(45)}--.${'b'.repeat(200)}`;
    const name = controlPlaneName(long, 'ns', 'c');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a{45}-[0-9a-f]{16}$/);
    expect(controlPlaneName('x'.repeat(253), 'ns', 'c')).toHaveLength(63);
  });

  it('labels where a claim came from, hashing values that are not valid label values', () => {
    expect(originLabels({ clusterID: 'c1', namespace: 'default', name: 'db' })).toEqual({
      'connect.ctp.dev/cluster-id': 'c1',
      'connect.ctp.dev/app-namespace': 'default',
      'connect.ctp.dev/app-name': 'db',
    });
    const long = originLabels({ clusterID: 'c1', namespace: 'default', name: 'n'.repeat(100) });
    expect(long['connect.ctp.dev/app-name']).toBeUndefined();
    expect(labelValue('x'.repeat(64))).toMatch(/^[0-9a-f]{32}$/);
    expect(originSelector('c1', 'default')).toBe(
      'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=default',
    );
  });
});
