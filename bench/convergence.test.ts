import { describe, expect, it } from '@jest/globals';
import { claimAPI, isReady, reconcileCounts } from './convergence.ts';

describe('convergence measurements', () => {
  it("counts each connection's reconciles in the operator's JSON log, unknown keys and other lines aside", () => {
    const line = (key: string, msg = 'reconciled') => JSON.stringify({ level: 'debug', key, ms: 3, msg });
    const log = [
      line('a'),
      line('a', 'reconciling'),
      line('b'),
      line('a'),
      line('other'),
      '(node:1) TimeoutOverflowWarning: "reconciled" is not JSON',
      '',
    ].join('\n');
    expect(reconcileCounts(log, ['a', 'b', 'c'])).toEqual({ a: 2, b: 1, c: 0 });
  });

  it('is Ready only with a Ready=True condition', () => {
    const c = (status: string) => ({
      metadata: { name: 'x' },
      status: { conditions: [{ type: 'Ready', status }] },
    });
    expect(isReady(c('True'))).toBe(true);
    expect(isReady(c('False'))).toBe(false);
    expect(isReady({ metadata: { name: 'x' } })).toBe(false);
  });

  it('makes an XRD and its claim CRD for a new group, labelled as Crossplane labels generated CRDs', () => {
    const [xrd, crd] = claimAPI('new0.bench.example.org', { crossplane: false }) as [
      { metadata: { name: string }; spec: { group: string; claimNames: { plural: string } } },
      { metadata: { name: string; labels: Record<string, string> }; spec: { group: string } },
    ];
    expect(xrd.metadata.name).toBe('xkubernetesclusters.new0.bench.example.org');
    expect(xrd.spec.group).toBe('new0.bench.example.org');
    expect(crd.metadata.name).toBe(`${xrd.spec.claimNames.plural}.new0.bench.example.org`);
    expect(crd.metadata.labels).toEqual({ 'crossplane.io/xrd': xrd.metadata.name });
    expect(crd.spec.group).toBe('new0.bench.example.org');
  });

  it('leaves the claim CRD to Crossplane where it runs', () => {
    const objects = claimAPI('new0.bench.example.org', { crossplane: true }) as { kind: string }[];
    expect(objects.map((o) => o.kind)).toEqual(['CompositeResourceDefinition']);
  });
});
