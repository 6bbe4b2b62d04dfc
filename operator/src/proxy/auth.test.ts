import { describe, expect, it } from '@jest/globals';
import { authenticate, parseRequestHeaderConfig } from './auth.ts';

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
