// A connection whose proxy replicas run as processes of their own, the way pods run them: so a test can tell whether
// a request ended the proxy (the process is gone), read its memory from /proc, signal it (SIGTERM for a rolling
// restart) and read its exit code. The operator runs in the test process, pointing the connection's Service at the
// replicas' shared loopback port.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownedNames } from '../../operator/src/catalog/names.ts';
import type { RunningOperator } from '../../operator/src/operator.ts';
import { connectionManifest, operatorNamespace, startTestOperator } from './connector.ts';
import { startProxyProcess } from './connector-processes.ts';
import { waitUntilReady } from './connect.ts';
import { pidFileName } from './environment.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { freePorts } from './ports.ts';
import type { ManagedProcess } from './processes.ts';
import { sharedEnvironment } from './shared.ts';
import { waitFor } from './wait.ts';

export interface ProxyReplica {
  process: ManagedProcess;
  /** host:port of its plain-HTTP /metrics and /readyz. */
  metricsAddress: string;
  /** True until the process has exited. */
  alive(): boolean;
  /** Its exit code (or signal name) once it has exited. */
  exitCode(): number | string | undefined;
  /** Resident memory in bytes (VmRSS of /proc/<pid>/status). */
  rss(): number;
}

export interface ReplicaOptions {
  /** Further `ctp-connector proxy` flags, e.g. ["--reuse-port", "--max-watches=5"]. */
  args?: string[];
}

export interface ProcessConnection {
  name: string;
  clusterID: string;
  /** The loopback port every replica listens on. */
  port: number;
  operator: RunningOperator;
  /** Starts one more replica on the connection's port and resolves once it logs "proxy serving". */
  startReplica(options?: ReplicaOptions): Promise<ProxyReplica>;
  /** Deletes the connection (its deletionPolicy applies), then stops every replica still running and the operator. */
  stop(): Promise<void>;
}

/**
 * A Ready connection to `spec.targetNamespace` of the control plane whose kubeconfig is in the Secret
 * `credentialSecret` (default "control-plane", see prepareConnector), with one proxy replica running as a process.
 */
export async function connectWithProxyProcess(
  app: KubectlTarget & { dir: string },
  name: string,
  spec: Record<string, unknown> & { targetNamespace: string },
  replicaOptions: ReplicaOptions = {},
): Promise<ProcessConnection & { first: ProxyReplica }> {
  const [port] = (await freePorts(1)) as [number];
  const env = sharedEnvironment();
  const dir = join(env.dir, `proxy-${name}`);
  mkdirSync(dir, { recursive: true });
  const pidFile = join(env.dir, pidFileName);
  const operator = await startTestOperator(app, port);
  const replicas: ProxyReplica[] = [];
  let started = 0;

  const startReplica = async (options: ReplicaOptions = {}): Promise<ProxyReplica> => {
    const [metricsPort] = (await freePorts(1)) as [number];
    const metricsAddress = `127.0.0.1:${metricsPort}`;
    const process = startProxyProcess(app, {
      dir,
      pidFile,
      name: `proxy-${name}-${++started}`,
      connection: name,
      port,
      metricsAddress,
      args: options.args,
    });
    let exit: number | string | undefined;
    void process.exited.then((code) => (exit = code));
    const replica: ProxyReplica = {
      process,
      metricsAddress,
      alive: () => exit === undefined,
      exitCode: () => exit,
      rss: () => {
        const status = readFileSync(`/proc/${process.pid}/status`, 'utf8');
        const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
        if (kib === undefined) throw new Error(`no VmRSS for pid ${process.pid}`);
        return Number(kib) * 1024;
      },
    };
    replicas.push(replica);
    await waitFor(
      () => {
        if (exit !== undefined)
          throw new Error(`${process.name} exited (${exit}) before serving:\n${process.logTail()}`);
        return readFileSync(process.logFile, 'utf8').includes('"proxy serving"') ? true : undefined;
      },
      { timeoutMs: 60_000, what: `${process.name} to serve (log: ${process.logFile})` },
    ).catch((err: unknown) => {
      // An exit is final: report it rather than the timeout.
      throw exit !== undefined ? new Error(`${process.name} exited (${exit}):\n${process.logTail()}`) : err;
    });
    return replica;
  };

  await kubectlOk(
    app,
    ['apply', '-f', '-'],
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } },
      ...spec,
    }),
  );
  const stop = async () => {
    await kubectl(app, ['delete', 'ctpc', name, '--timeout=60s']);
    for (const r of replicas) await r.process.stop();
    await operator.stop();
  };
  try {
    // The proxy reads its serving certificate at start-up: wait for the operator to issue it.
    await waitFor(
      async () =>
        (await kubectl(app, ['-n', operatorNamespace, 'get', 'secret', ownedNames(name).serving])).code === 0
          ? true
          : undefined,
      { timeoutMs: 60_000, what: `the serving certificate of ${name}` },
    );
    const first = await startReplica(replicaOptions);
    const clusterID = await waitUntilReady(app, name);
    return { name, clusterID, port, operator, startReplica, stop, first };
  } catch (err) {
    await stop();
    throw err;
  }
}
