// `ctp-connector proxy`: the aggregated API server of one connection. HTTPS over HTTP/1.1 only (the aggregator's
// HTTP/2 path has known connection bugs), with the serving certificate, the catalog and the aggregator's trust read
// from the app cluster and watched, so rotations apply without a restart.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kubeClient, pooledKubeConfig, type KubeClient } from '../kube/client.ts';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { decodeCatalog, type Catalog } from '../catalog/catalog.ts';
import { ownedNames } from '../connection/names.ts';
import { supervisedInformer, type SupervisedInformer } from '../controller/informer.ts';
import { authenticate, parseRequestHeaderConfig, type RequestHeaderConfig, type UserInfo } from './auth.ts';
import { forbiddenMessage, subjectAccessReviewer } from './authorize.ts';
import { startClaimCache, type ClaimCache } from './claimcache.ts';
import { startConnectionSecretSync, type ConnectionSecretSync } from './connectionsecrets.ts';
import { forward } from './forward.ts';
import { createProxyMetrics, type ProxyMetrics } from './metrics.ts';
import { probes, serveEndpoints } from '../observe/endpoints.ts';
import { openAPIV2, openAPIV3, openAPIV3Root } from './openapi.ts';
import { parseResourceRequest } from './requestinfo.ts';
import { json, status, text } from './respond.ts';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  discoveryContentType,
  negotiateDiscovery,
} from './discovery.ts';

export interface ProxyOptions {
  app: KubeClient;
  connection: string;
  namespace: string;
  port: number;
  host?: string;
  /**
   * Share the port with other proxy processes on the host (SO_REUSEPORT): local rolling replacements, where two
   * replicas sit behind one address. Pods have their own addresses and do not need it.
   */
  reusePort?: boolean;
  /** Plain-HTTP /metrics (and probes): host:port, ":port", or "0" to disable (the default). */
  metricsAddress?: string;
  log: Logger;
}

export interface RunningProxy {
  port: number;
  /** host:port of the metrics endpoint, when enabled. */
  metricsAddress: string | undefined;
  metrics: ProxyMetrics;
  ready(): boolean;
  /** Graceful: waits up to drainMs for requests in flight. */
  stop(drainMs?: number): Promise<void>;
}

