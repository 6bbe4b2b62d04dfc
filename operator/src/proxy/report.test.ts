import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { reportValidMs } from '../catalog/names.ts';
import { reportIdentity, reportPatch } from './report.ts';

describe('the replica report', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it("writes this replica's key and removes only the expired reports of others", () => {
    const fresh = JSON.stringify({ namespaces: ['a'], at: new Date(now.getTime() - 1000).toISOString() });
    const stale = JSON.stringify({
      namespaces: ['b'],
      at: new Date(now.getTime() - reportValidMs - 1).toISOString(),
    });
    const patch = reportPatch(
      'me.1',
      { namespaces: ['shop'], rejectedToken: '2026-12-01T11:00:00.000Z' },
      { 'me.1': stale, 'other.2': fresh, 'gone.3': stale, junk: 'x' },
      now,
    );
    expect(patch).toEqual({
      data: {
        'me.1': JSON.stringify({
          namespaces: ['shop'],
          rejectedToken: '2026-12-01T11:00:00.000Z',
          at: now.toISOString(),
        }),
        'gone.3': null,
        junk: null,
      },
    });
  });

  it('property: the identity is always a valid ConfigMap key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.nat(), (host, pid) => {
        expect(reportIdentity(host, pid)).toMatch(/^[-._a-zA-Z0-9]{1,253}$/);
      }),
    );
  });
});
