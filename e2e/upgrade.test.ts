// Upgrading the connector while it is used: a client keeps creating, reading and watching claims while the operator
// restarts and both proxy replicas (two processes sharing the Service's port) are replaced one after the other.
// Requests may only fail with a retriable status, the watch resumes from its resourceVersion without losing an
// event, and the control plane ends up with exactly the claims the client created.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isNotFound, KubeApiError, type KubeClient, kubeconfigClient } from '../operator/src/kube/client.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { prepareConnector, startTestOperator, startTestProxy } from './harness/connector.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { collectWatch, type CollectedWatch } from './harness/watch.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-upgrade';
const ns = 'upgrade-shop';
const claims = `/apis/platform.example.org/v1alpha1/namespaces/${ns}/kubernetesclusters`;
const retriable = new Set([429, 500, 502, 503, 504]);

interface Claim {
  metadata: { name: string; resourceVersion: string };
}

/** A client that behaves like a controller: retries retriable failures of the same request, counts the rest. */
function loadClient(client: KubeClient) {
  const failures: { what: string; code: number; message: string }[] = [];
  const created: string[] = [];
  const attempt = async <T>(what: string, call: () => Promise<T>): Promise<T | 'conflict'> => {
    for (let i = 0; ; i++) {
      try {
        return await call();
      } catch (err) {
        const code = err instanceof KubeApiError ? err.code : 0;
        failures.push({ what, code, message: String(err) });
        // A create that was applied although its answer was lost comes back as AlreadyExists: that is success.
        if (code === 409 && what.startsWith('create') && i > 0) return 'conflict';
        if (!retriable.has(code) || i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  let stopped = false;
  const run = async () => {
    for (let n = 0; !stopped; n++) {
      const name = `load-${n}`;
      await attempt(`create ${name}`, () =>
        client.request('POST', claims, {
          body: {
            apiVersion: 'platform.example.org/v1alpha1',
            kind: 'KubernetesCluster',
            metadata: { name },
            spec: { id: name },
          },
        }),
      );
      created.push(name);
      await attempt(`get ${name}`, () => client.request('GET', `${claims}/${name}`));
      await attempt('list', () => client.request('GET', claims));
    }
  };
  return {
    failures,
    created,
    running: run(),
    stop() {
      stopped = true;
    },
  };
}

/** A watch that resumes from the last resourceVersion it saw whenever the server ends it, like a reflector. */
function resumingWatch(client: KubeClient, resourceVersion: string) {
  const seen: { type: string; name: string }[] = [];
  let lastRV = resourceVersion;
  let restarts = 0;
  let stopped = false;
  let current: CollectedWatch<Claim> | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        current = await collectWatch<Claim>(client, claims, {
          resourceVersion: lastRV,
          allowWatchBookmarks: 'true',
        });
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 410)
          throw new Error(`watch expired at ${lastRV}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      let read = 0;
      const drain = () => {
        for (; read < current!.events.length; read++) {
          const event = current!.events[read]!;
          if (event.type === 'ERROR') throw new Error(`watch error: ${JSON.stringify(event.object)}`);
          lastRV = event.object.metadata.resourceVersion;
          if (event.type !== 'BOOKMARK') seen.push({ type: event.type, name: event.object.metadata.name });
        }
      };
      const ended = current.ended.then(() => 'ended' as const);
      while ((await Promise.race([ended, new Promise((r) => setTimeout(r, 50, 'tick'))])) === 'tick') drain();
      drain();
      if (!stopped) restarts++;
    }
  })();
  return {
    seen,
    restarts: () => restarts,
    async stop() {
      stopped = true;
      current?.stop();
      await loop;
    },
  };
}

describe('upgrade without disruption', () => {
  let connection: ProxiedConnection;
  let second: RunningProxy;
  let client: KubeClient;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    connection = await connectWithProxy(
      app,
      'upgrade',
      { targetNamespace: target, deletionPolicy: 'Delete' },
      { reusePort: true },
    );
    // The second replica behind the same Service.
    second = await startTestProxy(app, 'upgrade', connection.port, undefined, { reusePort: true });
    await kubectl(app, ['create', 'namespace', ns]);
    client = kubeconfigClient(app.kubeconfigPath);
    await waitForAPI(client);
  });

  afterAll(async () => {
    await second?.stop();
    await connection?.stop();
    await client?.close();
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
  });

  it('restarts the operator and replaces both proxies while claims are created, read and watched', async () => {
    const list = await client.request<{ metadata: { resourceVersion: string } }>('GET', claims);
    const watch = resumingWatch(client, list.metadata.resourceVersion);
    const load = loadClient(client);
    const [original, firstSecond] = [connection.proxy, second];
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    await pause(1_500);
    await connection.operator.stop();
    connection.operator = await startTestOperator(app, connection.port);
    await pause(1_500);
    // Rolling: a new replica joins, then an old one drains and leaves; twice.
    const replacement = await startTestProxy(app, 'upgrade', connection.port, undefined, { reusePort: true });
    await connection.proxy.stop();
    connection.proxy = replacement;
    await pause(1_500);
    const replacement2 = await startTestProxy(app, 'upgrade', connection.port, undefined, {
      reusePort: true,
    });
    await second.stop();
    second = replacement2;
    await pause(1_500);

    load.stop();
    await load.running;
    // Let the watch catch up with the last create, then stop it.
    const last = load.created.at(-1);
    for (let i = 0; i < 100 && !watch.seen.some((e) => e.name === last); i++) await pause(100);
    await watch.stop();

    expect(load.created.length).toBeGreaterThan(5);
    const served = await Promise.all([original, firstSecond, replacement, replacement2].map(servedRequests));
    // Traffic moved: the old replicas served until they left, the new ones afterwards, and the watch (on an old
    // replica, both of which left) was cut and resumed.
    expect(served[0]! + served[1]!).toBeGreaterThan(0);
    expect(served[2]! + served[3]!).toBeGreaterThan(0);
    expect(watch.restarts()).toBeGreaterThanOrEqual(1);
    expect(load.failures.filter((f) => !retriable.has(f.code) && f.code !== 409)).toEqual([]);
    const added = watch.seen.filter((e) => e.type === 'ADDED').map((e) => e.name);
    expect([...added].sort()).toEqual([...load.created].sort()); // each exactly once: none lost, none twice
    const stored = await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'name']);
    expect(stored.trim().split('\n')).toHaveLength(load.created.length);
    console.info(
      `upgrade: ${load.created.length} claims created, ${load.failures.length} retried failures ` +
        `(${JSON.stringify(load.failures.map((f) => f.code))}), watch resumed ${watch.restarts()} times, ` +
        `requests per replica (old, old, new, new): ${JSON.stringify(served)}`,
    );
  });
});

async function servedRequests(proxy: RunningProxy): Promise<number> {
  const metric = await proxy.metrics.registry.getSingleMetric('ctp_connector_proxy_requests_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.resource === 'kubernetesclusters')
    .reduce((sum, v) => sum + v.value, 0);
}

/** The new APIService is routed once a list answers (kube-apiserver needs a moment to see it Available). */
async function waitForAPI(client: KubeClient): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await client.request('GET', claims);
      return;
    } catch (err) {
      if (i > 300 || !(isNotFound(err) || (err instanceof KubeApiError && err.code === 503))) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
