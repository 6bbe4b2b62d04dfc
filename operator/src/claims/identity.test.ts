import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  controlPlaneName,
  hashInput,
  labelValue,
  originLabels,
  originSelector,
  schemeOf,
} from './identity.ts';

describe('claim identity in the control plane', () => {
  it('keeps the name readable and appends a hash of name, namespace and cluster', () => {
    const name = controlPlaneName('my-cluster', 'default', 'cluster-a');
    expect(name).toMatch(/^my-cluster-[0-9a-f]{16}$/);
    expect(controlPlaneName('my-cluster', 'default', 'cluster-a')).toBe(name);
    expect(controlPlaneName('my-cluster', 'default', 'cluster-a', 'v1')).not.toBe(name);
  });

  it('separates the triples the v1 scheme confused (names, namespaces and cluster IDs containing "-x-")', () => {
    // v1 joined the three with "-x-": each pair below mapped to one control-plane name.
    type Triple = [string, string, string];
    const pairs: [Triple, Triple][] = [
      [
        ['db', 'shop', 'eu-x-prod'],
        ['db', 'shop-x-eu', 'prod'],
      ],
      [
        [`${'a'.repeat(46)}-x-team`, 'prod', 'c'],
        ['a'.repeat(46), 'team-x-prod', 'c'],
      ],
    ];
    for (const [first, second] of pairs) {
      expect(controlPlaneName(...first, 'v1')).toBe(controlPlaneName(...second, 'v1'));
      expect(controlPlaneName(...first)).not.toBe(controlPlaneName(...second));
    }
  });

  it('never gives one name to two distinct (clusterID, namespace, name) triples', () => {
    const part = fc.oneof(
      fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/),
      fc.constantFrom('a', 'a-x-b', 'x', '-x-', 'b-x-a', 'a-x', 'x-b'),
    );
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (a, b) => {
        fc.pre(a.join('\0') !== b.join('\0'));
        // The hash input is injective (length-delimited), so only a 64-bit hash collision could map both to one
        // name — and the proxy checks the stored object's origin before every write.
        expect(hashInput(...a, 'v2')).not.toBe(hashInput(...b, 'v2'));
        expect(controlPlaneName(...a)).not.toBe(controlPlaneName(...b));
      }),
      { numRuns: 5_000 },
    );
  });

  it('never exceeds 63 characters and never leaves a trailing separator before the hash', () => {
    const long = `${'a'.repeat(45)}--.${'b'.repeat(200)}`;
    for (const scheme of ['v1', 'v2'] as const) {
      const name = controlPlaneName(long, 'ns', 'c', scheme);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^a{45}-[0-9a-f]{16}$/);
      expect(controlPlaneName('x'.repeat(253), 'ns', 'c', scheme)).toHaveLength(63);
    }
  });

  it('labels where a claim came from and which scheme named it', () => {
    expect(originLabels({ clusterID: 'c1', namespace: 'default', name: 'db' })).toEqual({
      'connect.ctp.dev/cluster-id': 'c1',
      'connect.ctp.dev/app-namespace': 'default',
      'connect.ctp.dev/app-name': 'db',
      'connect.ctp.dev/name-scheme': 'v2',
    });
    expect(originLabels({ clusterID: 'c1', namespace: 'default', name: 'db' }, 'v1')).not.toHaveProperty(
      'connect.ctp.dev/name-scheme',
    );
    expect(schemeOf({ metadata: { labels: { 'connect.ctp.dev/name-scheme': 'v2' } } })).toBe('v2');
    expect(schemeOf({ metadata: {} })).toBe('v1');
    const long = originLabels({ clusterID: 'c1', namespace: 'default', name: 'n'.repeat(100) });
    expect(long['connect.ctp.dev/app-name']).toBeUndefined();
    expect(labelValue('x'.repeat(64))).toMatch(/^[0-9a-f]{32}$/);
    expect(originSelector('c1', 'default')).toBe(
      'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=default',
    );
  });
});
