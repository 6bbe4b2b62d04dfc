import { describe, expect, it } from '@jest/globals';
import { moduleOf, summarizeProfile, type CpuProfile } from './profile.ts';

const root = '/repo';
const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

// (root) → handle (server.ts) → forward (forward.ts) → parse (js-yaml); plus idle and GC.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6] },
    { id: 2, callFrame: frame('handle', 'file:///repo/operator/src/proxy/server.ts', 9), children: [3] },
    { id: 3, callFrame: frame('forward', 'file:///repo/operator/src/proxy/forward.ts', 19), children: [4] },
    { id: 4, callFrame: frame('load', 'file:///repo/node_modules/js-yaml/dist/js-yaml.mjs', 99) },
    { id: 5, callFrame: frame('(idle)', '') },
    { id: 6, callFrame: frame('(garbage collector)', '') },
  ],
  startTime: 1_000_000,
  endTime: 1_000_000 + 10_000,
  // one sample per millisecond: 3 in forward, 2 in js-yaml, 1 in handle, 3 idle, 1 GC
  samples: [3, 3, 3, 4, 4, 2, 5, 5, 5, 6],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('CPU profile summary', () => {
  it('names modules: project files, packages, Node built-ins and V8', () => {
    expect(moduleOf('file:///repo/operator/src/proxy/forward.ts', 'forward', root)).toBe(
      'operator/src/proxy/forward.ts',
    );
    expect(moduleOf('file:///repo/node_modules/@kubernetes/client-node/dist/a.js', 'f', root)).toBe(
      '@kubernetes/client-node',
    );
    expect(moduleOf('node:internal/tls/wrap', 'getPeerCertificate', root)).toBe('node:internal/tls/wrap');
    expect(moduleOf('', '(garbage collector)', root)).toBe('(garbage collector)');
    expect(moduleOf('', 'writeLatin1String', root)).toBe('(native)');
  });

  it('attributes self time, inclusive time of project functions, and module time; idle is not busy', () => {
    const s = summarizeProfile(profile, { repoRoot: root });
    expect(s.busyMs).toBe(7);
    expect(s.self.map((x) => [x.name, x.ms])).toEqual([
      ['forward (operator/src/proxy/forward.ts:20)', 3],
      ['load (js-yaml:100)', 2],
      ['handle (operator/src/proxy/server.ts:10)', 1],
      ['(garbage collector)', 1],
    ]);
    expect(s.inclusive.map((x) => [x.name, x.ms])).toEqual([
      ['handle (operator/src/proxy/server.ts:10)', 6],
      ['forward (operator/src/proxy/forward.ts:20)', 5],
    ]);
    expect(s.modules[0]).toEqual({ name: 'operator/src/proxy/forward.ts', ms: 3, percent: 42.9 });
  });

  it('counts only the samples inside the window', () => {
    // From 3 ms to 6 ms: the two js-yaml samples and the handle sample.
    const s = summarizeProfile(profile, { repoRoot: root, fromUs: 1_003_000, toUs: 1_006_000 });
    expect(s.windowMs).toBe(3);
    expect(s.busyMs).toBe(3);
    expect(s.self.map((x) => x.name)).toEqual([
      'load (js-yaml:100)',
      'handle (operator/src/proxy/server.ts:10)',
    ]);
  });
});
