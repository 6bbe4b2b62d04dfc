import { describe, expect, it } from '@jest/globals';
import { appSecret, copiedFromLabel, planCopies } from './connectionsecrets.ts';

describe('appSecret', () => {
  it('copies type and data under the original name, without the source metadata', () => {
    const source = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'mapped-0123',
        namespace: 'team-1',
        annotations: { 'argocd.argoproj.io/tracking-id': 'x' },
        labels: { 'app.kubernetes.io/instance': 'y' },
      },
      type: 'connection.crossplane.io/v1alpha1',
      data: { kubeconfig: 'YWJj' },
    };
    const copy = appSecret(
      { namespace: 'default', name: 'db', kind: 'KubernetesCluster', connection: 'main' },
      'db-conn',
      source,
    );
    expect(copy).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db-conn',
        namespace: 'default',
        labels: {
          'app.kubernetes.io/managed-by': 'ctp-connector',
          [copiedFromLabel]: 'KubernetesCluster.db',
          'connect.ctp.dev/delivered-by': 'main',
        },
      },
      type: 'connection.crossplane.io/v1alpha1',
      data: { kubeconfig: 'YWJj' },
    });
  });

  it('keeps the label value within 63 characters and ending in an alphanumeric', () => {
    const copy = appSecret(
      { namespace: 'default', name: `${'a'.repeat(60)}-x`, kind: 'KubernetesCluster', connection: 'main' },
      's',
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'm' } },
    );
    const value = copy.metadata.labels?.[copiedFromLabel] ?? '';
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(/[A-Za-z0-9]$/);
  });
});

describe('planCopies', () => {
  const copy = (name: string, value: string) =>
    appSecret({ namespace: 'default', name, kind: 'KubernetesCluster', connection: 'main' }, `${name}-conn`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'm' },
      data: { value },
    });

  it('writes every wanted copy the first time, and nothing when nothing changed', () => {
    const wanted = new Map([
      ['default/a-conn', copy('a', 'MQ==')],
      ['default/b-conn', copy('b', 'Mg==')],
    ]);
    const first = planCopies(wanted, new Map());
    expect(first.writes.map((w) => w.key)).toEqual(['default/a-conn', 'default/b-conn']);
    expect(first.strays).toBe(false);
    const applied = new Map(first.writes.map((w) => [w.key, w.fingerprint]));
    expect(planCopies(wanted, applied)).toEqual({ writes: [], strays: false });
  });

  it('writes only the copy whose data changed', () => {
    const before = new Map([
      ['default/a-conn', copy('a', 'MQ==')],
      ['default/b-conn', copy('b', 'Mg==')],
    ]);
    const applied = new Map(planCopies(before, new Map()).writes.map((w) => [w.key, w.fingerprint]));
    const after = new Map([...before, ['default/b-conn', copy('b', 'Mw==')]]);
    const plan = planCopies(after, applied);
    expect(plan.writes.map((w) => [w.key, w.copy.data])).toEqual([['default/b-conn', { value: 'Mw==' }]]);
    expect(plan.strays).toBe(false);
  });

  it('reports strays when a copy applied before is no longer wanted', () => {
    const before = new Map([['default/a-conn', copy('a', 'MQ==')]]);
    const applied = new Map(planCopies(before, new Map()).writes.map((w) => [w.key, w.fingerprint]));
    expect(planCopies(new Map(), applied)).toEqual({ writes: [], strays: true });
  });
});
