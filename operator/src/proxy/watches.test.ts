import { describe, expect, it } from '@jest/globals';
import { watchRegistry } from './watches.ts';

describe('watch limits', () => {
  it('refuses watches over the per-user and total limits with 429, and frees slots on release', () => {
    const registry = watchRegistry({ total: 3, perUser: 2 });
    const a1 = registry.open('alice', () => undefined);
    registry.open('alice', () => undefined);
    expect(() => registry.open('alice', () => undefined)).toThrow(
      expect.objectContaining({
        code: 429,
        reason: 'TooManyRequests',
        message: expect.stringContaining('"alice"') as unknown as string,
      }),
    );
    registry.open('bob', () => undefined);
    expect(() => registry.open('carol', () => undefined)).toThrow(expect.objectContaining({ code: 429 }));
    a1();
    a1(); // idempotent
    expect(registry.count()).toBe(2);
    expect(() => registry.open('alice', () => undefined)).not.toThrow();
  });

  it('ends every open watch at shutdown', () => {
    const registry = watchRegistry();
    const ended: string[] = [];
    for (const user of ['a', 'b', 'c']) registry.open(user, () => ended.push(user));
    registry.endAll();
    expect(ended).toEqual(['a', 'b', 'c']);
  });

  it('ends a watch opened after shutdown began at once', async () => {
    const registry = watchRegistry();
    registry.endAll();
    let ended = false;
    registry.open('late', () => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(true);
  });
});
