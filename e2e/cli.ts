// Local clusters from the command line.
//   node e2e/cli.ts dev  [--dir .dev]   app + control-plane clusters (with Crossplane) with sample claim APIs, until Ctrl-C
//   node e2e/cli.ts up   [--dir D] NAME...   just the named clusters, until Ctrl-C
//   node e2e/cli.ts down [--dir .dev]   stop what `dev`/`up` started in that directory and remove its state
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import pino from 'pino';
import { createLogger } from '../operator/src/log.ts';
import { prepareConnector, startTestOperator } from './harness/connector.ts';
import { startProxyWhenServing } from './harness/connector-cli.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEnvironment, stateFile, pidFileName, type Environment } from './harness/environment.ts';
import { testFunctionName } from './harness/crossplane.ts';
import { installControlPlaneFixtures, fixturesDir } from './harness/fixtures.ts';
import { groupAlive, killGroup, recordedPids } from './harness/processes.ts';
import { waitFor } from './harness/wait.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { dir: { type: 'string', default: '.dev' } },
});
const [command, ...rest] = positionals;
const dir = resolve(values.dir);
const envDir = join(dir, 'clusters');

async function main(): Promise<void> {
  switch (command) {
    case 'dev':
      return dev();
    case 'up':
      if (rest.length === 0) throw new Error('up: name at least one cluster');
      return up(rest);
    case 'down':
      return down();
    default:
      throw new Error(`usage: cli.ts dev | up NAME... | down [--dir DIR] (got ${command ?? 'nothing'})`);
  }
}

async function dev(): Promise<void> {
  const env = await start(['app', 'control-plane'], ['control-plane']);
  const app = env.cluster('app');
  const controlPlane = env.cluster('control-plane');
  await installControlPlaneFixtures(controlPlane);
  const appKubeconfig = join(dir, 'app.kubeconfig');
  const cpKubeconfig = join(dir, 'control-plane.kubeconfig');
  copyFileSync(app.kubeconfigPath, appKubeconfig);
  copyFileSync(controlPlane.kubeconfigPath, cpKubeconfig);

  // The connector, as `kubectl apply -k config/default` installs it, with the operator and the proxy running
  // here as processes (no kubelet): the proxy listens on the port the operator's ExternalName Service names.
  console.log('installing the connector and connecting the app cluster ...');
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const log = (name: string) =>
    createLogger({ level: 'info', name }, pino.destination({ dest: join(logs, `${name}.log`), sync: false }));
  await prepareConnector(app, readFileSync(controlPlane.kubeconfigPath, 'utf8'));
  const [proxyPort] = (await freePorts(1)) as [number];
  const operator = await startTestOperator(app, proxyPort, log('operator'), {
    metrics: '127.0.0.1:0',
    health: '0',
  });
  const sample = join(repoRoot, 'config', 'samples', 'controlplaneconnection-kubeconfig.yaml');
  await kubectlOk(app, ['apply', '-f', sample]);
  const connection = 'control-plane';
  const proxy = await startProxyWhenServing(app, connection, proxyPort, 60_000, log('proxy'));
  await kubectlOk(app, ['wait', '--for=condition=Ready', '--timeout=120s', `ctpc/${connection}`]);

  const rel = (p: string) => relative(process.cwd(), p) || p;
  const cpLogs = controlPlane.dir;
  const k = `.tools/bin/kubectl --kubeconfig ${rel(appKubeconfig)}`;
  console.log(`
Local clusters are running with the connector (Ctrl-C stops everything; \`make dev-down\` from another terminal too).

  app            ${app.server}    kubeconfig: ${rel(appKubeconfig)}
  control-plane  ${controlPlane.server}    kubeconfig: ${rel(cpKubeconfig)}
  logs           ${rel(logs)}/operator.log, ${rel(logs)}/proxy.log, ${rel(cpLogs)}/crossplane.log, ${rel(cpLogs)}/${testFunctionName}.log

The app cluster is connected to the control plane (${rel(sample)}):
  ${k} get controlplaneconnections
  ${k} api-resources --categories=claim
  ${k} get kubernetesclusters -A

The control plane runs Crossplane; its claim APIs come from the sample XRDs in ${rel(join(fixturesDir, 'control-plane'))},
composed by the test function (${rel(join(fixturesDir, 'function'))}) through ${rel(join(fixturesDir, 'crossplane'))}:
  .tools/bin/kubectl --kubeconfig ${rel(cpKubeconfig)} get compositeresourcedefinitions,compositions,functions

Create the seed's claim in the app cluster; it is stored in the control plane's namespace team-1 and goes Ready
within seconds, with its connection Secret delivered next to it:
  ${k} apply -f ${rel(join(fixturesDir, 'samples', 'kubernetescluster-claim.yaml'))}
  ${k} get kubernetesclusters -A
  ${k} -n default get secret my-cluster-kubeconfig
  .tools/bin/kubectl --kubeconfig ${rel(cpKubeconfig)} -n team-1 get kubernetesclusters,configmaps,secrets --show-labels
`);
  await waitForever(env, () => {
    void proxy.stop();
    void operator.stop();
    rmSync(appKubeconfig, { force: true });
    rmSync(cpKubeconfig, { force: true });
  });
}

async function up(names: string[]): Promise<void> {
  const env = await start(names);
  for (const c of Object.values(env.clusters)) console.log(`${c.name}\t${c.server}\t${c.kubeconfigPath}`);
  await waitForever(env, () => undefined);
}

async function start(names: string[], crossplane: string[] = []): Promise<Environment> {
  if (existsSync(join(envDir, stateFile))) {
    throw new Error(
      `${envDir} holds a running environment: run \`make dev-down\` (or cli.ts down --dir ${dir}) first`,
    );
  }
  rmSync(envDir, { recursive: true, force: true });
  console.log(`starting clusters ${names.join(', ')} in ${envDir} ...`);
  const started = Date.now();
  const env = await startEnvironment({ names, dir: envDir, crossplane });
  console.log(`clusters ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return env;
}

/** Keeps the process alive until SIGINT/SIGTERM; the environment stops itself on those signals. */
function waitForever(env: Environment, cleanup: () => void): Promise<void> {
  const onSignal = () => {
    console.log('\nstopping clusters ...');
    cleanup();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const keepAlive = setInterval(() => undefined, 1 << 30);
  void env;
  return new Promise<void>(() => keepAlive);
}

async function down(): Promise<void> {
  const path = join(envDir, stateFile);
  if (!existsSync(path) && !existsSync(join(envDir, pidFileName))) {
    console.log(`nothing running in ${envDir}`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const state = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { pid?: number }) : {};
  // Ask the owning harness to stop first: it stops the clusters in order and removes its directory.
  if (state.pid !== undefined) {
    try {
      process.kill(state.pid, 'SIGTERM');
    } catch {
      // already gone; the leftovers are handled below
    }
  }
  const pids = recordedPids(join(envDir, pidFileName));
  await waitFor(() => (pids.some(groupAlive) ? undefined : true), {
    timeoutMs: 20_000,
    what: 'clusters to stop',
  }).catch(() => pids.forEach((p) => killGroup(p, 'SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
  console.log(`stopped ${pids.length} processes and removed ${dir}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
