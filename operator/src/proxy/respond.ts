// Responses of the proxy, the one way every stage answers: JSON (or YAML) documents, and metav1.Status errors that
// clients classify by reason and code. A stage that refuses a request throws a StatusError; the recovery stage
// writes it, so no stage needs to know whether headers were already sent.
import type { ServerResponse } from 'node:http';
import { dump } from 'js-yaml';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'BadGateway'
  | 'ServiceUnavailable'
  | 'Timeout'
  // Reasons the control plane sends that the proxy passes on as they are.
  | (string & {});

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** A refusal with its HTTP code, Status reason and message; thrown by any stage, answered by recovery. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export type MediaType = 'application/json' | 'application/yaml';

/** Lists with more items than this are written item by item (listChunks). */
const streamedItems = 100;
/** Bytes gathered before each write of a streamed list. */
const chunkBytes = 64 * 1024;

export function json(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
): void {
  if (isLargeList(body)) {
    void streamList(res, code, body, contentType);
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** A document in the media type the client asked for (negotiated by admission; JSON by default). */
export function document(res: ServerResponse, code: number, body: unknown, media: MediaType): void {
  if (media === 'application/json') return json(res, code, body);
  const payload = dump(body, { noRefs: true });
  res.writeHead(code, { 'content-type': media, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

export function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain' });
  res.end(body);
}

export function status(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): void {
  json(res, code, statusBody(code, reason, message, details));
}

/** Writes a StatusError; the Retry-After header goes with 429s, as kube-apiserver sends it. */
export function writeStatusError(res: ServerResponse, err: StatusError): void {
  if (err.details?.retryAfterSeconds !== undefined)
    res.setHeader('retry-after', String(err.details.retryAfterSeconds));
  status(res, err.code, err.reason, err.message, err.details);
}

export const notFound = (resource: string, name: string | undefined): StatusError =>
  new StatusError(404, 'NotFound', `${resource} "${name ?? ''}" not found`, {
    ...(name ? { name } : {}),
  });

export const noSuchResource = (): StatusError =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource');

type ListBody = { items: unknown[] } & Record<string, unknown>;

function isLargeList(body: unknown): body is ListBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    Array.isArray((body as { items?: unknown }).items) &&
    (body as ListBody).items.length > streamedItems
  );
}

/**
 * The JSON of a list as chunks of about `size` characters, items serialised one at a time: a list of 20 000 claims is
 * never one string beside the objects it is made of. The envelope (kind, apiVersion, metadata) comes first and the
 * items last, as kube-apiserver writes them. Pure; joined, the chunks parse to what JSON.stringify(list) parses to.
 */
export function* listChunks(list: ListBody, size = chunkBytes): Generator<string> {
  const { items, ...envelope } = list;
  const head = JSON.stringify(envelope);
  let chunk = head === '{}' ? '{"items":[' : `${head.slice(0, -1)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    // As in JSON.stringify of an array: what has no JSON form is null.
    chunk += (i === 0 ? '' : ',') + (JSON.stringify(items[i]) ?? 'null');
    if (chunk.length >= size) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}`;
}

/** Writes a list chunk by chunk, waiting whenever the client reads slower than the proxy writes. */
async function streamList(res: ServerResponse, code: number, list: ListBody, contentType: string) {
  res.writeHead(code, { 'content-type': contentType });
  for (const chunk of listChunks(list)) {
    if (res.destroyed) return; // the client went away: the rest is never serialised
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
