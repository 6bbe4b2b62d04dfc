// A keyed work queue with controller-runtime's semantics: a key waiting in the queue is held once however often it
// is added; a key being processed is never handed out again until done() — an add meanwhile marks it dirty and it
// is queued again afterwards; failures are retried with per-key exponential backoff; delayed adds for requeues.
// Once shut down it hands out nothing more, queued keys included: the operator shuts its queue down when it loses
// the leader lease, and the next leader reconciles every object anyway.

export interface RateLimiter {
  /** Delay before the next retry of key, counting this failure. */
  when(key: string): number;
  /** Forget the failure history of key (after a success). */
  forget(key: string): void;
  retries(key: string): number;
}

/** Per-key exponential backoff: base·2^failures, capped (client-go's ItemExponentialFailureRateLimiter). */
export function exponentialBackoff(baseMs = 5, maxMs = 300_000): RateLimiter {
  const failures = new Map<string, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      return Math.min(maxMs, baseMs * 2 ** Math.min(n, 40));
    },
    forget(key) {
      failures.delete(key);
    },
    retries(key) {
      return failures.get(key) ?? 0;
    },
  };
}

export interface QueueObserver {
  depth(n: number): void;
  added(): void;
  retried(): void;
  /** Time the key waited in the queue before a worker took it. */
  waited(seconds: number): void;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  addRateLimited(key: string): void;
  forget(key: string): void;
  retries(key: string): number;
  /** Resolves with the next key, or undefined once the queue is shut down (keys still queued are dropped). */
  get(): Promise<string | undefined>;
  done(key: string): void;
  len(): number;
  shutDown(): void;
  readonly shuttingDown: boolean;
}

const maxTimerMs = 2 ** 31 - 1;

const noObserver: QueueObserver = { depth() {}, added() {}, retried() {}, waited() {} };

export function createWorkQueue(
  limiter: RateLimiter = exponentialBackoff(),
  observer: QueueObserver = noObserver,
): WorkQueue {
  const queue: string[] = [];
  const queuedAt = new Map<string, number>();
  const dirty = new Set<string>();
  const processing = new Set<string>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const waiters: ((key: string | undefined) => void)[] = [];
  let shuttingDown = false;
  // Publish the depth from the start: a queue whose items all go straight to idle workers never backs up.
  observer.depth(0);

  const push = (key: string) => {
    const waiter = waiters.shift();
    if (waiter) {
      processing.add(key);
      dirty.delete(key);
      observer.waited(0);
      waiter(key);
      return;
    }
    queue.push(key);
    queuedAt.set(key, performance.now());
    observer.depth(queue.length);
  };

  const add = (key: string) => {
    if (shuttingDown || dirty.has(key)) return;
    observer.added();
    dirty.add(key);
    if (processing.has(key)) return; // queued again by done()
    push(key);
  };

  // Node fires a timer of more than 2^31-1 ms (24.8 days) after 1 ms: longer delays wait in steps.
  const arm = (key: string, at: number) => {
    const timer = setTimeout(
      () => {
        if (Date.now() < at) return arm(key, at);
        timers.delete(key);
        add(key);
      },
      Math.min(at - Date.now(), maxTimerMs),
    );
    timer.unref();
    timers.set(key, { at, timer });
  };

  const addAfter = (key: string, delayMs: number) => {
    if (shuttingDown) return;
    if (delayMs <= 0) return add(key);
    const at = Date.now() + delayMs;
    const existing = timers.get(key);
    if (existing && existing.at <= at) return; // an earlier wake-up is already planned
    if (existing) clearTimeout(existing.timer);
    arm(key, at);
  };

  return {
    add,
    addAfter,
    addRateLimited(key) {
      observer.retried();
      addAfter(key, limiter.when(key));
    },
    forget: (key) => limiter.forget(key),
    retries: (key) => limiter.retries(key),
    get() {
      if (shuttingDown) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        processing.add(key);
        dirty.delete(key);
        observer.depth(queue.length);
        observer.waited((performance.now() - (queuedAt.get(key) ?? performance.now())) / 1000);
        queuedAt.delete(key);
        return Promise.resolve(key);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      if (dirty.has(key) && !shuttingDown) push(key);
    },
    len: () => queue.length,
    shutDown() {
      shuttingDown = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      queue.splice(0);
      queuedAt.clear();
      dirty.clear();
      observer.depth(0);
      for (const waiter of waiters.splice(0)) waiter(undefined);
    },
    get shuttingDown() {
      return shuttingDown;
    },
  };
}

/**
 * One worker: handles the queue's keys one at a time until it shuts down. A key handled is forgotten (its backoff
 * reset); one whose handling threw is retried with backoff, unless `failed` says it is done with.
 */
export async function work(
  queue: WorkQueue,
  handle: (key: string) => Promise<void>,
  failed: (key: string, err: unknown) => 'retry' | 'forget',
): Promise<void> {
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    try {
      await handle(key);
      queue.forget(key);
    } catch (err) {
      if (failed(key, err) === 'retry') queue.addRateLimited(key);
      else queue.forget(key);
    } finally {
      queue.done(key);
    }
  }
}
