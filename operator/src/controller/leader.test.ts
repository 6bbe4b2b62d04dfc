// The elector against an in-memory Lease with resourceVersion compare-and-swap (e2e/leader-election.test.ts runs it
// on a real API server): the fence and the bounded renewal, which a real cluster cannot time on demand.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { KubeApiError, type KubeClient, type RequestOptions } from '../kube/client.ts';
import { createLogger } from '../log.ts';
import { leaderElector, LeadershipLost, type Leadership } from './leader.ts';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number };
}

/** One Lease kept in memory; `hang` makes every later PUT wait until its signal aborts. */
function leaseStore() {
  let lease: Lease | undefined;
  let version = 0;
  const state = { hang: false, hung: 0, lastWrite: 0, abortedAt: [] as number[], writes: [] as Lease[] };
  const store = (body: Lease) => {
    lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
    state.writes.push(lease);
    state.lastWrite = performance.now();
    return structuredClone(lease);
  };
  const request = (method: string, path: string, options: RequestOptions = {}): Promise<unknown> => {
    const body = options.body as Lease;
    if (method === 'GET') {
      if (!lease) return Promise.reject(new KubeApiError(method, path, 404, undefined, ''));
      return Promise.resolve(structuredClone(lease));
    }
    if (method === 'POST') return Promise.resolve(store(body));
    if (state.hang) {
      state.hung++;
      return new Promise((_, reject) =>
        options.signal?.addEventListener('abort', () => {
          state.abortedAt.push(performance.now());
          reject(new Error('aborted'));
        }),
      );
    }
    if (body.metadata.resourceVersion !== lease?.metadata.resourceVersion)
      return Promise.reject(new KubeApiError(method, path, 409, undefined, ''));
    return Promise.resolve(store(body));
  };
  return { client: { request } as unknown as KubeClient, state };
}

const log = createLogger({ level: 'silent' });
const timing = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };

/** Runs an elector until it leads; resolves with its leadership and the run's outcome. */
async function lead(client: KubeClient, times = timing) {
  const elector = leaderElector({ client, namespace: 'ns', name: 'lease', identity: 'me', log, ...times });
  let leadership!: Leadership;
  let ended!: () => void;
  const settled = new Promise<void>((resolve) => (ended = resolve));
  const outcome = elector.run(async (l) => {
    leadership = l;
    await new Promise<void>((resolve) => l.signal.addEventListener('abort', () => resolve()));
    ended();
  });
  while (!elector.isLeader()) await new Promise((r) => setTimeout(r, 5));
  return { elector, leadership: () => leadership, outcome, settled };
}

describe('leader election', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('fences requests as soon as the renew deadline has passed, before any timer of its own has run', async () => {
    const { client, state } = leaseStore();
    const { leadership, outcome } = await lead(client);
    expect(() => leadership().fence()).not.toThrow();
    // A pause: the clock jumps past the term while nothing of the elector ran.
    const now = performance.now();
    jest.spyOn(performance, 'now').mockReturnValue(now + timing.renewDeadlineMs + 1);
    expect(() => leadership().fence()).toThrow(LeadershipLost);
    expect(leadership().signal.aborted).toBe(true);
    expect(await outcome).toBe('lost');
    // Lost: no release, since another replica may hold the lease by now.
    expect(state.writes.filter((w) => w.spec.holderIdentity === '')).toEqual([]);
  });

  it('bounds each renewal by the time left in the term, so a request that never answers ends it on time', async () => {
    const times = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 400 };
    const { client, state } = leaseStore();
    const { leadership, outcome } = await lead(client, times);
    state.hang = true;
    expect(await outcome).toBe('lost');
    expect(state.abortedAt).toHaveLength(state.hung);
    expect(state.hung).toBeGreaterThan(0);
    // The term ends renewDeadline after the last renewal was sent; a hung attempt is cut off then, not a whole
    // renewDeadline after it started (up to retryPeriod later). The margin only absorbs a late timer.
    expect(Math.max(...state.abortedAt) - state.lastWrite).toBeLessThan(times.renewDeadlineMs + 300);
    expect(() => leadership().fence()).toThrow(LeadershipLost);
  });

  it('releases the lease when stopped within its term', async () => {
    const { client, state } = leaseStore();
    const { elector, leadership, outcome } = await lead(client);
    elector.stop();
    expect(await outcome).toBe('stopped');
    expect(leadership().signal.aborted).toBe(true);
    expect(state.writes.at(-1)?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });
});
