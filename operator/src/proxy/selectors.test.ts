import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { matchesLabels, narrowSelectors, parseLabelSelector } from './selectors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'gold', 'example.org/team': 'a' };
  const matches = (selector: string) => matchesLabels(parseLabelSelector(selector), labels);

  it('evaluates equality, inequality, set and existence terms like kube-apiserver', () => {
    expect(matches('')).toBe(true);
    expect(matches('app=web')).toBe(true);
    expect(matches('app==web,tier=gold')).toBe(true);
    expect(matches('app=api')).toBe(false);
    expect(matches('app!=api')).toBe(true);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('tier in (silver, gold)')).toBe(true);
    expect(matches('tier notin (silver,gold)')).toBe(false);
    expect(matches('missing notin (x)')).toBe(true);
    expect(matches('example.org/team')).toBe(true);
    expect(matches('!example.org/team')).toBe(false);
    expect(matches('!missing,app in (web),tier')).toBe(true);
  });

  it('rejects malformed selectors with the term that failed', () => {
    expect(() => parseLabelSelector('app in web')).toThrow('unable to parse requirement: "app in web"');
  });
});

describe('selectors sent to the control plane', () => {
  const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
  const q = (query: Record<string, string>) => new URLSearchParams(query);

  it('always select this cluster and the namespace of the path, the user terms ANDed after', () => {
    expect(narrowSelectors(q({ labelSelector: 'tier=gold' }), scope, 'shop')).toEqual({
      labelSelector: 'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=shop,tier=gold',
    });
    expect(narrowSelectors(q({}), scope, undefined)).toEqual({
      labelSelector: 'connect.ctp.dev/cluster-id=c1',
    });
  });

  it('turn namespace and name field selectors into what the stored claims carry', () => {
    expect(narrowSelectors(q({ fieldSelector: 'metadata.namespace=shop' }), scope, undefined)).toEqual({
      labelSelector: 'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=shop',
    });
    // By the app-name label, which claims of either naming scheme carry; a name too long for it is filtered here.
    expect(narrowSelectors(q({ fieldSelector: 'metadata.name=db' }), scope, 'shop')).toEqual({
      labelSelector:
        'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=shop,connect.ctp.dev/app-name=db',
    });
    const long = 'l'.repeat(80);
    expect(narrowSelectors(q({ fieldSelector: `metadata.name=${long}` }), scope, 'shop')).toEqual({
      labelSelector: 'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-namespace=shop',
      onlyName: long,
    });
    expect(
      narrowSelectors(q({ fieldSelector: 'metadata.name!=db,metadata.namespace!=x' }), scope, undefined),
    ).toEqual({
      labelSelector:
        'connect.ctp.dev/cluster-id=c1,connect.ctp.dev/app-name!=db,connect.ctp.dev/app-namespace!=x',
    });
  });

  it('select nothing when the field selector names another namespace than the path', () => {
    expect(narrowSelectors(q({ fieldSelector: 'metadata.namespace=other' }), scope, 'shop')).toBeUndefined();
  });

  it('never let a user selector widen the origin terms, whatever it is', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.constantFrom('shop', 'a-x-b'), { nil: undefined }),
        (labels, fields, ns) => {
          const narrowed = narrowSelectors(q({ labelSelector: labels, fieldSelector: fields }), scope, ns);
          if (!narrowed) return;
          // Label selectors are a conjunction: the origin terms come first, whole, whatever follows them.
          const terms = narrowed.labelSelector.split(',');
          expect(terms[0]).toBe('connect.ctp.dev/cluster-id=c1');
          if (ns) expect(terms[1]).toBe(`connect.ctp.dev/app-namespace=${ns}`);
        },
      ),
    );
  });
});
