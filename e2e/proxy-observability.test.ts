// What the proxy reports about the requests it serves: Prometheus metrics on its metrics endpoint and one log line
// per request carrying the audit ID kube-apiserver gave the request — and never a token. Looks into the proxy the
// test process runs, so it runs with the local provider only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { kubeconfigClient } from '../operator/src/kube/client.ts';
import { createLogger } from '../operator/src/log.ts';
import { operatorNamespace, prepareConnector } from './harness/connector.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { claimManifest } from './harness/claims.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { metricSample, scrapeMetrics } from './harness/metrics.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { collectWatch } from './harness/watch.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const ns = 'observed';
const claims = `/apis/platform.example.org/v1alpha1/namespaces/${ns}/kubernetesclusters`;

interface Claim {
  metadata: { name: string };
}

describe('proxy: metrics and request logs', () => {
  let connection: ProxiedConnection;
  const logLines: string[] = [];

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    const log = createLogger(
      { level: 'debug', name: 'proxy' },
      { write: (line: string) => logLines.push(line) },
    );
    connection = await connectWithProxy(
      app,
      'observed',
      { targetNamespace: 'team-observed', deletionPolicy: 'Delete' },
      { log, metricsAddress: '127.0.0.1:0' },
    );
    await kubectl(app, ['create', 'namespace', ns]);
    for (const name of ['a', 'b', 'c'])
      await kubectlOk(app, ['apply', '-f', '-'], JSON.stringify(claimManifest({ name, namespace: ns })));
  });

  afterAll(async () => {
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    await connection?.stop();
  });

  it('counts requests, upstream calls and open watches, and logs each request with its audit ID and no token', async () => {
    const scrape = () => scrapeMetrics(connection.proxy.metricsAddress);
    const before = await scrape();
    const client = kubeconfigClient(app.kubeconfigPath);
    try {
      // A list whose response headers we can read: kube-apiserver's Audit-Id, which the aggregator passes on.
      const listed = await client.stream('GET', claims);
      for await (const _ of listed.body) void _;
      const auditID = String(listed.headers['audit-id']);
      expect(auditID).toMatch(/^[0-9a-f-]{36}$/);

      const watch = await collectWatch<Claim>(client, claims, { allowWatchBookmarks: 'true' });
      const during = await scrape();
      watch.stop();
      await watch.ended;

      const labels = { verb: 'list', resource: 'kubernetesclusters', code: '200' };
      expect(metricSample(during, 'ctp_connector_proxy_requests_total', labels)).toBeGreaterThan(
        metricSample(before, 'ctp_connector_proxy_requests_total', labels),
      );
      expect(metricSample(during, 'ctp_connector_proxy_watches', { resource: 'kubernetesclusters' })).toBe(
        metricSample(before, 'ctp_connector_proxy_watches', { resource: 'kubernetesclusters' }) + 1,
      );
      expect(
        metricSample(during, 'ctp_connector_proxy_upstream_duration_seconds_count', {
          verb: 'list',
          code: '200',
        }),
      ).toBeGreaterThan(0);
      expect(
        metricSample(during, 'ctp_connector_proxy_request_duration_seconds_count', {
          verb: 'create',
          resource: 'kubernetesclusters',
        }),
      ).toBeGreaterThanOrEqual(3);
      expect(during).toMatch(/^ctp_connector_proxy_control_plane_available 1$/m);
      expect(during).toMatch(/^ctp_connector_proxy_claim_cache_synced 1$/m);

      const entries = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const logged = entries.find((e) => e.auditID === auditID);
      expect(logged).toMatchObject({
        verb: 'list',
        resource: 'kubernetesclusters',
        namespace: ns,
        code: 200,
      });
      expect(logged?.user).toEqual(expect.any(String));
      const tokenSecret = JSON.parse(
        await kubectlOk(app, [
          '-n',
          operatorNamespace,
          'get',
          'secret',
          ownedNames('observed').token,
          '-o',
          'json',
        ]),
      ) as { data: Record<string, string> };
      const kubeconfig = Buffer.from(tokenSecret.data.kubeconfig ?? '', 'base64').toString('utf8');
      const token = (load(kubeconfig) as { users: { user: { token?: string } }[] }).users[0]?.user.token;
      expect(token?.length).toBeGreaterThan(20);
      expect(logLines.some((l) => l.includes(token!))).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('keeps answering while more watches are open than its upstream request pool holds connections', async () => {
    // Three clients with 16 watches each, so that no client-side pool is what limits them.
    const clients = [1, 2, 3].map(() => kubeconfigClient(app.kubeconfigPath));
    const openWatches = async () =>
      metricSample(await scrapeMetrics(connection.proxy.metricsAddress), 'ctp_connector_proxy_watches', {
        resource: 'kubernetesclusters',
      });
    const before = await openWatches();
    const watches: Awaited<ReturnType<typeof collectWatch<Claim>>>[] = [];
    try {
      // Each watch holds one upstream connection for its lifetime; 48 is more than the 32 of the request pool.
      for (let i = 0; i < 48; i++) watches.push(await collectWatch<Claim>(clients[i % 3]!, claims, {}));
      expect(await openWatches()).toBe(before + 48);
      await kubectlOk(app, ['apply', '-f', '-'], JSON.stringify(claimManifest({ name: 'd', namespace: ns })));
      const got = JSON.parse(
        await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters', 'd', '-o', 'json']),
      ) as Claim;
      expect(got.metadata.name).toBe('d');
      // ... and every watch delivers the new claim.
      await Promise.all(
        watches.map((w) =>
          w.until((e) => e.type === 'ADDED' && e.object.metadata.name === 'd', 'claim d', 20_000),
        ),
      );
    } finally {
      for (const w of watches) w.stop();
      await Promise.all(watches.map((w) => w.ended));
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
