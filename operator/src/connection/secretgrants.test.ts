import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ownedNames, reportValidMs } from '../catalog/names.ts';
import {
  grantedNamespaces,
  maxGrantedNamespaces,
  rejectedTokens,
  secretsRoleBinding,
} from './secretgrants.ts';

const now = new Date('2026-12-01T12:00:00Z');
const report = (namespaces: unknown, at: Date | string = now) =>
  JSON.stringify({ namespaces, at: typeof at === 'string' ? at : at.toISOString() });

describe('grantedNamespaces', () => {
  it('binds the union of the fresh reports, sorted, without the excluded namespaces', () => {
    const data = {
      'pod-a.1': report(['shop', 'ctp-system', 'web']),
      'pod-b.1': report(['billing', 'shop']),
    };
    expect(grantedNamespaces(data, now, ['ctp-system'])).toEqual(['billing', 'shop', 'web']);
  });

  it('forgets a replica whose report expired, or that reports nonsense', () => {
    const data = {
      old: report(['gone'], new Date(now.getTime() - reportValidMs - 1)),
      garbled: '{not json',
      wrong: JSON.stringify({ namespaces: 'shop', at: now.toISOString() }),
      future: report(['x'], 'not a date'),
      fresh: report(['shop', 'Not_A_Name', 42, '']),
    };
    expect(grantedNamespaces(data, now, [])).toEqual(['shop']);
  });

  it('never binds more than the cap', () => {
    const many = Array.from({ length: maxGrantedNamespaces + 50 }, (_, i) => `ns-${i}`);
    expect(grantedNamespaces({ a: report(many) }, now, [])).toHaveLength(maxGrantedNamespaces);
  });

  it('property: every namespace granted is a DNS label some fresh report named, and never an excluded one', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 10 }),
          fc.oneof(
            fc.string(),
            fc
              .tuple(
                fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('shop', 'web'))),
                fc.integer({ min: -2 * reportValidMs, max: reportValidMs }),
              )
              .map(([namespaces, age]) => report(namespaces, new Date(now.getTime() - age))),
          ),
        ),
        fc.array(fc.constantFrom('shop', 'web', 'ctp-system')),
        (data, exclude) => {
          const granted = grantedNamespaces(data, now, exclude);
          const named = new Set<string>();
          for (const value of Object.values(data)) {
            try {
              const parsed = JSON.parse(value) as { namespaces?: unknown; at?: string };
              if (
                Array.isArray(parsed.namespaces) &&
                now.getTime() - Date.parse(parsed.at ?? '') <= reportValidMs
              )
                for (const ns of parsed.namespaces) named.add(String(ns));
            } catch {
              // not a report
            }
          }
          for (const ns of granted) {
            expect(ns).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
            expect(ns.length).toBeLessThanOrEqual(63);
            expect(named.has(ns)).toBe(true);
            expect(exclude).not.toContain(ns);
          }
        },
      ),
    );
  });
});

describe('secretsRoleBinding', () => {
  it('binds the proxy-secrets ClusterRole to the proxy and the operator, labelled as the connection', () => {
    const names = ownedNames('prod');
    const binding = secretsRoleBinding({
      connection: 'prod',
      namespace: 'shop',
      names,
      settings: {
        namespace: 'ctp-system',
        image: 'i',
        operatorSubject: { kind: 'ServiceAccount', name: 'ctp-connector-operator', namespace: 'ctp-system' },
      },
    });
    expect(binding.metadata).toMatchObject({
      name: names.secretsRoleBinding,
      namespace: 'shop',
      labels: { 'connect.ctp.dev/connection': 'prod', 'connect.ctp.dev/grant': 'connection-secrets' },
    });
    expect(binding.metadata.ownerReferences).toBeUndefined(); // the finalizer, not the collector, removes it
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'ctp-connector-proxy-secrets',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: names.proxy, namespace: 'ctp-system' },
      { kind: 'ServiceAccount', name: 'ctp-connector-operator', namespace: 'ctp-system' },
    ]);
  });
});

describe('rejectedTokens', () => {
  it('names the tokens fresh reports say were rejected, and forgets expired reports', () => {
    const at = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const data = {
      a: JSON.stringify({ namespaces: [], at: at(0), rejectedToken: 't1' }),
      b: JSON.stringify({ namespaces: [], at: at(reportValidMs + 1), rejectedToken: 't0' }),
      c: JSON.stringify({ namespaces: [], at: at(0), rejectedToken: 42 }),
      d: JSON.stringify({ namespaces: [], at: at(0) }),
    };
    expect([...rejectedTokens(data, now)]).toEqual(['t1']);
  });
});
