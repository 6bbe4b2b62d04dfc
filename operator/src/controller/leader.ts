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

/**
 * What the leader holds while it leads: `signal` aborts when leadership ends (lost or stopped), and `fence` throws
 * once the lease may have passed to another replica — checked synchronously before every request the leader's
 * controller sends, so a process that was paused (SIGSTOP, a long GC, a frozen VM) sends nothing when it resumes,
 * even before its renew loop has noticed.
 */
export interface Leadership {
  signal: AbortSignal;
  fence(): void;
}

export class LeadershipLost extends Error {
  constructor(identity: string) {
    super(`${identity} no longer holds the leader lease`);
    this.name = 'LeadershipLost';
  }
}

export interface LeaderElector {
  /**
   * Campaigns until elected, then runs `lead` with the leadership, which ends when the lease cannot be renewed in
   * time or `stop` is called. Resolves after `lead` settles and the lease was released (on stop) or lost.
   */
  run(lead: (leadership: Leadership) => Promise<void>): Promise<'stopped' | 'lost'>;
  stop(): void;
  isLeader(): boolean;
}

/** Lease timestamps are MicroTime: six fractional digits, or the apiserver rejects them. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Until when (monotonic ms) a leader may act on a lease write it sent at `sentAt`. Another replica takes over only
 * leaseDuration after it saw that write, which it cannot see before it was sent, so stopping renewDeadline after
 * sending leaves leaseDuration − renewDeadline for clocks that run at different rates and for the write's transit.
 */
export function heldUntil(sentAt: number, renewDeadlineMs: number): number {
  return sentAt + renewDeadlineMs;
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
  /** End of the current term (monotonic ms): heldUntil of the last successful acquire or renew. */
  let termEnd = 0;

  const now = () => performance.now();

  /** Writes the lease; on success the term runs from when the write was sent. */
  const write = async (method: 'PUT' | 'POST', url: string, body: unknown, signal: AbortSignal) => {
    const sentAt = now();
    const written = await client.request<Lease>(method, url, { body, signal });
    observed = { record: JSON.stringify(written.spec), at: now(), lease: written };
    termEnd = heldUntil(sentAt, renewDeadline);
  };

  /** One attempt, as client-go's tryAcquireOrRenew; every request is bounded by `signal`. */
  const tryAcquireOrRenew = async (signal: AbortSignal): Promise<boolean> => {
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
        await write(
          'PUT',
          `${path}/${name}`,
          { ...observed.lease, spec: desired(observed.lease.spec, false) },
          signal,
        );
        return true;
      } catch (err) {
        if (signal.aborted) throw err;
        log.debug({ err: String(err) }, 'lease renewal fast path failed');
      }
    }
    let current: Lease;
    try {
      current = await client.request<Lease>('GET', `${path}/${name}`, { signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: desired(undefined, true),
      };
      await write('POST', path, body, signal);
      return true;
    }
    const record = JSON.stringify(current.spec);
    if (!observed || observed.record !== record) observed = { record, at: now(), lease: current };
    else observed.lease = current;
    const holder = current.spec.holderIdentity;
    const recordDuration = (current.spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== identity && observed.at + recordDuration > now()) return false;
    const takingOver = holder !== identity;
    await write('PUT', `${path}/${name}`, { ...current, spec: desired(current.spec, takingOver) }, signal);
    return true;
  };

  const attempt = async (signal: AbortSignal): Promise<boolean> => {
    try {
      return await tryAcquireOrRenew(signal);
    } catch (err) {
      if (!isConflict(err)) log.warn({ err: String(err) }, 'leader election attempt failed');
      return false;
    }
  };

  const jittered = () => retryPeriod * (1 + Math.random() * 1.2);

  const release = async () => {
    // Only within the term: past it, another replica may hold the lease already.
    if (!observed || !leader || now() >= termEnd) return;
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
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(termEnd - now()))),
      });
      log.info({ lease: `${namespace}/${name}` }, 'released leadership');
    } catch (err) {
      log.warn({ err: String(err) }, 'could not release the lease; it expires by itself');
    }
  };

  return {
    async run(lead) {
      const stopped = stopController.signal;
      log.info({ identity, lease: `${namespace}/${name}` }, 'campaigning for leadership');
      while (
        !stopped.aborted &&
        !(await attempt(AbortSignal.any([stopped, AbortSignal.timeout(Math.ceil(renewDeadline))])))
      ) {
        await sleep(jittered(), undefined, { signal: stopped }).catch(() => undefined);
      }
      if (stopped.aborted) return 'stopped';
      leader = true;
      log.info({ identity, lease: `${namespace}/${name}` }, 'became leader');
      const leading = new AbortController();
      let lost = false;
      const lose = (why: string) => {
        if (leading.signal.aborted) return;
        lost = true;
        log.error({ identity }, `lost leadership: ${why}`);
        leading.abort(new LeadershipLost(identity));
      };
      const abortLeading = () => leading.abort();
      stopped.addEventListener('abort', abortLeading, { once: true });
      const leadership: Leadership = {
        signal: leading.signal,
        fence() {
          if (!leading.signal.aborted && now() >= termEnd)
            lose('the lease was not renewed within the renew deadline');
          if (leading.signal.aborted) throw new LeadershipLost(identity);
        },
      };
      // As client-go's renew loop: every retryPeriod, try until renewed or the term is over; each attempt's
      // requests are bounded by the time left, so one slow answer cannot outlast the term.
      const renewLoop = (async () => {
        while (!leading.signal.aborted) {
          await sleep(retryPeriod, undefined, { signal: leading.signal }).catch(() => undefined);
          let renewed = false;
          while (!renewed && !leading.signal.aborted) {
            const left = termEnd - now();
            if (left <= 0) break;
            renewed = await attempt(AbortSignal.any([leading.signal, AbortSignal.timeout(Math.ceil(left))]));
            if (!renewed)
              await sleep(Math.min(retryPeriod, Math.max(0, termEnd - now())), undefined, {
                signal: leading.signal,
              }).catch(() => undefined);
          }
          if (!renewed) lose('could not renew the lease within the renew deadline');
        }
      })();
      try {
        await lead(leadership);
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
