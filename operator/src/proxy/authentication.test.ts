import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { authenticate, parseRequestHeaderConfig } from './authentication.ts';

const config = parseRequestHeaderConfig({
  'requestheader-client-ca-file': 'PEM',
  'requestheader-allowed-names': '["front-proxy-client"]',
  'requestheader-username-headers': '["X-Remote-User"]',
  'requestheader-group-headers': '["X-Remote-Group"]',
  'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  'requestheader-uid-headers': '["X-Remote-Uid"]',
});
const aggregator = { authorized: true, commonName: 'front-proxy-client' };

describe('front-proxy authentication', () => {
  it('reads user, uid, groups and escaped extra keys from a trusted aggregator', () => {
    const result = authenticate(
      aggregator,
      {
        'x-remote-user': 'alice',
        'x-remote-uid': '42',
        'x-remote-group': ['dev', 'ops'],
        'x-remote-extra-acme.com%2fproject': ['a', 'b'],
      },
      config,
    );
    expect(result).toEqual({
      ok: true,
      user: {
        name: 'alice',
        uid: '42',
        groups: ['dev', 'ops', 'system:authenticated'],
        extra: { 'acme.com/project': ['a', 'b'] },
      },
    });
  });

  it.each([
    [{ authorized: false, commonName: undefined }, 'no client certificate'],
    [{ authorized: false, commonName: 'front-proxy-client' }, 'not signed by the requestheader CA'],
    [
      { authorized: true, commonName: 'someone-else' },
      'CN someone-else is not an allowed requestheader name',
    ],
  ])('rejects %j even with X-Remote-User set', (peer, reason) => {
    const result = authenticate(
      peer,
      { 'x-remote-user': 'system:admin', 'x-remote-group': 'system:masters' },
      config,
    );
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('keeps repeated group headers apart (one header per group, as the aggregator sends them)', () => {
    const result = authenticate(
      aggregator,
      { 'x-remote-user': ['bob'], 'x-remote-group': ['a', 'b'] },
      config,
    );
    expect(result).toMatchObject({
      ok: true,
      user: { name: 'bob', groups: ['a', 'b', 'system:authenticated'] },
    });
  });

  it('rejects a trusted certificate without a user, and everything when aggregation is not configured', () => {
    expect(authenticate(aggregator, {}, config)).toMatchObject({ ok: false });
    expect(authenticate(aggregator, { 'x-remote-user': 'a' }, undefined)).toMatchObject({ ok: false });
  });
});

describe('front-proxy authentication of hostile headers', () => {
  it('keeps an extra key with a malformed escape as it came, as k8s.io/apiserver does', () => {
    const result = authenticate(
      aggregator,
      { 'x-remote-user': 'alice', 'x-remote-extra-%zz': 'x', 'x-remote-extra-a%2': ['y'] },
      config,
    );
    expect(result).toMatchObject({ ok: true, user: { extra: { '%zz': ['x'], 'a%2': ['y'] } } });
  });

  it('takes an extra named "__proto__" as a key like any other (found by the property below)', () => {
    const result = authenticate(
      aggregator,
      { 'x-remote-user': 'alice', 'x-remote-extra-__proto__': ['x'] },
      config,
    );
    expect(result.ok && JSON.stringify(result.user.extra)).toBe('{"__proto__":["x"]}');
  });

  it('does not make the anonymous user authenticated', () => {
    for (const headers of [
      { 'x-remote-user': 'system:anonymous', 'x-remote-group': 'system:unauthenticated' },
      { 'x-remote-user': 'someone', 'x-remote-group': 'system:unauthenticated' },
    ]) {
      const result = authenticate(aggregator, headers, config);
      expect(result.ok && result.user.groups).not.toContain('system:authenticated');
    }
    const bob = authenticate(
      aggregator,
      { 'x-remote-user': 'bob', 'x-remote-group': 'system:authenticated' },
      config,
    );
    expect(bob.ok && bob.user.groups).toEqual(['system:authenticated']);
  });

  it('never throws, whatever the headers', () => {
    const header = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }));
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            fc.constantFrom('x-remote-user', 'x-remote-group', 'x-remote-uid'),
            fc.string().map((s) => `x-remote-extra-${s}`),
          ),
          header,
        ),
        (headers) => {
          const result = authenticate(aggregator, headers, config);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
