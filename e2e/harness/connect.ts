// Connecting an app cluster in a test, the whole way: the connection applied, its proxy run as a process once the
// operator has issued the serving certificate (where a real cluster would start the proxy's pods; on kind the
// operator's Deployment does), and the connection Ready. Disconnecting deletes the connection and stops the proxy.
import type { RunningProxy } from '../../operator/src/proxy/server.ts';
import { ownedNames } from '../../operator/src/catalog/names.ts';
import type { Logger } from '../../operator/src/log.ts';
import type { RunningOperator } from '../../operator/src/operator.ts';
import { connectionManifest, operatorNamespace, startTestOperator, startTestProxy } from './connector.ts';
import { freePorts } from './ports.ts';
import { provider } from './provider.ts';
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
  options: { log?: Logger; metricsAddress?: string; reusePort?: boolean } = {},
): Promise<RunningProxy> {
  const serving = ownedNames(connection).serving;
  await waitFor(
    async () =>
      (await kubectl(app, ['-n', operatorNamespace, 'get', 'secret', serving])).code === 0 ? true : undefined,
    { timeoutMs: 60_000, what: `the serving certificate of ${connection}` },
  );
  return startTestProxy(app, connection, port, options.log, options);
}

/** Waits like `kubectl wait --for=condition=Ready`, and returns the connection's clusterID. */
export async function waitUntilReady(
  app: KubectlTarget,
  connection: string,
  timeoutSeconds = 90,
): Promise<string> {
  await kubectlOk(app, [
    'wait',
    '--for=condition=Ready',
    `--timeout=${timeoutSeconds}s`,
    `ctpc/${connection}`,
  ]);
  return kubectlOk(app, ['get', 'ctpc', connection, '-o', 'jsonpath={.status.clusterID}']);
}

/** Applies a connection through the credential Secret "control-plane" that prepareConnector installs (or spec's). */
function applyConnection(app: KubectlTarget, name: string, spec: Record<string, unknown>): Promise<string> {
  return kubectlOk(
    app,
    ['apply', '-f', '-'],
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } },
      ...spec,
    }),
  );
}

/** A connection up to Ready, its proxy run on `port` of an operator that already runs. */
export async function connectCluster(
  app: AppCluster,
  name: string,
  spec: Record<string, unknown>,
  port: number,
): Promise<Connected> {
  const started = Date.now();
  await applyConnection(app, name, spec);
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

export interface ProxiedConnection {
  name: string;
  clusterID: string;
  /** The local port the operator pointed the connection's Service at. */
  port: number;
  operator: RunningOperator;
  proxy: RunningProxy;
  /**
   * Deletes the connection (its deletionPolicy decides what happens to claims), then stops `proxy` and `operator`
   * (tests that replace them assign the replacements here).
   */
  stop(): Promise<void>;
}

/**
 * A Ready connection of the app cluster to `targetNamespace` in the control plane whose kubeconfig is in the Secret
 * "control-plane" (see prepareConnector), with the operator and the proxy running in this process.
 */
export async function connectWithProxy(
  app: KubectlTarget & { dir: string },
  name: string,
  spec: Record<string, unknown> & { targetNamespace: string },
  proxyOptions: {
    log?: Logger;
    metricsAddress?: string;
    reusePort?: boolean;
    /** The in-process operator's metrics and health endpoints (default: off). */
    operatorAddresses?: { metrics: string; health: string };
  } = {},
): Promise<ProxiedConnection> {
  const inProcess = provider() === 'local';
  const [port] = (await freePorts(1)) as [number];
  // kind: the operator Deployment that prepareConnector installed runs the connection and its proxy Deployment.
  let operator = inProcess
    ? await startTestOperator(app, port, undefined, proxyOptions.operatorAddresses)
    : undefined;
  await applyConnection(app, name, spec);
  let proxy = inProcess ? await startProxyWhenServing(app, name, port, proxyOptions) : undefined;
  const clusterID = await waitUntilReady(app, name, inProcess ? 90 : 300);
  const local = <T>(value: T | undefined, what: string): T => {
    if (!value) throw new Error(`the ${what} runs in the test process only with the local provider`);
    return value;
  };
  const connection: ProxiedConnection = {
    name,
    clusterID,
    port,
    get operator() {
      return local(operator, 'operator');
    },
    set operator(value) {
      operator = value;
    },
    get proxy() {
      return local(proxy, 'proxy');
    },
    set proxy(value) {
      proxy = value;
    },
    async stop() {
      // Whatever runs now: tests may have replaced the operator or the proxy.
      await kubectl(app, ['delete', 'ctpc', name, '--timeout=60s']);
      await proxy?.stop();
      await operator?.stop();
    },
  };
  return connection;
}
