// Leader election on a coordination.k8s.io Lease, following client-go's algorithm: the Lease's resourceVersion is
// the compare-and-swap, and another holder's lease counts as expired only after leaseDuration has passed on *our*
// monotonic clock since we last saw its record change (so clock skew between hosts does not matter).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from '../kube/client.ts';

export interface LeaderElectionConfig {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElector {
  /**
   * Campaigns until elected, then runs `lead` with a signal that aborts when leadership is lost or `stop` is
   * called. Resolves after `lead` settles and the lease was released (on stop) or lost.
   */
  run(lead: (signal: AbortSignal) => Promise<void>): Promise<'stopped' | 'lost'>;
  stop(): void;
  isLeader(): boolean;
}

/** Lease timestamps are MicroTime: six fractional digits, or the apiserver rejects them. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function leaderElector(config: LeaderElectionConfig): LeaderElector {
  const leaseDuration = config.leaseDurationMs ?? 15_000;
  const renewDeadline = config.renewDeadlineMs ?? 10_000;
  const retryPeriod = config.retryPeriodMs ?? 2_000;
  if (!(leaseDuration > renewDeadline && renewDeadline > 1.2 * retryPeriod)) {
    throw new Error('leader election: need leaseDuration > renewDeadline > 1.2 × retryPeriod');
  }
  const { client, namespace, name, identity, log } = config;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const stopController = new AbortController();
  let observed: { record: string; at: number; lease: Lease } | undefined;
  let leader = false;

  const now = () => performance.now();

  /** One attempt, as client-go's tryAcquireOrRenew. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const stamp = microTime(new Date());
    const desired = (current: Lease['spec'] | undefined, takingOver: boolean): Lease['spec'] => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDuration / 1000),
      acquireTime: takingOver ? stamp : (current?.acquireTime ?? stamp),
      renewTime: stamp,
      leaseTransitions: (current?.leaseTransitions ?? 0) + (takingOver && current ? 1 : 0),
    });
    // Fast path: we lead and our observation is fresh — renew with the cached object as CAS.
    if (leader && observed && observed.at + leaseDuration > now()) {
      try {
        const lease = { ...observed.lease, spec: desired(observed.lease.spec, false) };
        const updated = await client.request<Lease>('PUT', `${path}/${name}`, {
          body: lease,
          timeoutMs: renewDeadline,
        });
        observed = { record: JSON.stringify(updated.spec), at: now(), lease: updated };
        return true;
      } catch (err) {
        log.debug({ err: String(err) }, 'lease renewal fast path failed');
      }
    }
    let current: Lease;
    try {
      current = await client.request<Lease>('GET', `${path}/${name}`, { timeoutMs: renewDeadline });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const created = await client.request<Lease>('POST', path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: desired(undefined, true),
        },
        timeoutMs: renewDeadline,
      });
      observed = { record: JSON.stringify(created.spec), at: now(), lease: created };
      return true;
    }
    const record = JSON.stringify(current.spec);
    if (!observed || observed.record !== record) observed = { record, at: now(), lease: current };
    else observed.lease = current;
    const holder = current.spec.holderIdentity;
    const recordDuration = (current.spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== identity && observed.at + recordDuration > now()) return false;
    const takingOver = holder !== identity;
    const updated = await client.request<Lease>('PUT', `${path}/${name}`, {
      body: { ...current, spec: desired(current.spec, takingOver) },
      timeoutMs: renewDeadline,
    });
    observed = { record: JSON.stringify(updated.spec), at: now(), lease: updated };
    return true;
  };

  const attempt = async (): Promise<boolean> => {
    try {
      return await tryAcquireOrRenew();
    } catch (err) {
      if (!isConflict(err)) log.warn({ err: String(err) }, 'leader election attempt failed');
      return false;
    }
  };

  const jittered = () => retryPeriod * (1 + Math.random() * 1.2);

  const release = async () => {
    if (!observed || !leader) return;
    const stamp = microTime(new Date());
    try {
      await client.request('PUT', `${path}/${name}`, {
        body: {
          ...observed.lease,
          spec: {
            ...observed.lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: stamp,
            renewTime: stamp,
          },
        },
        timeoutMs: renewDeadline,
      });
      log.info({ lease: `${namespace}/${name}` }, 'released leadership');
    } catch (err) {
      log.warn({ err: String(err) }, 'could not release the lease; it expires by itself');
    }
  };

  return {
    async run(lead) {
      const stopped = stopController.signal;
      while (!stopped.aborted && !(await attempt())) {
        await sleep(jittered(), undefined, { signal: stopped }).catch(() => undefined);
      }
      if (stopped.aborted) return 'stopped';
      leader = true;
      log.info({ identity, lease: `${namespace}/${name}` }, 'became leader');
      const leading = new AbortController();
      const abortLeading = () => leading.abort();
      stopped.addEventListener('abort', abortLeading, { once: true });
      let lost = false;
      const renewLoop = (async () => {
        while (!leading.signal.aborted) {
          await sleep(retryPeriod, undefined, { signal: leading.signal }).catch(() => undefined);
          if (leading.signal.aborted) break;
          const deadline = now() + renewDeadline;
          let renewed = false;
          while (!renewed && now() < deadline && !leading.signal.aborted) {
            renewed = await attempt();
            if (!renewed) await sleep(Math.min(retryPeriod, Math.max(0, deadline - now())));
          }
          if (!renewed && !leading.signal.aborted) {
            lost = true;
            log.error({ identity }, 'lost leadership: could not renew the lease in time');
            leading.abort();
          }
        }
      })();
      try {
        await lead(leading.signal);
      } finally {
        leading.abort();
        await renewLoop;
        stopped.removeEventListener('abort', abortLeading);
        if (!lost) await release();
        leader = false;
      }
      return lost ? 'lost' : 'stopped';
    },
    stop() {
      stopController.abort();
    },
    isLeader: () => leader,
  };
}
