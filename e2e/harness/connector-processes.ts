// The operator and a proxy as managed processes of an environment (own process group, output in a log file,
// recorded for the watchdog): what the benchmark measures, since only a process of its own has an RSS and CPU time
// that /proc can report apart from the load generator's.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  impersonatingKubeconfig,
  mainScript,
  operatorNamespace,
  operatorProcessArgs,
  proxyServiceAccount,
} from './connector.ts';
import type { KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

export interface ProcessPlace {
  /** Directory for the log file. */
  dir: string;
  /** The environment's pid file (see environment.ts), so the watchdog ends the process with the clusters. */
  pidFile: string;
  /** Node flags before the script, e.g. ["--cpu-prof", "--cpu-prof-dir=/tmp/x"]. */
  nodeOptions?: string[];
  /** The entry point; default: the TypeScript source (see compiledMainScript for what the image runs). */
  script?: string;
}

/**
 * Compiles the connector as the image's build does (`npm run build`: tsc into dist/) and returns its entry point:
 * what the benchmark measures, since Node's type stripping of the sources costs memory the image does not spend.
 */
export async function compiledMainScript(): Promise<string> {
  await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.build.json')],
    { cwd: repoRoot },
  );
  return join(repoRoot, 'dist', 'operator', 'src', 'main.js');
}

/**
 * The Node options the image starts the connector with: the flags between node and the script in the Dockerfile's
 * ENTRYPOINT (exec form). The benchmark runs the compiled connector with them, so it measures what the image runs.
 */
export function imageNodeOptions(dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')): string[] {
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!entrypoint) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(entrypoint) as string[];
  return argv.slice(1, -1);
}

/** `ctp-connector operator` (no leader election) serving every connection's proxy on `localProxyPort`. */
export function startOperatorProcess(
  app: KubectlTarget & { dir: string },
  place: ProcessPlace & { name: string; localProxyPort: number; logLevel?: string },
): ManagedProcess {
  return startNode(
    place,
    place.name,
    operatorProcessArgs(app, {
      leaderElect: false,
      localProxyPort: place.localProxyPort,
      logLevel: place.logLevel,
    }),
  );
}

/**
 * `ctp-connector proxy` of one connection on loopback `port`, with its ServiceAccount's rights; `metricsAddress`
 * enables its plain-HTTP /metrics and /readyz, `args` are further flags.
 */
export function startProxyProcess(
  app: KubectlTarget & { dir: string },
  place: ProcessPlace & {
    name: string;
    connection: string;
    port: number;
    logLevel?: string;
    metricsAddress?: string;
    args?: string[];
  },
): ManagedProcess {
  return startNode(place, place.name, [
    'proxy',
    `--kubeconfig=${impersonatingKubeconfig(app, proxyServiceAccount(place.connection))}`,
    `--connection=${place.connection}`,
    `--namespace=${operatorNamespace}`,
    `--port=${place.port}`,
    '--host=127.0.0.1',
    `--metrics-bind-address=${place.metricsAddress ?? '0'}`,
    `--log-level=${place.logLevel ?? 'info'}`,
    // Tests and the benchmark stop proxies often; `args` may ask for the real delay (5 s).
    '--shutdown-delay-seconds=1',
    ...(place.args ?? []),
  ]);
}

/** Any Node script as a managed process. */
export function startNodeScript(
  place: ProcessPlace,
  name: string,
  script: string,
  args: string[],
): ManagedProcess {
  return startProcess({
    name,
    command: process.execPath,
    args: [...(place.nodeOptions ?? []), script, ...args],
    logFile: join(place.dir, `${name}.log`),
    pidFile: place.pidFile,
  });
}

function startNode(place: ProcessPlace, name: string, args: string[]): ManagedProcess {
  return startNodeScript(place, name, place.script ?? mainScript, args);
}
