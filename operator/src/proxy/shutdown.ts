// Graceful shutdown, as kube-apiserver's --shutdown-delay-duration: on SIGTERM the proxy reports not-ready at once
// but keeps serving for a delay (endpoints and load balancers take a while to stop sending), answering with
// "Connection: close" so clients move their keep-alive connections elsewhere; then it stops accepting, lets
// requests in flight finish, ends open watches cleanly (clients re-watch from their resourceVersion) and closes.
import type { Server } from 'node:https';
import type { Stage } from './chain.ts';
import type { WatchRegistry } from './watches.ts';

export interface ShutdownState {
  draining: () => boolean;
}

/** The draining stage: while shutting down, every answer closes its connection. */
export function draining(state: ShutdownState): Stage {
  return async (ctx, next) => {
    if (state.draining()) ctx.res.setHeader('connection', 'close');
    await next();
  };
}

export interface ShutdownOptions {
  /** Serving on, not-ready, before the listener closes (default 5 s). */
  delayMs: number;
  /** Then, how long requests in flight may take before their connections are cut (default 25 s). */
  drainMs: number;
}

export async function shutDown(
  server: Server,
  watches: WatchRegistry,
  options: ShutdownOptions,
  startDraining: () => void,
): Promise<void> {
  startDraining();
  if (options.delayMs > 0) await new Promise((r) => setTimeout(r, options.delayMs));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  watches.endAll();
  const force = setTimeout(() => server.closeAllConnections(), options.drainMs);
  // Keep-alive connections that become idle after their last answer are closed as they go idle.
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  await closed;
  clearTimeout(force);
  clearInterval(idle);
}
