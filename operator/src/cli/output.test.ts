import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { duration, progress, relativeTime, table, yaml } from './output.ts';

describe('output', () => {
  it('aligns table columns three spaces apart without trailing spaces', () => {
    expect(
      table(
        ['NAME', 'READY', 'MESSAGE'],
        [
          ['a', 'True', ''],
          ['longer-name', 'False', 'x'],
        ],
      ),
    ).toBe('NAME          READY   MESSAGE\na             True\nlonger-name   False   x\n');
  });

  it('says how far away an instant is in its largest whole unit', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(relativeTime(new Date('2026-01-01T12:59:30Z'), now)).toBe('in 59m');
    expect(relativeTime(new Date('2026-01-01T09:00:00Z'), now)).toBe('3h ago');
    expect(relativeTime(new Date('2026-01-03T12:00:01Z'), now)).toBe('in 2d');
    expect(duration(999)).toBe('0s');
  });

  it('writes YAML documents that read back, block literals kept', () => {
    const text = yaml({ a: 'line 1\nline 2\n' }, { b: 1 });
    expect(text).toBe('a: |\n  line 1\n  line 2\n---\nb: 1\n');
    expect(text.split('---\n').map((d) => load(d))).toEqual([{ a: 'line 1\nline 2\n' }, { b: 1 }]);
  });

  it('prefixes progress lines with the time since the start, on stderr only', () => {
    let t = 0;
    const out: string[] = [];
    const err: string[] = [];
    const say = progress(
      { stdout: (s) => out.push(s), stderr: (s) => err.push(s), now: () => new Date(t) },
      new Date(0),
    );
    say('first');
    t = 75_000;
    say('second');
    expect(err).toEqual(['[  0s] first\n', '[ 75s] second\n']);
    expect(out).toEqual([]);
  });
});
