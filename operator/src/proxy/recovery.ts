// The outermost stage: no request, whatever its bytes, ends the process or leaves its socket hanging. A StatusError
// from any stage is answered as the Status it carries; anything else is a bug, logged with the Audit-ID and answered
// 500. Beside it, the guards that keep the process alive when something fails outside a request.
import type { Logger } from 'pino';
import type { Stage } from './chain.ts';
import type { RequestContext } from './context.ts';
import { StatusError, writeStatusError } from './respond.ts';

export function recovery(): Stage {
  return async (ctx, next) => {
    // Without listeners, an aborted upload or a reset while answering is an 'error' event nobody handles, which
    // Node turns into an uncaught exception.
    ctx.req.on('error', (err) =>
      ctx.log.debug({ auditID: ctx.auditID, err: String(err) }, 'request stream failed'),
    );
    ctx.res.on('error', (err) =>
      ctx.log.debug({ auditID: ctx.auditID, err: String(err) }, 'response stream failed'),
    );
    try {
      await next();
    } catch (err) {
      answerFailure(ctx, err);
    }
  };
}

function answerFailure(ctx: RequestContext, err: unknown): void {
  const refusal = err instanceof StatusError;
  if (!refusal)
    ctx.log.error(
      { auditID: ctx.auditID, path: ctx.info?.path, err: err instanceof Error ? err.stack : String(err) },
      'request failed',
    );
  // A half-written answer cannot become a Status any more: end the connection so the client sees the failure.
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  writeStatusError(
    ctx.res,
    refusal ? err : new StatusError(500, 'InternalError', 'the proxy failed to handle the request'),
  );
}

/**
 * Errors outside any request — an informer callback that throws, a promise nobody awaited — are logged and the
 * process goes on: the proxy serves discovery for the whole app cluster, and ending it would make every APIService
 * unavailable and block namespace deletion.
 */
export function installProcessGuards(log: Logger): void {
  process.on('uncaughtException', (err) =>
    log.error({ err: err.stack ?? String(err) }, 'uncaught exception'),
  );
  process.on('unhandledRejection', (reason) =>
    log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection'),
  );
}
