// Plain-HTTP endpoints for Prometheus and kubelet probes (`/metrics`, `/healthz`, `/readyz`), shared by the operator
// and the proxy. Bound on their own address so scraping needs no client certificate.
import type { Server } from 'node:http';

// Not `import ... from 'node:http'`: an ES module import of node:http reads every export, and its lazy WebSocket
// ones load Node's bundled undici for good (1.5 MiB of the RSS of the operator and the proxy, Node 24).
const { createServer } = process.getBuiltinModule('node:http');

export interface EndpointResponse {
  status: number;
  body: string;
  type?: string;
}

export type EndpointHandler = (path: string) => EndpointResponse | Promise<EndpointResponse>;

export interface Endpoints {
  /** host:port actually bound, or undefined when disabled ("0" or ""). */
  address: string | undefined;
  close(): Promise<void>;
}

/** Serves `handler` on `address` (host:port, or ":port" for every interface); "0" or "" disables it. */
export async function serveEndpoints(address: string, handler: EndpointHandler): Promise<Endpoints> {
  if (address === '0' || address === '') return { address: undefined, close: () => Promise.resolve() };
  const [host, port] = splitAddress(address);
  const server: Server = createServer((req, res) => {
    void Promise.resolve()
      .then(() => handler(new URL(req.url ?? '/', 'http://endpoint').pathname))
      .catch((err: unknown) => ({ status: 500, body: `endpoint failed: ${String(err)}` }))
      .then((r: EndpointResponse) => {
        res.writeHead(r.status, { 'content-type': r.type ?? 'text/plain' });
        res.end(r.body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address();
  return {
    address: typeof bound === 'object' && bound ? `${host}:${bound.port}` : undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Probe answers: live while the process runs, ready when `ready()` says so. */
export function probes(ready: () => boolean): (path: string) => EndpointResponse | undefined {
  return (path) => {
    if (path === '/healthz' || path === '/livez') return { status: 200, body: 'ok' };
    if (path === '/readyz') return ready() ? { status: 200, body: 'ok' } : { status: 503, body: 'not ready' };
    return undefined;
  };
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = i <= 0 ? '0.0.0.0' : address.slice(0, i);
  return [host, Number(address.slice(i + 1))];
}
