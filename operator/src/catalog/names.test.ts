import { describe, expect, it } from '@jest/globals';
import { ownedNames, shortName } from './names.ts';

describe('owned names', () => {
  it('keeps short names readable', () => {
    expect(ownedNames('prod')).toMatchObject({ token: 'ctpc-prod-token', proxy: 'ctpc-prod-proxy' });
  });

  it('shortens long or dotted names into unique DNS labels of at most 63 characters', () => {
    const a = ownedNames(`${'a'.repeat(60)}.example.com`);
    const b = ownedNames(`${'a'.repeat(60)}.example.org`);
    for (const name of [a.token, a.serving, a.catalog, a.proxy]) {
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(a.proxy).not.toBe(b.proxy);
    expect(shortName('x.y', 40)).toMatch(/^x-y-[0-9a-f]{6}$/);
  });
});
