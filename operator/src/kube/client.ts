// Raw JSON access to a kube-apiserver for one kubeconfig context (authn.ts: tokens, token files, exec plugins,
// client certificates), with pooled keep-alive HTTP/1.1 connections instead of a new connection per request, a
// deadline on every call, and errors that carry the request and the server's metav1.Status.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { authenticator, type Authentication } from './authn.ts';
import { loadKubeconfig, parseKubeconfig, selectContext, type ClusterAccess } from './kubeconfig.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** A failed API call: HTTP status, the server's Status (when it sent one) and what was asked. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly status: Status | undefined;
  readonly reason: string | undefined;
  /** The response's headers (Warning, Retry-After, Audit-Id). */
  readonly headers: Record<string, string | string[] | undefined>;
  constructor(
    method: string,
    path: string,
    code: number,
    status: Status | undefined,
    body: string,
    headers: Record<string, string | string[] | undefined> = {},
  ) {
    const detail = status?.message ?? body.slice(0, 200);
    super(`${method} ${path}: ${code}${status?.reason ? ` ${status.reason}` : ''}: ${detail}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.status = status;
    this.reason = status?.reason;
    this.headers = headers;
  }
}

/** No HTTP answer at all: the connection failed, was reset, or timed out before the response headers. */
export class TransportError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409;
export const isForbidden = (err: unknown): boolean => err instanceof KubeApiError && err.code === 403;

export interface RequestOptions {
  body?: unknown;
  /** Default application/json; application/apply-patch+yaml for server-side apply, etc. */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /**
   * Called synchronously right before each attempt is dispatched (after every await of building it); throwing
   * refuses the request. Leader election uses it so that no request leaves once the lease may have passed on.
   */
  fence?: () => void;
}

export interface Exchange<T> {
  code: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface KubeClient {
  readonly server: string;
  request<T = unknown>(method: HttpMethod, path: string, options?: RequestOptions): Promise<T>;
  /** As request, with the response's code and headers. */
  exchange<T = unknown>(method: HttpMethod, path: string, options?: RequestOptions): Promise<Exchange<T>>;
  /** A streaming request (watches): no deadline, the caller aborts through options.signal. */
  stream(
    method: HttpMethod,
    path: string,
    options?: RequestOptions,
  ): Promise<{
    headers: Record<string, string | string[] | undefined>;
    body: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  }>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

const defaultTimeoutMs = 30_000;
const maxAttempts = 5;

export function kubeClient(access: ClusterAccess, userAgent = 'ctp-connector'): KubeClient {
  const server = access.cluster.server;
  const auth = authenticator(access);
  const pools = connectionPools(access);

  /** Sends a request; resolves once a 2xx response's headers arrive, or throws KubeApiError with the Status. */
  const send = async (
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    signal: AbortSignal | undefined,
    streaming = false,
  ) => {
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const credential = await auth.authenticate();
    const dispatcher = pools.dispatcher(credential, streaming);
    const headers: Record<string, string | string[]> = {
      ...credential.headers,
      accept: 'application/json',
      'user-agent': userAgent,
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const pathForErrors = `${url.pathname}${url.search}`;
    // 429 means the request was not processed (priority and fairness, a watch cache still initializing):
    // retrying after Retry-After is safe for every method, as client-go does.
    for (let attempt = 1; ; attempt++) {
      options.fence?.();
      let res;
      try {
        res = await request(url, { method, headers, body, signal, dispatcher });
      } catch (err) {
        throw new TransportError(`${method} ${pathForErrors}: ${describeNetworkError(err)}`, { cause: err });
      }
      if (res.statusCode === 429 && attempt < maxAttempts) {
        await res.body.dump();
        const retryAfter = Number(res.headers['retry-after'] ?? 1);
        await sleep(Math.min(Number.isFinite(retryAfter) ? retryAfter : 1, 2) * 1000, undefined, { signal });
        continue;
      }
      if (res.statusCode >= 400) {
        if (res.statusCode === 401) auth.rejected();
        const text = await res.body.text();
        throw new KubeApiError(method, pathForErrors, res.statusCode, parseStatus(text), text, res.headers);
      }
      return res;
    }
  };

  return {
    server,
    close: () => pools.close(),
    async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
      return (await this.exchange<T>(method, path, options)).body;
    },
    async exchange<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<Exchange<T>> {
      const deadline = AbortSignal.timeout(options.timeoutMs ?? defaultTimeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
      const res = await send(method, path, options, signal);
      let text;
      try {
        text = await res.body.text();
      } catch (err) {
        // The answer started but did not finish (reset, deadline): as good as no answer.
        throw new TransportError(`${method} ${path}: reading the response: ${describeNetworkError(err)}`, {
          cause: err,
        });
      }
      const body = (text.length > 0 ? JSON.parse(text) : undefined) as T;
      return { code: res.statusCode, headers: res.headers, body };
    },
    async stream(method: HttpMethod, path: string, options: RequestOptions = {}) {
      const res = await send(method, path, options, options.signal, true);
      return { headers: res.headers, body: res.body };
    },
  };
}

/** A client for the current context of a kubeconfig file (default: what kubectl would use, see loadKubeconfig). */
export function kubeconfigClient(path?: string, userAgent?: string): KubeClient {
  return kubeClient(selectContext(loadKubeconfig(path)), userAgent);
}

/** A client for the current context of a kubeconfig document. */
export function kubeconfigTextClient(text: string, userAgent?: string): KubeClient {
  return kubeClient(selectContext(parseKubeconfig(text)), userAgent);
}

/** What every request of a guarded client carries: a signal that cancels it, and a fence checked before it leaves. */
export interface RequestGuard {
  signal: AbortSignal;
  fence?: () => void;
}

/**
 * `client` with `guard` on every request (the caller's own signal still applies): what the operator's controller
 * uses while it holds the leader lease, so losing the lease cancels its requests and refuses new ones.
 */
export function guardedClient(client: KubeClient, guard: RequestGuard): KubeClient {
  const guarded = (options: RequestOptions = {}): RequestOptions => ({
    ...options,
    signal: options.signal ? AbortSignal.any([options.signal, guard.signal]) : guard.signal,
    fence: options.fence
      ? () => {
          guard.fence?.();
          options.fence?.();
        }
      : guard.fence,
  });
  return {
    server: client.server,
    request: <T>(method: HttpMethod, path: string, options?: RequestOptions) =>
      client.request<T>(method, path, guarded(options)),
    exchange: <T>(method: HttpMethod, path: string, options?: RequestOptions) =>
      client.exchange<T>(method, path, guarded(options)),
    stream: (method, path, options) => client.stream(method, path, guarded(options)),
    close: () => client.close(),
  };
}

/** The client, calling `notify` whenever the server answers 401 (the request still fails as before). */
export function onUnauthorized(client: KubeClient, notify: () => void): KubeClient {
  const observe = <T>(call: Promise<T>): Promise<T> =>
    call.catch((err: unknown) => {
      if (err instanceof KubeApiError && err.code === 401) notify();
      throw err;
    });
  return {
    server: client.server,
    request: <T>(method: HttpMethod, path: string, options?: RequestOptions) =>
      observe(client.request<T>(method, path, options)),
    exchange: <T>(method: HttpMethod, path: string, options?: RequestOptions) =>
      observe(client.exchange<T>(method, path, options)),
    stream: (method, path, options) => observe(client.stream(method, path, options)),
    close: () => client.close(),
  };
}

/**
 * Two pools per client: short requests share a bounded one, so a burst queues instead of opening hundreds of
 * connections; watches hold their connection for minutes, so they get one without a bound (in the shared one, 32
 * open watches would leave every other request waiting). Both are rebuilt when the client certificate changes.
 */
function connectionPools(access: ClusterAccess) {
  const { cluster } = access;
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined);
  let current: { cert?: string; key?: string; short: Agent; streams: Agent } | undefined;
  const agent = (connections: number | null, credential: Authentication) =>
    new Agent({
      allowH2: false,
      connections,
      keepAliveTimeout: 30_000,
      headersTimeout: 60_000,
      bodyTimeout: 0, // watches stream for minutes; callers bound their own requests
      connect: {
        ca,
        cert: credential.cert,
        key: credential.key,
        servername: cluster.tlsServerName,
        rejectUnauthorized: !cluster.insecureSkipTLSVerify,
      },
    });
  return {
    dispatcher(credential: Authentication, streaming: boolean): Agent {
      if (!current || current.cert !== credential.cert || current.key !== credential.key) {
        const previous = current;
        current = {
          cert: credential.cert,
          key: credential.key,
          short: agent(32, credential),
          streams: agent(null, credential),
        };
        // Requests in flight on the old pools finish; close() waits for them.
        void previous?.short.close();
        void previous?.streams.close();
      }
      return streaming ? current.streams : current.short;
    },
    async close(): Promise<void> {
      const pools = current;
      current = undefined;
      await Promise.all([pools?.short.close(), pools?.streams.close()]);
    },
  };
}

function parseStatus(text: string): Status | undefined {
  try {
    const parsed = JSON.parse(text) as Status;
    return parsed && parsed.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A short, human reason for a transport failure (undici nests the useful part in `cause`). */
export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err.message;
}
