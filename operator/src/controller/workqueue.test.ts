import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, jest } from '@jest/globals';
import { createWorkQueue, exponentialBackoff, work } from './workqueue.ts';

describe('work queue', () => {
  it('collapses duplicate adds of a waiting key', async () => {
    const q = createWorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands out a key while it is being processed, and requeues it once afterwards', async () => {
    const q = createWorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // held back while processing
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await sleep(5);
    expect(second).toBeUndefined();
    q.done(key!);
    await sleep(0);
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('wakes a waiting worker on add', async () => {
    const q = createWorkQueue();
    const pending = q.get();
    q.add('x');
    expect(await pending).toBe('x');
  });

  it('delays addAfter and keeps the earliest of several delays', async () => {
    const q = createWorkQueue();
    q.addAfter('a', 200);
    q.addAfter('a', 20);
    q.addAfter('a', 500);
    const start = performance.now();
    expect(await q.get()).toBe('a');
    const waited = performance.now() - start;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(190);
  });

  it('waits out delays longer than a Node timer can hold (a serving certificate renewed in 60 days)', () => {
    jest.useFakeTimers();
    try {
      const q = createWorkQueue();
      const sixtyDays = 60 * 24 * 3600 * 1000;
      q.addAfter('a', sixtyDays);
      jest.advanceTimersByTime(1_000);
      expect(q.len()).toBe(0);
      jest.advanceTimersByTime(2 ** 31);
      expect(q.len()).toBe(0);
      jest.advanceTimersByTime(sixtyDays - 2 ** 31 - 1_000);
      expect(q.len()).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('backs off exponentially per key and forgets on success', () => {
    const limiter = exponentialBackoff(10, 1000);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => limiter.when('k'))).toEqual([
      10, 20, 40, 80, 160, 320, 640, 1000,
    ]);
    expect(limiter.when('other')).toBe(10);
    expect(limiter.retries('k')).toBe(8);
    limiter.forget('k');
    expect(limiter.when('k')).toBe(10);
  });

  it('reports its depth from the start and as it changes', async () => {
    const depths: number[] = [];
    const q = createWorkQueue(undefined, {
      depth: (n) => depths.push(n),
      added() {},
      retried() {},
      waited() {},
    });
    expect(depths).toEqual([0]);
    q.add('a');
    q.add('b');
    await q.get();
    expect(depths).toEqual([0, 1, 2, 1]);
  });

  it('releases waiting workers on shutdown and ignores later adds', async () => {
    const q = createWorkQueue();
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
    q.add('late');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('hands out no queued key after shutdown, nor one re-added while it was processed', async () => {
    const q = createWorkQueue();
    q.add('a');
    q.add('b');
    q.add('c');
    const a = await q.get();
    q.add('a'); // dirty while processing: would be queued again by done()
    q.shutDown();
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    q.done(a!);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });
});

describe('a worker', () => {
  it('handles each key, retries failures with backoff until they succeed, drops what it is told to, and ends on shutdown', async () => {
    const q = createWorkQueue(exponentialBackoff(1, 4));
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const worker = work(
      q,
      async (key) => {
        await sleep(0);
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'flaky' && n < 3) throw new Error('not yet');
        if (key === 'doomed') throw new Error('gone');
        handled.push(key);
      },
      (key) => (key === 'doomed' ? 'forget' : 'retry'),
    );
    for (const key of ['a', 'flaky', 'doomed', 'b']) q.add(key);
    while (handled.length < 3) await sleep(2);
    await sleep(20);
    expect(handled.sort()).toEqual(['a', 'b', 'flaky']);
    expect(Object.fromEntries(attempts)).toEqual({ a: 1, flaky: 3, doomed: 1, b: 1 });
    expect(q.retries('flaky')).toBe(0); // forgotten once it succeeded
    q.shutDown();
    await expect(worker).resolves.toBeUndefined();
  });
});
