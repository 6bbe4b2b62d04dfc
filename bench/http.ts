// The load generator's HTTP client: one keep-alive HTTP/1.1 pool per cluster, authenticated as the kubeconfig's
// user, timing each call from the first byte sent to the last byte received (decoding is left to the caller, after
// the clock stops, so the client's JSON parsing is not counted as server latency).
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type Dispatcher } from 'undici';

export interface Target {
  name: string;
  server: string;
  dispatcher: Agent;
}

export interface Answer {
  status: number;
  body: Buffer;
  /** Milliseconds from sending the request to the last byte of the answer. */
  ms: number;
}

/**
 * A pool for the kubeconfig's cluster and user, with room for `connections` requests at once (watches included;
 * no cap when undefined).
 */
export async function targetFor(name: string, kubeconfigPath: string, connections?: number): Promise<Target> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfigPath}: no current cluster`);
  const tls: { ca?: string | Buffer | (string | Buffer)[]; cert?: unknown; key?: unknown } = {};
  await kc.applyToHTTPSOptions(tls as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  const dispatcher = new Agent({
    allowH2: false,
    connections,
    keepAliveTimeout: 60_000,
    headersTimeout: 120_000,
    bodyTimeout: 0,
    connect: {
      ca: tls.ca,
      cert: tls.cert as string | undefined,
      key: tls.key as string | undefined,
      rejectUnauthorized: true,
    },
  });
  return { name, server: cluster.server.replace(/\/+$/, ''), dispatcher };
}

export interface CallOptions {
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export async function call(
  target: Target,
  method: Dispatcher.HttpMethod,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const started = performance.now();
  const res = await request(`${target.server}${path}`, {
    method,
    headers,
    body: options.body,
    signal: options.signal ?? AbortSignal.timeout(120_000),
    dispatcher: target.dispatcher,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, ms: performance.now() - started };
}

/** Like call, but a non-2xx answer throws with the server's message. */
export async function callOk(
  target: Target,
  method: Dispatcher.HttpMethod,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const answer = await call(target, method, path, options);
  if (answer.status >= 300)
    throw new Error(
      `${target.name}: ${method} ${path}: ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`,
    );
  return answer;
}

export function parse<T>(answer: Answer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

export interface WatchStream {
  /** Resolves when the server ends the stream or stop() is called. */
  ended: Promise<void>;
  stop(): void;
}

/**
 * A watch whose events are handed to `onEvent` as they arrive, each with the time (performance.now()) at which the
 * line carrying it was read. Fails when the server has not answered within `headersTimeoutMs`.
 */
export async function watch(
  target: Target,
  path: string,
  onEvent: (event: { type: string; object: { metadata?: { name?: string } } }, at: number) => void,
  headersTimeoutMs = 60_000,
): Promise<WatchStream> {
  const abort = new AbortController();
  const deadline = setTimeout(
    () => abort.abort(new Error(`${target.name}: watch ${path}: no answer within ${headersTimeoutMs} ms`)),
    headersTimeoutMs,
  );
  let res;
  try {
    res = await request(`${target.server}${path}`, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: abort.signal,
      dispatcher: target.dispatcher,
    });
  } finally {
    clearTimeout(deadline);
  }
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    throw new Error(`${target.name}: watch ${path}: ${res.statusCode}: ${text.slice(0, 300)}`);
  }
  const ended = (async () => {
    let pending = '';
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const at = performance.now();
      pending += chunk.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim()) onEvent(JSON.parse(line) as Parameters<typeof onEvent>[0], at);
      }
    }
  })().catch(() => undefined);
  return { ended, stop: () => abort.abort() };
}
