// Proof that the aggregation layer works on the local clusters, with exactly the routing the proxy relies on:
// APIService → Service of type ExternalName `localhost` → an HTTPS server on a loopback port whose certificate is
// valid for <service>.<namespace>.svc, reached with the front-proxy client certificate and X-Remote-* headers.
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../operator/src/pki/certificates.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { kubeConfigFor, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const group = 'proof.ctp.dev';
const version = 'v1';
const namespace = 'aggregation-proof';
const serviceName = 'proof-server';

interface SeenRequest {
  path: string;
  clientCN: string | undefined;
  authorized: boolean;
  user: string | undefined;
  groups: string[];
}

describe('aggregation layer on the local app cluster', () => {
  const app = sharedCluster('app');
  const kc = kubeConfigFor(app);
  const core = kc.makeApiClient(CoreV1Api);
  const registration = kc.makeApiClient(ApiregistrationV1Api);
  const seen: SeenRequest[] = [];
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const auth = await core.readNamespacedConfigMap({
      namespace: 'kube-system',
      name: 'extension-apiserver-authentication',
    });
    const frontProxyCA = auth.data?.['requestheader-client-ca-file'];
    expect(frontProxyCA).toContain('BEGIN CERTIFICATE');

    const ca = await createCertificateAuthority('proof-ca');
    const serving = await issueCertificate(ca, {
      commonName: serviceName,
      dnsNames: [`${serviceName}.${namespace}.svc`],
      usage: 'server',
    });
    [port] = (await freePorts(1)) as [number];
    server = createServer(
      {
        cert: serving.certPem,
        key: serving.keyPem,
        ca: frontProxyCA,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        const groups = req.headersDistinct['x-remote-group'] ?? [];
        seen.push({
          path: req.url ?? '',
          clientCN: socket.getPeerCertificate().subject?.CN as string | undefined,
          authorized: socket.authorized,
          user: req.headers['x-remote-user'] as string | undefined,
          groups,
        });
        if (!socket.authorized)
          return respond(res, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401 });
        const url = new URL(req.url ?? '/', 'https://proof');
        if (url.pathname === `/apis/${group}/${version}`) {
          return respond(res, 200, {
            kind: 'APIResourceList',
            apiVersion: 'v1',
            groupVersion: `${group}/${version}`,
            resources: [
              {
                name: 'widgets',
                singularName: 'widget',
                namespaced: true,
                kind: 'Widget',
                verbs: ['get', 'list'],
              },
            ],
          });
        }
        if (url.pathname === `/apis/${group}/${version}/namespaces/default/widgets`) {
          return respond(res, 200, {
            kind: 'WidgetList',
            apiVersion: `${group}/${version}`,
            metadata: { resourceVersion: '1' },
            items: [
              {
                kind: 'Widget',
                apiVersion: `${group}/${version}`,
                metadata: {
                  name: 'served-by-the-test-server',
                  namespace: 'default',
                  creationTimestamp: new Date().toISOString(),
                },
              },
            ],
          });
        }
        respond(res, 404, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: serviceName }, spec: { type: 'ExternalName', externalName: 'localhost' } },
    });
    await registration.createAPIService({
      body: {
        metadata: { name: `${version}.${group}` },
        spec: {
          group,
          version,
          groupPriorityMinimum: 1000,
          versionPriority: 15,
          service: { name: serviceName, namespace, port },
          caBundle: Buffer.from(ca.certPem).toString('base64'),
        },
      },
    });
  });

  afterAll(async () => {
    await registration.deleteAPIService({ name: `${version}.${group}` }).catch(() => undefined);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    // The aggregator keeps idle connections open; close them or close() waits for their keep-alive timeout.
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('marks the APIService Available once the server answers discovery', async () => {
    const condition = await waitFor(
      async () => {
        const svc = await registration.readAPIService({ name: `${version}.${group}` });
        const available = svc.status?.conditions?.find((c) => c.type === 'Available');
        return available?.status === 'True' ? available : undefined;
      },
      { timeoutMs: 60_000, what: `APIService ${version}.${group} to become Available` },
    );
    expect(condition.reason).toBe('Passed');
    expect(
      seen.some((r) => r.path === `/apis/${group}/${version}` && r.user === 'system:kube-aggregator'),
    ).toBe(true);
  });

  it('routes kubectl through kube-apiserver to the server with the front-proxy certificate and X-Remote headers', async () => {
    seen.length = 0;
    const out = await kubectlOk(app, ['get', `widgets.${group}`, '-n', 'default', '-o', 'name']);
    expect(out.trim()).toBe(`widget.${group}/served-by-the-test-server`);

    const list = seen.find((r) => r.path.startsWith(`/apis/${group}/${version}/namespaces/default/widgets`));
    expect(list).toBeDefined();
    expect(list?.authorized).toBe(true);
    expect(list?.clientCN).toBe('front-proxy-client');
    expect(list?.user).toBe('kubernetes-admin');
    expect(list?.groups).toEqual(expect.arrayContaining(['system:masters', 'system:authenticated']));
    // Every request that reached the server came through the aggregator's authenticated channel.
    expect(seen.every((r) => r.authorized && r.clientCN === 'front-proxy-client')).toBe(true);
  });
});

function respond(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
