// The state of one request as it passes the stages of the chain: each stage fills in what it establishes (the
// parsed request, the user, the admitted body) and later stages read it, as k8s.io/apiserver's filters use the
// request context. Accessors throw when a stage runs out of order, which the chain's tests would catch.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Admitted } from './admission.ts';
import type { UserInfo } from './authentication.ts';
import type { RequestInfo, ResourceRequest } from './requestinfo.ts';
import type { MediaType } from './respond.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  log: Logger;
  /** The aggregator's Audit-ID (or one of ours), sent on to the control plane. */
  auditID: string;
  /** The Audit-ID came with the request (kube-apiserver answers with it itself). */
  auditIDSent: boolean;
  /** performance.now() when the request arrived. */
  started: number;
  /** Labels of the request's metric sample and fields of its log line, completed by the stages. */
  audit: { verb: string; resource: string; fields: Record<string, string | undefined> };
  info?: RequestInfo;
  user?: UserInfo;
  /** What admission established: the served resource, the decoded body, the name. */
  admitted?: Admitted;
  /** The media type of the answer, from Accept (admission). */
  media: MediaType;
  /** Aborted when the client goes away: upstream calls and watches stop with it. */
  signal: AbortSignal;
}

export function newContext(req: IncomingMessage, res: ServerResponse, log: Logger): RequestContext {
  const header = req.headers['audit-id'];
  const sent = (Array.isArray(header) ? header[0] : header) || undefined;
  const abort = new AbortController();
  // 'close' of the response fires once it is finished or the connection is gone; only the latter aborts work.
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  return {
    req,
    res,
    log,
    auditID: sent ?? randomUUID(),
    auditIDSent: sent !== undefined,
    started: performance.now(),
    audit: { verb: (req.method ?? 'GET').toLowerCase(), resource: '', fields: {} },
    media: 'application/json',
    signal: abort.signal,
  };
}

export function resourceOf(ctx: RequestContext): ResourceRequest {
  if (!ctx.info?.resourceRequest) throw new Error('stage out of order: no resource request info');
  return ctx.info.resource;
}

export function userOf(ctx: RequestContext): UserInfo {
  if (!ctx.user) throw new Error('stage out of order: the request is not authenticated');
  return ctx.user;
}

export function infoOf(ctx: RequestContext): RequestInfo {
  if (!ctx.info) throw new Error('stage out of order: no request info');
  return ctx.info;
}

export function admittedOf(ctx: RequestContext): Admitted {
  if (!ctx.admitted) throw new Error('stage out of order: the request was not admitted');
  return ctx.admitted;
}
