import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { conditionReasons, conditionTypes, setCondition, getCondition } from './conditions.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('setCondition', () => {
  it('keeps lastTransitionTime while the status is unchanged and moves it on a flip', () => {
    let conditions = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'CredentialsNotFound' },
      1,
      t0,
    );
    expect(conditions[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'CredentialsNotFound',
      message: '',
      observedGeneration: 1,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    conditions = setCondition(
      conditions,
      { type: 'Ready', status: 'False', reason: 'ControlPlaneUnreachable', message: 'x' },
      2,
      t1,
    );
    expect(getCondition(conditions, 'Ready')).toMatchObject({
      reason: 'ControlPlaneUnreachable',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Connected' }, 2, t1);
    expect(getCondition(conditions, 'Ready')?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });

  it('orders the summary conditions first and keeps one entry per type', () => {
    let conditions = setCondition([], { type: 'CredentialsValid', status: 'True', reason: 'Valid' }, 1, t0);
    conditions = setCondition(conditions, { type: 'Stalled', status: 'False', reason: 'NoError' }, 1, t0);
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Connected' }, 1, t0);
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Connected' }, 1, t0);
    expect(conditions.map((c) => c.type)).toEqual(['Ready', 'Stalled', 'CredentialsValid']);
  });
});

describe('condition reasons and docs/troubleshooting.md', () => {
  const doc = readFileSync(join(root, 'docs/troubleshooting.md'), 'utf8');
  /** The reasons the doc explains: one `### \`Reason\`` section each. */
  const explained = [...doc.matchAll(/^### `([A-Za-z]+)`$/gm)].map((m) => m[1]);

  it('explains every reason the operator sets, each once, and no reason the operator does not set', () => {
    expect([...explained].sort()).toEqual([...conditionReasons].sort());
  });

  it('names every condition type the operator sets', () => {
    for (const type of Object.keys(conditionTypes)) expect(doc).toContain(`| \`${type}\` |`);
  });

  it('lists only reasons that the operator really uses', () => {
    const dir = join(root, 'operator/src');
    const source = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('conditions.ts'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const unused = conditionReasons.filter((reason) => !source.includes(`'${reason}'`));
    expect(unused).toEqual([]);
  });
});
