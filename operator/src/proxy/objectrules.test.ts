import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { checkMergePatch, checkObject, generateName, nameProblem } from './objectrules.ts';
import { StatusError } from './respond.ts';

const scope = {
  apiVersion: 'platform.example.org/v1alpha1',
  kind: 'KubernetesCluster',
  namespace: 'shop',
  name: undefined,
};
const named = { ...scope, name: 'db' };

describe('claim body rules', () => {
  it('accepts a well-formed claim', () => {
    const claim = {
      apiVersion: scope.apiVersion,
      kind: scope.kind,
      metadata: { name: 'db', namespace: 'shop', labels: { a: 'b' } },
      spec: { writeConnectionSecretToRef: { name: 'db-conn' } },
    };
    expect(checkObject(claim, scope)).toBe(claim);
  });

  it.each([
    [5, 400],
    [null, 400],
    [[], 400],
    [{ metadata: { name: 5 } }, 400],
    [{ metadata: 'x' }, 400],
    [{ metadata: { labels: 'tier=gold' } }, 400],
    [{ metadata: { labels: ['a'] } }, 400],
    [{ metadata: { annotations: { a: 1 } } }, 400],
    [{ metadata: { namespace: 'other' } }, 400],
    [{ apiVersion: 'v1' }, 400],
    [{ kind: 'Secret' }, 400],
    [{ spec: { writeConnectionSecretToRef: 'x' } }, 400],
    [{ spec: { writeConnectionSecretToRef: { name: 7 } } }, 400],
    [{ spec: { writeConnectionSecretToRef: { name: 'Bad_Name' } } }, 422],
    [{ metadata: { name: 'a'.repeat(254) } }, 422],
    [{ metadata: { name: 'Foo_Bar' } }, 422],
    [{ metadata: { name: '-a' } }, 422],
  ])('refuses %j with %i', (body, code) => {
    expect(() => checkObject(body, scope)).toThrow(expect.objectContaining({ code }));
  });

  it('names the field and the object that are invalid', () => {
    expect(() =>
      checkObject(
        { metadata: { name: 'Upper' }, spec: { writeConnectionSecretToRef: { name: 'Upper-conn' } } },
        scope,
      ),
    ).toThrow('KubernetesCluster "Upper" is invalid: metadata.name: Invalid value: "Upper"');
    expect(() =>
      checkObject(
        { metadata: { name: 'db' }, spec: { writeConnectionSecretToRef: { name: 'Bad_Conn' } } },
        scope,
      ),
    ).toThrow('KubernetesCluster "db" is invalid: spec.writeConnectionSecretToRef.name');
  });

  it('refuses a body naming another object than the URL', () => {
    expect(() => checkObject({ metadata: { name: 'other' } }, named)).toThrow(
      /does not match the name on the URL/,
    );
  });

  it('lets merge patches delete members with null, but not send other shapes', () => {
    expect(() =>
      checkMergePatch(
        { metadata: { labels: { a: null } }, spec: { writeConnectionSecretToRef: null } },
        named,
      ),
    ).not.toThrow();
    expect(() => checkMergePatch({ metadata: null }, named)).not.toThrow();
    for (const body of [
      [],
      'x',
      { metadata: { labels: 'a' } },
      { metadata: { labels: { a: 1 } } },
      { metadata: { name: 'other' } },
    ])
      expect(() => checkMergePatch(body, named)).toThrow(StatusError);
  });

  it('knows a DNS-1123 subdomain', () => {
    expect(nameProblem('a.b-c')).toBeUndefined();
    expect(nameProblem('a'.repeat(253))).toBeUndefined();
    expect(nameProblem('a'.repeat(254))).toMatch(/no more than 253/);
    expect(nameProblem('a..b')).toMatch(/RFC 1123/);
  });

  it('generates valid names from valid prefixes', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,80}$/), (prefix) => {
        const name = generateName(prefix);
        expect(name.startsWith(prefix.slice(0, 58))).toBe(true);
        expect(name).toHaveLength(Math.min(prefix.length, 58) + 5);
      }),
    );
  });

  it('accepts or refuses with a Status, for any JSON body', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        for (const check of [() => checkObject(body, scope), () => checkMergePatch(body, named)]) {
          try {
            check();
          } catch (err) {
            expect(err).toBeInstanceOf(StatusError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
