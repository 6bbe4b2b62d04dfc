// A control-plane outage, end to end: its kube-apiserver stops for 30 s while the app cluster keeps being used.
// Reads are answered from the proxy's cache, writes fail fast with 503, the APIServices stay Available, namespaces
// still delete, the connection says what is wrong — and everything recovers by itself, with nothing lost.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../operator/src/log.ts';
import { credentialSecret, operatorNamespace, prepareConnector } from './harness/connector.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import type { Cluster } from './harness/cluster.ts';
import { startEnvironment, type Environment } from './harness/environment.ts';
import { claimManifest } from './harness/claims.ts';
import { installControlPlaneFixtures } from './harness/fixtures.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { scrapeMetrics } from './harness/metrics.ts';
import { controlPlaneCredential, crossplaneWanted, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const target = 'team-outage';
const ns = 'outage-shop';
const outageMs = 30_000;

function claim(name: string): string {
  return JSON.stringify(claimManifest({ name, namespace: ns, connectionSecret: `${name}-kubeconfig` }));
}

async function connectionCondition(): Promise<{ status: string; reason: string; message: string }> {
  const conditions = JSON.parse(
    await kubectlOk(app, ['get', 'ctpc', 'outage', '-o', 'jsonpath={.status.conditions}']),
  ) as { type: string; status: string; reason: string; message: string }[];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (!ready) throw new Error('no Ready condition');
  return ready;
}

async function apiServiceAvailable(): Promise<string> {
  return kubectlOk(app, [
    'get',
    'apiservice',
    'v1alpha1.platform.example.org',
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Available")].status}',
  ]);
}

describe('control-plane outage', () => {
  let env: Environment;
  let cp: Cluster;
  let connection: ProxiedConnection;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    // With Crossplane (unless CTP_E2E_CROSSPLANE=0): it stops and resumes with the API server, as in production.
    env = await startEnvironment({
      names: ['outage-cp'],
      handleSignals: false,
      crossplane: crossplaneWanted() ? ['outage-cp'] : [],
    });
    cp = env.cluster('outage-cp');
    await installControlPlaneFixtures(cp);
    await prepareConnector(app, controlPlaneCredential(sharedCluster('control-plane')));
    await credentialSecret(app, 'outage-control-plane', readFileSync(cp.kubeconfigPath, 'utf8'));
    connection = await connectWithProxy(
      app,
      'outage',
      {
        controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'outage-control-plane' } },
        targetNamespace: target,
        deletionPolicy: 'Delete',
      },
      { log: createLogger({ level: 'silent' }), metricsAddress: '127.0.0.1:0' },
    );
    await kubectl(app, ['create', 'namespace', ns]);
    await kubectl(app, ['create', 'namespace', 'outage-empty']);
    await waitFor(
      async () => ((await kubectl(app, ['apply', '-f', '-'], claim('before'))).code === 0 ? true : undefined),
      { timeoutMs: 60_000, what: 'the first claim through the new APIService' },
    );
    await kubectlOk(app, ['apply', '-f', '-'], claim('also-before'));
    // Where Crossplane runs, the outage starts once it made the claims Ready (and stopped writing to them).
    if (cp.crossplane)
      await kubectlOk(app, [
        '-n',
        ns,
        'wait',
        '--for=condition=Ready',
        '--timeout=60s',
        'kubernetescluster/before',
        'kubernetescluster/also-before',
      ]);
    // Reads outlive an outage once the proxy's claim cache has listed; the metric says when (a user can check it too).
    await waitFor(
      async () =>
        /^ctp_connector_proxy_claim_cache_synced 1$/m.test(
          await scrapeMetrics(connection.proxy.metricsAddress),
        ) || undefined,
      { timeoutMs: 30_000, what: 'the claim cache synced' },
    );
  });

  afterAll(async () => {
    await cp?.startAPIServer().catch(() => undefined);
    await connection?.stop();
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    await env?.stop();
    console.info(`outage timings (ms): ${JSON.stringify(timings)}`);
  });

  it('serves reads, refuses writes fast, keeps APIServices Available and namespaces deletable; then recovers', async () => {
    const before = await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters', '-o', 'yaml']);
    const stoppedAt = Date.now();
    await cp.stopAPIServer();

    // Reads: the same claims, as a Table (kubectl get), in full (-o yaml) and one by one.
    const table = await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters']);
    expect(table).toMatch(/^NAME\s+SYNCED\s+READY\s+CONNECTION-SECRET\s+AGE\n/);
    const ready = cp.crossplane ? 'True\\s+True\\s+' : '';
    expect(table).toMatch(new RegExp(`\\nalso-before\\s+${ready}also-before-kubeconfig\\s+\\d+s\\n`));
    expect(table).toMatch(new RegExp(`\\nbefore\\s+${ready}before-kubeconfig\\s+\\d+s\\n`));
    const during = await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters', '-o', 'yaml']);
    expect(during).toBe(before);
    const one = JSON.parse(
      await kubectlOk(app, ['-n', ns, 'get', 'kubernetescluster', 'before', '-o', 'json']),
    ) as { metadata: { name: string; namespace: string } };
    expect(one.metadata).toMatchObject({ name: 'before', namespace: ns });

    // Writes: a clear 503, at once.
    const writeStarted = Date.now();
    const write = await kubectl(app, ['apply', '-f', '-'], claim('during'));
    timings.refusedWrite = Date.now() - writeStarted;
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/ServiceUnavailable|the control plane is unreachable/);
    expect(timings.refusedWrite).toBeLessThan(10_000); // a hung write would take kube-apiserver's 60 s

    // The app cluster is not harmed: discovery works, the APIService stays Available, namespaces delete.
    expect(await apiServiceAvailable()).toBe('True');
    const resources = await kubectlOk(app, [
      'api-resources',
      '--api-group=platform.example.org',
      '-o',
      'name',
    ]);
    expect(resources).toMatch(/kubernetesclusters\.platform\.example\.org/);
    const deleteStarted = Date.now();
    await kubectlOk(app, ['delete', 'namespace', 'outage-empty', '--timeout=60s']);
    timings.emptyNamespaceDeletion = Date.now() - deleteStarted;

    // The connection says what is wrong.
    const down = await waitFor(
      async () => {
        const ready = await connectionCondition();
        return ready.status === 'False' ? ready : undefined;
      },
      { timeoutMs: outageMs, what: 'Ready=False during the outage' },
    );
    timings.notReadyAfter = Date.now() - stoppedAt;
    expect(down.reason).toBe('ControlPlaneUnreachable');
    expect(down.message).toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/);

    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + outageMs - Date.now())));
    expect(await apiServiceAvailable()).toBe('True');
    await cp.startAPIServer();
    const restartedAt = Date.now();

    await waitFor(async () => ((await connectionCondition()).status === 'True' ? true : undefined), {
      timeoutMs: 90_000,
      what: 'Ready=True after the outage',
    });
    timings.readyAgainAfter = Date.now() - restartedAt;
    await waitFor(
      async () => ((await kubectl(app, ['apply', '-f', '-'], claim('after'))).code === 0 ? true : undefined),
      { timeoutMs: 60_000, what: 'a write after the outage', intervalMs: 250 },
    );
    timings.writesAgainAfter = Date.now() - restartedAt;

    // Nothing lost, nothing duplicated.
    const names = await kubectlOk(app, ['-n', ns, 'get', 'kubernetesclusters', '-o', 'name']);
    expect(names.trim().split('\n').sort()).toEqual([
      'kubernetescluster.platform.example.org/after',
      'kubernetescluster.platform.example.org/also-before',
      'kubernetescluster.platform.example.org/before',
    ]);
    const stored = await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'name']);
    expect(stored.trim().split('\n')).toHaveLength(3);
    const metrics = await scrapeMetrics(connection.proxy.metricsAddress);
    expect(metrics).toMatch(/^ctp_connector_proxy_control_plane_available 1$/m);
  }, 240_000);
});
