// A TLS-terminating proxy in front of a cluster's kube-apiserver that records every request it forwards: who sent it
// (User-Agent), what it was, when it arrived and when the API server answered, on this process's monotonic clock. A
// test points the processes it watches at it (kubeconfigFor), so it sees each process's requests the way the API
// server does — a process that is paused sends nothing, whatever it believes it sent. Forwarded with the cluster's
// admin credential; impersonation headers pass through, so the clients keep the rights they were given.
import { readFileSync } from 'node:fs';
import { Agent, createServer, request, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { createCertificateAuthority, issueCertificate } from '../../operator/src/pki/certificates.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  userAgent: string;
  /** performance.now() when the request arrived. */
  receivedAt: number;
  /** performance.now() when the API server's answer (its headers) came back: a write is stored by then. */
  answeredAt?: number;
  status?: number;
}

export interface RecordingProxy {
  /** https://127.0.0.1:<port> */
  server: string;
  caPem: string;
  requests: RecordedRequest[];
  /** `kubeconfigPath`'s kubeconfig (user, impersonation) aimed at this proxy, as YAML. */
  kubeconfigFor(kubeconfigPath: string): string;
  close(): Promise<void>;
}

/** Request headers that belong to one hop, or to the credential the proxy replaces with its own. */
const dropped = new Set(['connection', 'keep-alive', 'host', 'authorization', 'proxy-connection', 'upgrade']);

export async function startRecordingProxy(
  upstreamKubeconfigPath: string,
  /** Called as each request arrives, before it is forwarded (a test can act at that instant). */
  onRequest: (request: RecordedRequest) => void = () => {},
): Promise<RecordingProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(upstreamKubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${upstreamKubeconfigPath}: no current cluster`);
  const upstream = new URL(cluster.server);
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const agent = new Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
  const ca = await createCertificateAuthority('recording-proxy-ca');
  const serving = await issueCertificate(ca, {
    commonName: 'recording-proxy',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
    usage: 'server',
  });
  const requests: RecordedRequest[] = [];

  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      userAgent: req.headers['user-agent'] ?? '',
      receivedAt: performance.now(),
    };
    requests.push(record);
    onRequest(record);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !dropped.has(k)));
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: record.method,
        path: record.path,
        headers,
        agent,
      },
      (answer) => {
        record.answeredAt = performance.now();
        record.status = answer.statusCode;
        const back = Object.fromEntries(Object.entries(answer.headers).filter(([k]) => k !== 'connection'));
        res.writeHead(answer.statusCode ?? 502, back);
        // Headers go out at once (a watch's must not wait for its first event), the body after them, as a large
        // answer comes anyway: a process paused meanwhile resumes with an answer half read.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // A client that goes away (a watch it stops, a process that dies) ends its upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    server: address,
    caPem: ca.certPem,
    requests,
    kubeconfigFor(kubeconfigPath) {
      const config = load(readFileSync(kubeconfigPath, 'utf8')) as {
        clusters: { cluster: Record<string, unknown> }[];
      };
      for (const c of config.clusters) {
        c.cluster.server = address;
        c.cluster['certificate-authority-data'] = Buffer.from(ca.certPem).toString('base64');
        delete c.cluster['certificate-authority'];
      }
      return dump(config);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
