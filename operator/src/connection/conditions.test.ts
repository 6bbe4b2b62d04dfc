import { describe, expect, it } from '@jest/globals';
import { setCondition, getCondition } from './conditions.ts';

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
