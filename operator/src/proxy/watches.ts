// The open watches: how many one user and all users together may hold (each holds a connection to the control
// plane and a buffer), and a way to end them all cleanly at shutdown so clients re-watch elsewhere. A watch over the
// limit is refused with 429 and Retry-After, which client-go and kubectl retry.
import { StatusError } from './respond.ts';

export interface WatchLimitsOptions {
  /** Open watches in total (default 2000). */
  total?: number;
  /** Open watches of one user (default 500). */
  perUser?: number;
}

export interface WatchRegistry {
  /** Registers a watch of `user`, ended by `end` at shutdown; throws 429 over a limit. Returns its release. */
  open(user: string, end: () => void): () => void;
  /** Ends every open watch, and from then on every new one at once (shutdown: clients watch elsewhere). */
  endAll(): void;
  /** Shutdown has begun: new watches would only be ended again. */
  closing(): boolean;
  count(): number;
}

export function watchRegistry(options: WatchLimitsOptions = {}): WatchRegistry {
  const total = options.total ?? 2_000;
  const perUser = options.perUser ?? 500;
  const open = new Map<symbol, { user: string; end: () => void }>();
  let closed = false;
  const byUser = new Map<string, number>();
  const tooMany = (message: string) =>
    new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds: 1 });
  return {
    open(user, end) {
      if (open.size >= total) throw tooMany(`too many open watches: the proxy serves at most ${total}`);
      const mine = byUser.get(user) ?? 0;
      if (mine >= perUser)
        throw tooMany(`too many open watches of user "${user}": at most ${perUser} at once`);
      const key = Symbol(user);
      open.set(key, { user, end });
      byUser.set(user, mine + 1);
      // A watch that arrives on a kept-alive connection while the proxy drains would hold it open until the end.
      if (closed) queueMicrotask(end);
      return () => {
        if (!open.delete(key)) return;
        const left = (byUser.get(user) ?? 1) - 1;
        if (left > 0) byUser.set(user, left);
        else byUser.delete(user);
      };
    },
    endAll() {
      closed = true;
      for (const watch of [...open.values()]) watch.end();
    },
    closing: () => closed,
    count: () => open.size,
  };
}
