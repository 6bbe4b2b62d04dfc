// Watches read the way clients read them: a stream of newline-delimited JSON events, collected for assertions.
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { waitFor } from './wait.ts';

export interface WatchEvent<T> {
  type: string;
  object: T;
}

export interface CollectedWatch<T> {
  events: WatchEvent<T>[];
  /** Response headers of the watch request. */
  headers: Record<string, string | string[] | undefined>;
  /** Resolves with the first event that matches, or fails after timeoutMs. */
  until(match: (e: WatchEvent<T>) => boolean, what: string, timeoutMs?: number): Promise<WatchEvent<T>>;
  stop(): void;
  /** Resolves when the server ends the stream (or stop() was called). */
  ended: Promise<void>;
}

export async function collectWatch<T>(
  client: KubeClient,
  path: string,
  query: Record<string, string>,
): Promise<CollectedWatch<T>> {
  const abort = new AbortController();
  const events: WatchEvent<T>[] = [];
  const stream = await client.stream('GET', path, {
    query: { watch: 'true', ...query },
    signal: abort.signal,
  });
  const ended = (async () => {
    let pending = '';
    for await (const chunk of stream.body) {
      pending += chunk.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        events.push(JSON.parse(pending.slice(0, nl)) as WatchEvent<T>);
        pending = pending.slice(nl + 1);
      }
    }
  })().catch(() => undefined);
  return {
    events,
    headers: stream.headers,
    until: (match, what, timeoutMs = 30_000) =>
      waitFor(() => events.find(match), { timeoutMs, what, intervalMs: 100 }),
    stop: () => abort.abort(),
    ended,
  };
}
