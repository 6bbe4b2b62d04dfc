import { describe, expect, it } from '@jest/globals';
import { parseStat, parseStatus, readProcess } from './footprint.ts';

describe('process footprint from /proc', () => {
  it('reads utime and stime after a command name with spaces and parentheses', () => {
    const stat =
      '4242 (node (proxy) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 731 112 0 0 20 0 11 0 123456 1234567 20000 ' +
      '18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0';
    expect(parseStat(stat)).toEqual({ utime: 731, stime: 112 });
  });

  it('reads the resident set and its peak in bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
    expect(parseStatus(status)).toEqual({ rss: 100 * 2 ** 20, peakRss: 200 * 2 ** 20 });
    expect(() => parseStatus('Name:\tzombie\n')).toThrow('no VmRSS');
  });

  it('sees its own process use memory and CPU', () => {
    const before = readProcess(process.pid);
    let x = 0;
    for (const end = Date.now() + 50; Date.now() < end;) x += Math.sqrt(x + 1);
    const after = readProcess(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(after.rss).toBeGreaterThan(10 * 2 ** 20);
    expect(after.peakRss).toBeGreaterThanOrEqual(after.rss);
    expect(after.cpuMs).toBeGreaterThan(before.cpuMs);
  });
});
