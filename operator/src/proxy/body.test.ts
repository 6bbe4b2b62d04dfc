import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeBody, maxBodyBytes } from './body.ts';
import { StatusError } from './respond.ts';

/** The "billion laughs": each level doubles nine times; 466 bytes stand for ~10^9 strings. */
function aliasBomb(levels = 9): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}

describe('request bodies', () => {
  it('decodes JSON and YAML (JSON is YAML too)', () => {
    expect(decodeBody('{"a":1}', 'application/json')).toEqual({ a: 1 });
    expect(decodeBody('{"a":1}', 'application/apply-patch+yaml')).toEqual({ a: 1 });
    expect(decodeBody('a: 1\nb: [x]\n', 'application/apply-patch+yaml')).toEqual({ a: 1, b: ['x'] });
    expect(decodeBody('  ', 'application/json')).toBeUndefined();
  });

  it('refuses YAML aliases before expanding them', () => {
    const started = performance.now();
    expect(() => decodeBody(aliasBomb(), 'application/apply-patch+yaml')).toThrow(
      /YAML aliases are not supported/,
    );
    expect(() => decodeBody('a: &x 1\nb: *x\n', 'application/yaml')).toThrow(
      expect.objectContaining({ code: 400, reason: 'BadRequest' }),
    );
    // Not a timing test of the proxy: a sanity bound that nothing was expanded (expanding takes minutes).
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses malformed bodies with 400, naming the media type', () => {
    expect(() => decodeBody('{"a":', 'application/json')).toThrow(/not valid application\/json/);
    expect(() => decodeBody('a: [', 'application/apply-patch+yaml')).toThrow(
      expect.objectContaining({ code: 400 }),
    );
    expect(() => decodeBody('---\na: 1\n---\nb: 2\n', 'application/yaml')).toThrow(
      expect.objectContaining({ code: 400 }),
    );
  });

  it('refuses nesting deeper than kube-apiserver decodes', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(() => decodeBody(deep, 'application/json')).toThrow(/nested deeper/);
    const fine = `${'['.repeat(500)}${']'.repeat(500)}`;
    expect(decodeBody(fine, 'application/json')).toBeDefined();
  });

  it('caps YAML by what it decodes to', () => {
    const big = `a: "${'x'.repeat(maxBodyBytes)}"\n`;
    expect(() => decodeBody(big, 'application/yaml', maxBodyBytes)).toThrow(
      expect.objectContaining({ code: 413, reason: 'RequestEntityTooLarge' }),
    );
  });

  it('round-trips any JSON value, and refuses any other input with a Status', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const raw = JSON.stringify(value);
        expect(decodeBody(raw, 'application/json')).toEqual(JSON.parse(raw));
        expect(decodeBody(raw, 'application/apply-patch+yaml')).toEqual(JSON.parse(raw));
      }),
    );
    fc.assert(
      fc.property(
        fc.string(),
        fc.constantFrom('application/json', 'application/yaml', 'application/apply-patch+yaml' as const),
        (raw, type) => {
          try {
            decodeBody(raw, type);
          } catch (err) {
            expect(err).toBeInstanceOf(StatusError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
