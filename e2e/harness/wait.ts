import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what: string;
  /** Stops waiting (rejecting with the signal's reason), e.g. once the awaited process has died. */
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns a value other than undefined, and returns it. Errors thrown by the probe count as
 * "not yet"; the last one is reported when time runs out.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}`, {
        cause: lastError,
      });
    }
    await sleep(options.intervalMs ?? 250, undefined, { signal: options.signal });
  }
}
