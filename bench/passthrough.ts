// The floor for any aggregated proxy on the app cluster → control plane path: an HTTPS server that the aggregator
// reaches like the connector's proxy (APIService → ExternalName Service → loopback port, front-proxy client
// certificate), and that forwards the bytes of every request under one API group to the control plane unchanged —
// no authentication beyond the TLS handshake, no authorization, no parsing, no translation. The same group exists
// in the control plane (a copy of the claim CRD, see setup.ts), so paths need no rewriting either.
//
// Run as its own process (`node bench/passthrough.ts --port ...`), like the connector's proxy, so its CPU and
// memory are measured apart from the load generator.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { targetFor } from './http.ts';

export interface PassthroughOptions {
  port: number;
  host: string;
  /** Serving certificate (valid for the Service's <name>.<namespace>.svc) and its key. */
  certPem: string;
  keyPem: string;
  /** The aggregator's client CA (requestheader-client-ca-file): the only TLS clients accepted. */
  clientCAPem: string;
  /** Admin kubeconfig file of the control plane: server, CA and client certificate of every forwarded request. */
  upstreamKubeconfigPath: string;
  /** Requests whose path starts with /apis/<group> (or /openapi/v3/apis/<group>) are forwarded; others get 404. */
  group: string;
}

export interface RunningPassthrough {
  port: number;
  stop(): Promise<void>;
}

/** Connection-level and per-hop headers never travel across a proxy (RFC 9110 §7.6.1). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

/** Whether a request path belongs to the forwarded group. Pure. */
export function forwarded(url: string, group: string): boolean {
  const path = url.split('?')[0] ?? '';
  return [`/apis/${group}`, `/openapi/v3/apis/${group}`].some(
    (prefix) => path === prefix || path.startsWith(`${prefix}/`),
  );
}

/**
 * Request headers sent on: everything but hop-by-hop headers and the aggregator's identity headers (the control
 * plane authenticates the passthrough's own client certificate). Pure.
 */
export function upstreamHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(key) || key.startsWith('x-remote-') || key === 'authorization')
      continue;
    out[key] = value;
  }
  return out;
}

/** Response headers sent back: everything but hop-by-hop headers. Pure. */
export function downstreamHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(headers))
    if (value !== undefined && !hopByHop.has(key)) out[key] = value;
  return out;
}

export async function startPassthrough(options: PassthroughOptions): Promise<RunningPassthrough> {
  // Keep-alive HTTP/1.1 like the connector's upstream pool, but without a cap on connections: a watch holds one
  // for as long as it runs.
  const { server: upstream, dispatcher } = await targetFor('control-plane', options.upstreamKubeconfigPath);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (!forwarded(url, options.group)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        }),
      );
      return;
    }
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    request(`${upstream}${url}`, {
      method,
      headers: upstreamHeaders(req.headers),
      body: hasBody ? req : undefined,
      signal: abort.signal,
      dispatcher,
    })
      .then(async (up) => {
        res.writeHead(up.statusCode, downstreamHeaders(up.headers));
        res.flushHeaders();
        await pipeline(up.body, res);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              reason: 'ServiceUnavailable',
              code: 502,
              message: `passthrough: ${String(err)}`,
            }),
          );
        } else res.destroy();
      });
  };

  const server: Server = createServer(
    {
      cert: options.certPem,
      key: options.keyPem,
      ca: options.clientCAPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    },
    handle,
  );
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await dispatcher.close();
    },
  };
}

/** Command line of the passthrough process: files are read once at start. */
export function passthroughArgs(options: {
  port: number;
  certFile: string;
  keyFile: string;
  clientCAFile: string;
  kubeconfig: string;
  group: string;
}): string[] {
  return [
    `--port=${options.port}`,
    `--cert-file=${options.certFile}`,
    `--key-file=${options.keyFile}`,
    `--client-ca-file=${options.clientCAFile}`,
    `--kubeconfig=${options.kubeconfig}`,
    `--group=${options.group}`,
  ];
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'client-ca-file': { type: 'string' },
      kubeconfig: { type: 'string' },
      group: { type: 'string' },
    },
  });
  const required = (name: keyof typeof values) => {
    const value = values[name];
    if (!value) throw new Error(`passthrough: --${name} is required`);
    return value;
  };
  const running = await startPassthrough({
    port: Number(required('port')),
    host: required('host'),
    certPem: readFileSync(required('cert-file'), 'utf8'),
    keyPem: readFileSync(required('key-file'), 'utf8'),
    clientCAPem: readFileSync(required('client-ca-file'), 'utf8'),
    upstreamKubeconfigPath: required('kubeconfig'),
    group: required('group'),
  });
  process.stdout.write(`passthrough serving on ${running.port}\n`);
  const stop = () => void running.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