type Data = KubernetesObject & { data?: Record<string, string>; binaryData?: Record<string, string> };

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { app, log } = options;
  const names = ownedNames(options.connection);
  let catalog: Catalog | undefined;
  let requestHeader: RequestHeaderConfig | undefined;
  let serving: { cert: string; key: string } | undefined;
  let upstream: { kubeconfig: string; client: KubeClient } | undefined;
  const metrics = createProxyMetrics();
  // The claim cache and connection Secret delivery follow the catalog and the credential. A new cache replaces the
  // current one once it has synced, so a rotation during a control-plane outage keeps the reads the old one serves.
  let followers: { claims: ClaimCache; secrets: ConnectionSecretSync } | undefined;
  let pending: ClaimCache | undefined;
  const stopFollowers = (f: typeof followers) => void f?.secrets.stop().then(() => f.claims.stop());
  const restartFollowers = () => {
    void pending?.stop(); // superseded before it synced
    pending = undefined;
    if (!catalog || !upstream) {
      stopFollowers(followers);
      followers = undefined;
      return;
    }
    const current = { catalog, controlPlane: upstream.client };
    const claims = startClaimCache({
      ...current,
      log: log.child({ component: 'claim-cache' }),
      onAvailability: (available) => metrics.controlPlaneAvailable(available),
    });
    pending = claims;
    // Without a cache, take the new one at once (each resource answers once it has synced); with one, wait for the
    // new cache to sync, or for 10 s when a resource cannot be listed yet (its RBAC is still being granted).
    // A new cache that cannot reach the control plane at all never replaces one that can answer reads.
    const promoted = followers
      ? Promise.race([
          claims.synced,
          new Promise((r) => setTimeout(r, 10_000).unref()).then(() =>
            claims.available() ? undefined : claims.synced,
          ),
        ])
      : Promise.resolve();
    void promoted.then(() => {
      if (pending !== claims) return;
      pending = undefined;
      const previous = followers;
      followers = {
        claims,
        secrets: startConnectionSecretSync({
          ...current,
          app,
          claims,
          log: log.child({ component: 'connection-secrets' }),
        }),
      };
      metrics.controlPlaneAvailable(claims.available());
      metrics.claimCacheSynced(false);
      void claims.synced.then(() => {
        if (followers?.claims === claims) metrics.claimCacheSynced(true);
      });
      stopFollowers(previous);
    });
  };
  // TLS material arrives through the watches below; setSecureContext swaps it in on every rotation.
  const server: Server = createServer(
    {
      requestCert: true,
      rejectUnauthorized: false, // health probes come without a certificate; handle() authenticates the rest
      ALPNProtocols: ['http/1.1'],
      minVersion: 'TLSv1.2',
    },
    (req, res) => handle(req, res),
  );
  server.keepAliveTimeout = 65_000;
  const refreshTLS = () => {
    if (!serving || !requestHeader) return;
    server.setSecureContext({ cert: serving.cert, key: serving.key, ca: requestHeader.caPem });
  };

  const watchOne = (
    path: string,
    name: string,
    onObject: (obj: Data | undefined) => void,
  ): SupervisedInformer<Data> =>
    supervisedInformer<Data>({
      client: app,
      path,
      fieldSelector: `metadata.name=${name}`,
      log: log.child({ watch: `${path}/${name}` }),
      onEvent: (event, obj) => onObject(event === 'delete' ? undefined : obj),
    });

  const informers = [
    watchOne(`/api/v1/namespaces/${options.namespace}/secrets`, names.serving, (secret) => {
      const decode = (key: string) =>
        secret?.data?.[key] ? Buffer.from(secret.data[key], 'base64').toString('utf8') : undefined;
      const cert = decode('tls.crt');
      const key = decode('tls.key');
      serving = cert && key ? { cert, key } : undefined;
      refreshTLS();
    }),
    watchOne(`/api/v1/namespaces/${options.namespace}/secrets`, names.token, (secret) => {
      // The operator rotates the token; new requests use the new one, requests in flight finish on the old.
      const kubeconfig = secret?.data?.kubeconfig
        ? Buffer.from(secret.data.kubeconfig, 'base64').toString('utf8')
        : undefined;
      if (kubeconfig === upstream?.kubeconfig) return;
      const previous = upstream;
      if (kubeconfig) {
        const client = kubeClient(
          pooledKubeConfig((kc) => kc.loadFromString(kubeconfig)),
          'ctp-connector-proxy',
        );
        upstream = { kubeconfig, client };
      } else {
        upstream = undefined;
      }
      restartFollowers();
      if (previous) setTimeout(() => void previous.client.close(), 60_000).unref();
    }),
    watchOne(`/api/v1/namespaces/${options.namespace}/configmaps`, names.catalog, (cm) => {
      try {
        const next = cm ? decodeCatalog(cm.binaryData) : undefined;
        // Relists and no-op writes deliver the same catalog again: only a real change restarts the followers.
        if (JSON.stringify(next) === JSON.stringify(catalog)) return;
        catalog = next;
        restartFollowers();
      } catch (err) {
        log.error({ err: String(err) }, 'catalog unreadable; keeping the previous one');
      }
    }),
    watchOne('/api/v1/namespaces/kube-system/configmaps', 'extension-apiserver-authentication', (cm) => {
      requestHeader = parseRequestHeaderConfig(cm?.data);
      refreshTLS();
    }),
  ];
  await Promise.all(informers.map((i) => i.start()));
  if (!serving)
    throw new Error(
      `serving certificate Secret ${options.namespace}/${names.serving} is missing or incomplete`,
    );
  if (!requestHeader)
    throw new Error(
      'kube-system/extension-apiserver-authentication has no requestheader CA: aggregation is not configured',
    );

  const authorize = subjectAccessReviewer(app);
  // OpenAPI documents are derived from the catalog; build each once per catalog version.
  let openAPICache: { catalog: Catalog; docs: Map<string, Record<string, unknown> | undefined> } | undefined;
  const openAPIDocument = (current: Catalog, path: string) => {
    if (openAPICache?.catalog !== current) openAPICache = { catalog: current, docs: new Map() };
    if (!openAPICache.docs.has(path)) {
      let doc: Record<string, unknown> | undefined;
      if (path === '/openapi/v2') doc = openAPIV2(current);
      else if (path === '/openapi/v3') doc = openAPIV3Root(current);
      else {
        const [, , , , group, version] = path.split('/');
        const gv = current.groupVersions.find((g) => g.group === group && g.version === version);
        doc = gv ? openAPIV3(gv) : undefined;
      }
      openAPICache.docs.set(path, doc);
    }
    return openAPICache.docs.get(path);
  };
  const ready = () => Boolean(serving && requestHeader && catalog);

  const probe = probes(ready);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const answer = probe(path);
    if (answer) return text(res, answer.status, answer.body);
    const audit = observeRequest(req, res);

    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const auth = authenticate(
      { authorized: socket.authorized, commonName: peer?.subject?.CN as string | undefined },
      // Distinct values: the aggregator repeats X-Remote-Group once per group, which req.headers would join.
      req.headersDistinct,
      requestHeader,
    );
    if (!auth.ok) {
      audit.fields.reason = auth.reason;
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    audit.fields.user = auth.user.name;
    return route(req, res, path, auth.user, audit);
  };

  /**
   * One metrics sample and one log line per request, written when the response ends. The Audit-ID the aggregator
   * sent (or a new one) is logged and forwarded to the control plane, so one request can be followed through both
   * clusters' audit logs.
   */
  const observeRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const header = req.headers['audit-id'];
    const sent = Array.isArray(header) ? header[0] : header;
    const auditID = sent || randomUUID();
    // kube-apiserver answers with its own Audit-Id header and copies ours: echo only an ID the proxy made up.
    if (!sent) res.setHeader('audit-id', auditID);
    const labels = { verb: (req.method ?? 'GET').toLowerCase(), resource: '' };
    const fields: Record<string, string | undefined> = {};
    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const code = res.headersSent ? res.statusCode : 0;
      metrics.request({ ...labels, code }, seconds);
      // Discovery and OpenAPI are polled by the aggregator all the time: logged only at debug level.
      const level = labels.resource === 'discovery' && code < 400 ? 'debug' : 'info';
      log[level](
        { auditID, ...labels, ...fields, code, ms: Math.round(seconds * 1000) },
        `${labels.verb} ${req.url ?? ''}`,
      );
    });
    return { auditID, labels, fields };
  };

  const route = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    user: UserInfo,
    audit: ReturnType<typeof observeRequest>,
  ) => {
    audit.labels.resource = 'discovery';
    if (!catalog) return status(res, 503, 'ServiceUnavailable', 'the API catalog is not loaded yet');
    const parts = path.split('/').filter(Boolean);
    if (req.method === 'GET' && parts[0] === 'apis') {
      if (parts.length === 1) {
        const format = negotiateDiscovery(req.headers.accept);
        const body = format === 'legacy' ? apiGroupList(catalog) : aggregatedDiscovery(catalog, format);
        return json(res, 200, body, discoveryContentType(format));
      }
      if (parts.length === 2) {
        const group = apiGroup(catalog, parts[1]!);
        return group
          ? json(res, 200, group)
          : status(res, 404, 'NotFound', `the server could not find the requested resource`);
      }
      if (parts.length === 3) {
        const list = apiResourceList(catalog, parts[1]!, parts[2]!);
        return list
          ? json(res, 200, list)
          : status(res, 404, 'NotFound', `the server could not find the requested resource`);
      }
    }
    if (req.method === 'GET' && (path === '/openapi/v2' || path.startsWith('/openapi/v3'))) {
      const doc = openAPIDocument(catalog, path);
      if (!doc) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return json(res, 200, doc);
    }
    const url = new URL(req.url ?? '/', 'https://proxy');
    const info = parseResourceRequest(req.method ?? 'GET', path, url.searchParams);
    if (!info) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    Object.assign(audit.labels, { verb: info.verb, resource: info.resource });
    Object.assign(audit.fields, { namespace: info.namespace, name: info.name });
    const current = catalog;
    authorize(user, info)
      .then(async (decision) => {
        if (!decision.allowed) {
          log.info(
            { user: user.name, verb: info.verb, resource: info.resource, namespace: info.namespace },
            'forbidden',
          );
          return status(res, 403, 'Forbidden', forbiddenMessage(user, info));
        }
        await forward(req, res, info, url.searchParams, {
          catalog: current,
          upstream: upstream?.client,
          claims: followers?.claims,
          auditID: audit.auditID,
          metrics,
        });
      })
      .catch((err: unknown) => {
        log.error({ path, err: String(err) }, 'request failed');
        if (!res.headersSent) status(res, 500, 'InternalError', 'the proxy failed to handle the request');
      });
  };

  refreshTLS();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(
      { port: options.port, host: options.host ?? '0.0.0.0', reusePort: options.reusePort },
      resolve,
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const metricsEndpoint = await serveEndpoints(options.metricsAddress ?? '0', async (path) =>
    path === '/metrics'
      ? { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }
      : (probe(path) ?? { status: 404, body: 'not found' }),
  );
  log.info({ port, connection: options.connection }, 'proxy serving');

  return {
    port,
    metricsAddress: metricsEndpoint.address,
    metrics,
    ready,
    async stop(drainMs = 5_000) {
      // Stop accepting, let requests in flight finish, then close what is left: the aggregator keeps idle
      // keep-alive connections open, and close() alone would wait for them.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), drainMs);
      await drained;
      clearTimeout(force);
      await Promise.all([...informers.map((i) => i.stop()), metricsEndpoint.close()]);
      await followers?.secrets.stop();
      await followers?.claims.stop();
      await pending?.stop();
      await upstream?.client.close();
    },
  };
}
