import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { lineSplitter } from './lines.ts';

/** Cuts `bytes` at the given points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(last, p));
    last = p;
  }
  return chunks;
}

describe('watch lines', () => {
  it('splits lines at the byte level, so characters split across chunks survive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replaceAll('\n', ' '))),
        fc.array(fc.nat()),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const splitter = lineSplitter();
          const got = chunked(bytes, cuts).flatMap((c) => splitter.push(c));
          expect(got).toEqual(lines);
          expect(splitter.rest()).toBe('');
        },
      ),
    );
  });

  it('refuses a line that grows without bound', () => {
    const splitter = lineSplitter(10);
    splitter.push(Buffer.from('12345'));
    expect(() => splitter.push(Buffer.from('678901'))).toThrow(/larger than 10 bytes/);
  });
});
