// Leader election on a real Lease: one leader at a time, a fast hand-over on release, and a crashed holder's
// lease respected until it expires on the candidate's own clock.
import { afterAll, describe, expect, it } from '@jest/globals';
import { leaderElector } from '../operator/src/controller/leader.ts';
import { kubeClient, pooledKubeConfig } from '../operator/src/kube/client.ts';
import { createLogger } from '../operator/src/log.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const client = kubeClient(pooledKubeConfig((kc) => kc.loadFromFile(app.kubeconfigPath)));
const log = createLogger({ level: 'silent' });
const namespace = 'kube-system';
const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

describe('leader election', () => {
  afterAll(() => client.close());

  it('elects one leader and hands over promptly when it steps down', async () => {
    const name = 'election-handover';
    const a = leaderElector({ client, namespace, name, identity: 'a', log, ...timing });
    const b = leaderElector({ client, namespace, name, identity: 'b', log, ...timing });
    const leading: string[] = [];
    const lead = (id: string) => (signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        leading.push(id);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    const runA = a.run(lead('a'));
    await waitFor(() => (a.isLeader() ? true : undefined), { timeoutMs: 10_000, what: 'a to lead' });
    const runB = b.run(lead('b'));
    await new Promise((r) => setTimeout(r, 4_000)); // longer than the lease: a keeps renewing
    expect(leading).toEqual(['a']);
    expect(b.isLeader()).toBe(false);

    const handoverStart = Date.now();
    a.stop();
    expect(await runA).toBe('stopped');
    await waitFor(() => (b.isLeader() ? true : undefined), { timeoutMs: 10_000, what: 'b to take over' });
    // Released leases are free at once; b needs at most a retry period or two, not a lease duration.
    expect(Date.now() - handoverStart).toBeLessThan(timing.leaseDurationMs);
    expect(leading).toEqual(['a', 'b']);
    const lease = JSON.parse(await kubectlOk(app, ['get', 'lease', '-n', namespace, name, '-o', 'json'])) as {
      spec: { holderIdentity: string; leaseTransitions: number; renewTime: string };
    };
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    b.stop();
    expect(await runB).toBe('stopped');
  });

  it('waits for a crashed holder’s lease to expire before taking over', async () => {
    const name = 'election-crashed';
    const stamp = new Date().toISOString().replace('Z', '000Z');
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: 'crashed', leaseDurationSeconds: 3, acquireTime: stamp, renewTime: stamp },
      }),
    );
    const c = leaderElector({ client, namespace, name, identity: 'c', log, ...timing });
    const started = Date.now();
    const run = c.run(
      (signal) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    );
    await waitFor(() => (c.isLeader() ? true : undefined), { timeoutMs: 15_000, what: 'c to take over' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    c.stop();
    await run;
  });
});
