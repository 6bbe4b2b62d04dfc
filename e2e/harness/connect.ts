// Connecting an app cluster in a test, the whole way: the connection applied, its proxy run as a process once the
// operator has issued the serving certificate (where a real cluster would start the proxy's pods), and the
// connection Ready. Disconnecting deletes the connection and stops the proxy.
import type { RunningProxy } from '../../operator/src/proxy/server.ts';
import { ownedNames } from '../../operator/src/connection/names.ts';
import { connectionManifest, operatorNamespace, startTestProxy } from './connector.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { waitFor } from './wait.ts';

type AppCluster = KubectlTarget & { dir: string };

export interface Connected {
  name: string;
  proxy: RunningProxy;
  clusterID: string;
  /** From applying the connection to Ready=True. */
  readyMs: number;
}

/** Runs the proxy of `connection` on the operator's local port as soon as its serving certificate exists. */
export async function startProxyWhenServing(
  app: AppCluster,
  connection: string,
  port: number,
): Promise<RunningProxy> {
  const serving = ownedNames(connection).serving;
  await waitFor(
    async () =>
      (await kubectl(app, ['-n', operatorNamespace, 'get', 'secret', serving])).code === 0 ? true : undefined,
    { timeoutMs: 60_000, what: `the serving certificate of ${connection}` },
  );
  return startTestProxy(app, connection, port);
}

/** Waits like `kubectl wait --for=condition=Ready`, and returns the connection's clusterID. */
export async function waitUntilReady(app: KubectlTarget, connection: string): Promise<string> {
  await kubectlOk(app, ['wait', '--for=condition=Ready', '--timeout=90s', `ctpc/${connection}`]);
  return kubectlOk(app, ['get', 'ctpc', connection, '-o', 'jsonpath={.status.clusterID}']);
}

/** A connection through the credential Secret "control-plane" that prepareConnector installs, up to Ready. */
export async function connectCluster(
  app: AppCluster,
  name: string,
  spec: Record<string, unknown>,
  port: number,
): Promise<Connected> {
  const started = Date.now();
  await kubectlOk(
    app,
    ['apply', '-f', '-'],
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } },
      ...spec,
    }),
  );
  const proxy = await startProxyWhenServing(app, name, port);
  try {
    const clusterID = await waitUntilReady(app, name);
    return { name, proxy, clusterID, readyMs: Date.now() - started };
  } catch (err) {
    await proxy.stop();
    throw err;
  }
}

/**
 * Deletes the connection (its finalizer applies the deletion policy), then stops its proxy. Returns how long the
 * deletion took.
 */
export async function disconnect(app: KubectlTarget, connected: Connected | undefined): Promise<number> {
  if (!connected) return 0;
  const started = Date.now();
  try {
    await kubectlOk(app, ['delete', 'ctpc', connected.name, '--ignore-not-found', '--timeout=90s']);
    return Date.now() - started;
  } finally {
    await connected.proxy.stop();
  }
}
