// One metrics sample and one log line per request, written when the response ends, carrying the Audit-ID the
// aggregator sent (or one of ours), which is also forwarded to the control plane: one request can be followed
// through both clusters' audit logs. It runs before authentication so refused requests are recorded too.
import type { Stage } from './chain.ts';
import type { ProxyMetrics } from './metrics.ts';

export function audit(metrics: ProxyMetrics): Stage {
  return async (ctx, next) => {
    // kube-apiserver answers with its own Audit-Id header and copies ours: echo only an ID the proxy made up.
    if (!ctx.auditIDSent) ctx.res.setHeader('audit-id', ctx.auditID);
    const info = ctx.info;
    if (info?.resourceRequest) {
      ctx.audit.verb = info.resource.verb;
      ctx.audit.resource = info.resource.resource;
      ctx.audit.fields.namespace = info.resource.namespace;
      ctx.audit.fields.name = info.resource.name;
    } else ctx.audit.resource = 'discovery';
    ctx.res.once('close', () => {
      const seconds = (performance.now() - ctx.started) / 1000;
      const code = ctx.res.headersSent ? ctx.res.statusCode : 0;
      const { verb, resource, fields } = ctx.audit;
      metrics.request({ verb, resource, code }, seconds);
      // Discovery and OpenAPI are polled by the aggregator all the time: logged only at debug level.
      const level = resource === 'discovery' && code > 0 && code < 400 ? 'debug' : 'info';
      ctx.log[level](
        {
          auditID: ctx.auditID,
          verb,
          resource,
          user: ctx.user?.name,
          ...fields,
          code,
          ms: Math.round(seconds * 1000),
        },
        `${verb} ${ctx.req.url ?? ''}`,
      );
    });
    await next();
  };
}
