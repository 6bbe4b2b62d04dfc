// A set of independent local clusters that start and stop together, in one directory that the environment owns.
// A watchdog ends the processes and removes the directory if the harness dies without cleaning up; `stop()` (also
// run on SIGINT/SIGTERM) does the same in order.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from './cluster.ts';
import { killGroup, startWatchdog } from './processes.ts';

export interface Environment {
  dir: string;
  clusters: Record<string, Cluster>;
  cluster(name: string): Cluster;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  names: string[];
  /** Directory to own; created if missing and removed on stop. Default: a fresh temporary directory. */
  dir?: string;
  /** Stop the clusters when this process receives SIGINT or SIGTERM. Default true. */
  handleSignals?: boolean;
  /** Names of the clusters that run Crossplane and the test composition function (cluster.ts). Default none. */
  crossplane?: string[];
}

/** Name of the file in the environment directory that describes it (read by `down` and tests). */
export const stateFile = 'environment.json';
/** Name of the file in the environment directory that lists every process group started. */
export const pidFileName = 'pids';

export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ctp-e2e-'));
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, pidFileName);
  writeFileSync(pidFile, '');
  const watchdog = startWatchdog(process.pid, pidFile, dir);

  const clusters: Record<string, Cluster> = {};
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.all(Object.values(clusters).map((c) => c.stop()));
      killGroup(watchdog, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().then(() => process.kill(process.pid, signal));
  };
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    // Sequential start: two cores, and a starting kube-apiserver is CPU-bound.
    for (const name of options.names) {
      const clusterDir = join(dir, name);
      mkdirSync(clusterDir, { recursive: true });
      clusters[name] = await startCluster({
        name,
        dir: clusterDir,
        pidFile,
        crossplane: options.crossplane?.includes(name) ?? false,
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  writeFileSync(
    join(dir, stateFile),
    JSON.stringify(
      {
        pid: process.pid,
        watchdog,
        clusters: Object.fromEntries(
          Object.values(clusters).map((c) => [
            c.name,
            {
              server: c.server,
              kubeconfig: c.kubeconfigPath,
              ports: c.ports,
              ...(c.crossplane && {
                crossplane: { ports: c.crossplane.ports, functionEndpoint: c.crossplane.functionEndpoint },
              }),
              pids: c.processes.map((p) => p.pid),
            },
          ]),
        ),
      },
      null,
      2,
    ),
  );

  return {
    dir,
    clusters,
    cluster(name: string) {
      const c = clusters[name];
      if (!c) throw new Error(`no cluster named ${name} (have: ${Object.keys(clusters).join(', ')})`);
      return c;
    },
    stop,
  };
}
