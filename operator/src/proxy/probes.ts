// Kubelet's probes on the serving port, answered before authentication: probes carry no client certificate.
import { probes as probeAnswers } from '../observe/endpoints.ts';
import type { Stage } from './chain.ts';
import { infoOf } from './context.ts';
import { text } from './respond.ts';

export function probes(ready: () => boolean): Stage {
  const probe = probeAnswers(ready);
  return async (ctx, next) => {
    const answer = probe(infoOf(ctx).path);
    if (answer) return text(ctx.res, answer.status, answer.body);
    await next();
  };
}
