// `ctp-connector proxy`: the aggregated API server of one connection. HTTPS over HTTP/1.1 only (the aggregator's
// HTTP/2 path has known connection bugs), with the serving certificate, the catalog and the aggregator's trust read
// from the app cluster and watched, so rotations apply without a restart. Requests pass the chain in chain.ts.
import { createServer, type Server } from 'node:https';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { decodeCatalog, type Catalog } from '../catalog/catalog.ts';
import { ownedNames, tokenIssuedAnnotation } from '../catalog/names.ts';
import { supervisedInformer, type SupervisedInformer } from '../controller/informer.ts';
import { isHTTPAnswer } from './health.ts';
import { kubeconfigTextClient, onUnauthorized, type KubeClient } from '../kube/client.ts';
import { probes, serveEndpoints } from '../observe/endpoints.ts';
import { parseRequestHeaderConfig, type RequestHeaderConfig } from './authentication.ts';
import { subjectAccessReviewer } from './authorization.ts';
import { proxyChain } from './chain.ts';
import { startClaimCache, type ClaimCache } from './claimcache.ts';
import { startConnectionSecretSync, type ConnectionSecretSync } from './connectionsecrets.ts';
import { startEventDelivery, type EventDelivery } from './eventdelivery.ts';
import { eventRecorder } from '../controller/events.ts';
import { replicaReport } from './report.ts';
import { newContext } from './context.ts';
import { upstreamHealth } from './health.ts';
import { createProxyMetrics, type ProxyMetrics } from './metrics.ts';
import { claimExists } from './locate.ts';
import { watchNamespaces } from './namespaces.ts';
import { shutDown } from './shutdown.ts';
import { watchRegistry } from './watches.ts';

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
  /** Open watches in total and per user (defaults 2000 and 500); more are refused with 429. */
  maxWatches?: number;
  maxWatchesPerUser?: number;
  /** Graceful shutdown: serving on, not-ready, for this long after stop() (default 0; the command's is 5 s) ... */
  shutdownDelayMs?: number;
  /** ... then this long for requests in flight (default 5 s; the command's is 25 s). */
  shutdownDrainMs?: number;
  log: Logger;
}

export interface RunningProxy {
  port: number;
  /** host:port of the metrics endpoint, when enabled. */
  metricsAddress: string | undefined;
  metrics: ProxyMetrics;
  ready(): boolean;
  /**
   * Graceful: not-ready at once, serving on for the shutdown delay (default: the options'), then up to drainMs for
   * requests in flight.
   */
  stop(drainMs?: number, delayMs?: number): Promise<void>;
}

