import { describe, expect, it } from '@jest/globals';
import { matchesLabels, parseLabelSelector } from './selectors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'gold', 'example.org/team': 'a' };
  const matches = (selector: string) => matchesLabels(parseLabelSelector(selector), labels);

  it('evaluates equality, inequality, set and existence terms like kube-apiserver', () => {
    expect(matches('')).toBe(true);
    expect(matches('app=web')).toBe(true);
    expect(matches('app==web,tier=gold')).toBe(true);
    expect(matches('app=api')).toBe(false);
    expect(matches('app!=api')).toBe(true);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('tier in (silver, gold)')).toBe(true);
    expect(matches('tier notin (silver,gold)')).toBe(false);
    expect(matches('missing notin (x)')).toBe(true);
    expect(matches('example.org/team')).toBe(true);
    expect(matches('!example.org/team')).toBe(false);
    expect(matches('!missing,app in (web),tier')).toBe(true);
  });

  it('rejects malformed selectors with the term that failed', () => {
    expect(() => parseLabelSelector('app in web')).toThrow('unable to parse requirement: "app in web"');
  });
});
