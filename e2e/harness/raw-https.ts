// A raw HTTPS client for hostile and fault tests: the exact path, headers and body bytes a test chooses, the exact
// status code and headers that come back, no retries and no client-side interpretation. Credentials come from a
// kubeconfig (the clusters' admin), or are given explicitly for requests straight to a proxy's port.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { load } from 'js-yaml';

export interface Endpoint {
  host: string;
  port: number;
  /** CA of the server; absent: the server's certificate is not verified (tests of the peer's authentication). */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface RawRequest {
  method?: string;
  /** Sent exactly as given: percent-escapes and all. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  timeoutMs?: number;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A watch (or any streaming answer) being read: newline-delimited JSON events once the answer is 200. */
export interface RawStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Events parsed so far (200 answers). */
  events: { type: string; object: Record<string, unknown> }[];
  /** The whole body once the stream ended (the Status of an error answer). */
  ended: Promise<string>;
  /** Resolves with the first event that matches; fails after timeoutMs or when the stream ends without it. */
  next(
    match: (e: { type: string; object: Record<string, unknown> }) => boolean,
    timeoutMs?: number,
  ): Promise<{ type: string; object: Record<string, unknown> }>;
  close(): void;
}

export interface RawClient {
  endpoint: Endpoint;
  send(r: RawRequest): Promise<RawAnswer>;
  /**
   * Sends the headers with a Content-Length of `contentLength` but only `r.body`, then ends the socket: a client
   * that went away mid-upload. Resolves with an answer if one came before the socket closed, else "closed".
   */
  truncated(r: RawRequest & { contentLength: number }): Promise<RawAnswer | 'closed'>;
  /** Opens a streaming GET and resolves once the answer's headers arrived. */
  stream(r: RawRequest): Promise<RawStream>;
  close(): void;
}

/** The server and client credentials of a kubeconfig with embedded data (the harness's admin kubeconfigs). */
export function endpointOf(kubeconfigPath: string): Endpoint {
  const config = load(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const cluster = config.clusters[0]!.cluster;
  const user = config.users[0]!.user;
  const url = new URL(cluster.server);
  const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return {
    host: url.hostname,
    port: Number(url.port || 443),
    ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
  };
}

/** Headers that make the (admin) caller act as another user, as `kubectl --as --as-group` sends them. */
export function impersonating(
  user: string,
  groups: string[] = [],
  extra: Record<string, string> = {},
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'Impersonate-User': user };
  if (groups.length) headers['Impersonate-Group'] = groups;
  for (const [key, value] of Object.entries(extra)) headers[`Impersonate-Extra-${key}`] = value;
  return headers;
}

/**
 * A client of `endpoint`. With `keepAlive` it pools connections like a controller's client; without it every
 * request has a connection of its own, so a hostile request cannot poison the next one's.
 */
export function rawClient(endpoint: Endpoint, options: { keepAlive?: boolean } = {}): RawClient {
  const agent = new Agent({ keepAlive: options.keepAlive ?? false, maxSockets: 64 });
  const tls = {
    host: endpoint.host,
    port: endpoint.port,
    ca: endpoint.ca,
    cert: endpoint.cert,
    key: endpoint.key,
    rejectUnauthorized: endpoint.ca !== undefined,
    agent,
  };
  const headersOf = (r: RawRequest): OutgoingHttpHeaders => {
    const headers: OutgoingHttpHeaders = { accept: 'application/json', ...r.headers };
    if (r.body !== undefined && headers['content-length'] === undefined)
      headers['content-length'] = Buffer.byteLength(r.body);
    return headers;
  };

  const send = (r: RawRequest) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const req = request(
        {
          ...tls,
          method: r.method ?? 'GET',
          path: r.path,
          headers: headersOf(r),
          timeout: r.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${r.method ?? 'GET'} ${r.path}: no answer in time`)));
      req.on('error', reject);
      req.end(r.body);
    });

  const truncated = (r: RawRequest & { contentLength: number }) =>
    new Promise<RawAnswer | 'closed'>((resolve) => {
      let answered: RawAnswer | undefined;
      const req = request(
        {
          ...tls,
          agent: false, // the socket is destroyed below: never hand it to a pool
          method: r.method ?? 'POST',
          path: r.path,
          headers: { ...headersOf({ ...r, body: undefined }), 'content-length': r.contentLength },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => (answered = { status: res.statusCode ?? 0, headers: res.headers, text }));
          res.on('error', () => undefined);
        },
      );
      req.on('error', () => undefined); // the socket ends under the request: that is the point
      req.on('close', () => resolve(answered ?? 'closed'));
      req.flushHeaders();
      req.write(r.body ?? '');
      // Give the bytes time to reach the server, then hang up without sending the rest.
      setTimeout(() => req.destroy(), 500);
    });

  const stream = (r: RawRequest) =>
    new Promise<RawStream>((resolve, reject) => {
      const req = request(
        { ...tls, method: r.method ?? 'GET', path: r.path, headers: headersOf(r) },
        (res) => {
          const events: RawStream['events'] = [];
          let all = '';
          let pending = '';
          const ended = new Promise<string>((done) => {
            res.on('data', (c: Buffer) => {
              const s = c.toString('utf8');
              all += s;
              if (res.statusCode !== 200) return;
              pending += s;
              for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
                const line = pending.slice(0, nl).trim();
                pending = pending.slice(nl + 1);
                if (line) events.push(JSON.parse(line) as RawStream['events'][number]);
              }
            });
            res.on('end', () => done(all));
            res.on('close', () => done(all));
            res.on('error', () => done(all));
          });
          let over = false;
          void ended.then(() => (over = true));
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            events,
            ended,
            async next(match, timeoutMs = 15_000) {
              const deadline = Date.now() + timeoutMs;
              for (;;) {
                const found = events.find(match);
                if (found) return found;
                if (over || Date.now() > deadline)
                  throw new Error(
                    `${r.path}: no matching event (${over ? 'stream ended' : 'timed out'}); events: ${JSON.stringify(events.map((e) => e.type))}`,
                  );
                await new Promise((w) => setTimeout(w, 50));
              }
            },
            close: () => req.destroy(),
          });
        },
      );
      req.on('error', (err) => reject(err));
      req.end();
    });

  return { endpoint, send, truncated, stream, close: () => agent.destroy() };
}

/** The answer's body as JSON, or undefined when it is not JSON (kube-apiserver's plain-text errors). */
export function jsonOf(answer: { text: string }): Record<string, unknown> | undefined {
  try {
    return JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