type Data = KubernetesObject & { data?: Record<string, string>; binaryData?: Record<string, string> };

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { app, log } = options;
  const names = ownedNames(options.connection);
  let catalog: Catalog | undefined;
  let requestHeader: RequestHeaderConfig | undefined;
  let serving: { cert: string; key: string } | undefined;
  let upstream: { kubeconfig: string; client: KubeClient } | undefined;
  const report = replicaReport({
    app,
    namespace: options.namespace,
    connection: options.connection,
    log: log.child({ component: 'report' }),
  });
  const metrics = createProxyMetrics();
  const health = upstreamHealth({
    // Any answer of the control plane will do: /version needs no rights and no etcd.
    probe: async () => {
      const client = upstream?.client;
      if (!client) return 'failed';
      try {
        await client.request('GET', '/version', { timeoutMs: 2_000 });
        return 'answered';
      } catch (err) {
        return isHTTPAnswer(err) ? 'answered' : 'failed';
      }
    },
    log,
    onChange: (available) => metrics.controlPlaneAvailable(available),
  });
  const watches = watchRegistry({ total: options.maxWatches, perUser: options.maxWatchesPerUser });
  const namespaces = watchNamespaces(app, log);
  let shuttingDown = false;
  // The claim cache and connection Secret delivery follow the catalog and the credential. A new cache replaces the
  // current one once it has synced, so a rotation during a control-plane outage keeps the reads the old one serves.
  let followers: { claims: ClaimCache; secrets: ConnectionSecretSync; events: EventDelivery } | undefined;
  let pending: ClaimCache | undefined;
  // Set by stop(): a cache that syncs afterwards must not start followers nobody would stop.
  let stopped = false;
  const stopFollowers = async (f: typeof followers) => {
    await Promise.all([f?.secrets.stop(), f?.events.stop()]);
    await f?.claims.stop();
  };
  const restartFollowers = () => {
    void pending?.stop(); // superseded before it synced
    pending = undefined;
    if (stopped) return;
    if (!catalog || !upstream) {
      void stopFollowers(followers);
      followers = undefined;
      return;
    }
    const current = { catalog, controlPlane: upstream.client };
    const claims = startClaimCache({
      ...current,
      log: log.child({ component: 'claim-cache' }),
      health,
    });
    pending = claims;
    // Without a cache, take the new one at once (each resource answers once it has synced); with one, wait for the
    // new cache to sync, or for 10 s when a resource cannot be listed yet (its RBAC is still being granted).
    // A new cache that cannot reach the control plane at all never replaces one that can answer reads.
    const promoted = followers
      ? Promise.race([
          claims.synced,
          new Promise((r) => setTimeout(r, 10_000).unref()).then(() =>
            health.available() ? undefined : claims.synced,
          ),
        ])
      : Promise.resolve();
    void promoted.then(() => {
      if (pending !== claims || stopped) return;
      pending = undefined;
      const previous = followers;
      followers = {
        claims,
        secrets: startConnectionSecretSync({
          ...current,
          app,
          claims,
          report,
          events: eventRecorder(app, 'ctp-connector-proxy', log),
          log: log.child({ component: 'connection-secrets' }),
        }),
        events: startEventDelivery({ ...current, app, claims, log: log.child({ component: 'events' }) }),
      };
      metrics.claimCacheSynced(false);
      void claims.synced.then(() => {
        if (followers?.claims === claims) metrics.claimCacheSynced(true);
      });
      void stopFollowers(previous);
    });
  };
  // TLS material arrives through the watches below; setSecureContext swaps it in on every rotation.
  const server: Server = createServer(
    {
      requestCert: true,
      rejectUnauthorized: false, // health probes come without a certificate; handle() authenticates the rest
      ALPNProtocols: ['http/1.1'],
      minVersion: 'TLSv1.2',
      // Watch events are small writes behind earlier ones: never held back for the client's ACK (Nagle).
      noDelay: true,
    },
    (req, res) => void handle(newContext(req, res, log)),
  );
  server.keepAliveTimeout = 65_000;
  // A client must send its whole request within kube-apiserver's request timeout; slow uploads are cut off.
  server.requestTimeout = 60_000;
  server.headersTimeout = 60_000;
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
        // A 401 means this token was revoked (or the ServiceAccount re-created): the operator is told at once.
        const issuedAt = secret?.metadata?.annotations?.[tokenIssuedAnnotation] ?? '';
        let client: KubeClient;
        try {
          client = onUnauthorized(kubeconfigTextClient(kubeconfig, 'ctp-connector-proxy'), () =>
            report.credentialRejected(issuedAt),
          );
        } catch (err) {
          // The message names the field, never its value.
          log.error({ err: String(err) }, 'token Secret unreadable; keeping the previous credential');
          return;
        }
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
  await Promise.all([...informers.map((i) => i.start()), namespaces.start()]);
  if (!serving)
    throw new Error(
      `serving certificate Secret ${options.namespace}/${names.serving} is missing or incomplete`,
    );
  if (!requestHeader)
    throw new Error(
      'kube-system/extension-apiserver-authentication has no requestheader CA: aggregation is not configured',
    );

  const ready = () => Boolean(serving && requestHeader && catalog) && !shuttingDown;
  const scope = () => ({
    clusterID: catalog?.clusterID ?? '',
    targetNamespace: catalog?.targetNamespace ?? '',
  });
  const handle = proxyChain({
    catalog: () => catalog,
    requestHeader: () => requestHeader,
    ready,
    metrics,
    authorize: subjectAccessReviewer(app),
    shutdown: { draining: () => shuttingDown },
    admission: {
      namespacePhase: (name) => namespaces.phase(name),
      exists: (request, resource) => claimExists(upstream?.client, scope(), request, resource),
    },
    storage: {
      upstream: () => upstream?.client,
      claims: () => followers?.claims,
      scope,
      health,
      metrics,
      watches,
    },
  });

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
  const probe = probes(ready);
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
    async stop(drainMs = options.shutdownDrainMs ?? 5_000, delayMs = options.shutdownDelayMs ?? 0) {
      log.info({ delayMs, drainMs }, 'shutting down: not ready, draining');
      await shutDown(server, watches, { delayMs, drainMs }, () => (shuttingDown = true));
      health.stop();
      await Promise.all([...informers.map((i) => i.stop()), namespaces.stop(), metricsEndpoint.close()]);
      stopped = true;
      await stopFollowers(followers);
      await pending?.stop();
      await upstream?.client.close();
      await report.stop();
      log.info('proxy stopped');
    },
  };
}
