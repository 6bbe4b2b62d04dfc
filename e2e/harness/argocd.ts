// Argo CD in a local cluster, as its install manifests run it but as processes on loopback: Redis, the repo server
// (plain gRPC: --disable-tls, with --client-ca-path "" since it refuses a client CA without TLS) and the
// application controller, from the binary `make tools` builds (one `argocd` binary that acts as the component it is
// named after). The cluster gets what the install puts in the namespace `argocd`: the Application and AppProject
// CRDs of the built version, argocd-cm (the caller's, e.g. the product's config/gitops/argocd), argocd-secret,
// argocd-cmd-params-cm with the parameters the processes are started with, the `default` AppProject (argocd-server
// creates it; no server runs here), and the controller's ServiceAccount with the install's ClusterRole, whose rights
// the controller uses through impersonation. The destination `https://kubernetes.default.svc` is the cluster itself:
// outside a pod, ARGOCD_FAKE_IN_CLUSTER makes Argo CD read it from KUBECONFIG, as Argo CD's own local development
// setup does. Other clusters are added as cluster Secrets (`ctp-connector gitops-secret --for argocd`).
//
// The controller's metrics and health port listens on every interface: Argo CD v3.6.1 has no flag for its host.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { binaryPath } from './binaries.ts';
import { impersonatingKubeconfig } from './connector.ts';
import { httpStatus } from './crossplane.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { freePorts } from './ports.ts';
import { startProcess, waitWhileRunning, type ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';

export const argoCDNamespace = 'argocd';
const controllerServiceAccount = 'argocd-application-controller';

export interface ArgoCD {
  namespace: string;
  /** Redis, the repo server and the application controller, in start order; they stop with the cluster. */
  processes: ManagedProcess[];
  ports: { redis: number; repoServer: number; repoServerMetrics: number; controllerMetrics: number };
  /** The application controller's log (text format). */
  controllerLog: string;
  /** Milliseconds from the first object applied until the controller reports healthy. */
  startMs: number;
}

export interface ArgoCDOptions {
  /** The cluster Argo CD runs in (and manages as `https://kubernetes.default.svc`). */
  cluster: KubectlTarget & {
    name: string;
    dir: string;
    /** Argo CD's processes are added here, so they stop with the cluster (and before its kube-apiserver). */
    processes: ManagedProcess[];
  };
  /** The environment's pid file, for its watchdog. */
  pidFile: string;
  /** The argocd-cm ConfigMap to apply (YAML or JSON, e.g. `kubectl kustomize config/gitops/argocd`). */
  argocdCM: string;
  timeoutMs?: number;
}

/** The directory of the built Argo CD: its CRDs and git-verify-wrapper.sh are kept beside the binary. */
function argoCDDir(): string {
  return dirname(realpathSync(binaryPath('argocd-application-controller')));
}

export async function startArgoCD(options: ArgoCDOptions): Promise<ArgoCD> {
  const { cluster, pidFile } = options;
  const timeoutMs = options.timeoutMs ?? 90_000;
  const started = Date.now();
  const dir = join(cluster.dir, 'argocd');
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  for (const d of [home, tmp, join(dir, 'tls'), join(dir, 'ssh')]) mkdirSync(d, { recursive: true });
  const [redis, repoServer, repoServerMetrics, controllerMetrics] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const redisPassword = randomBytes(18).toString('base64url');
  const repoServerAddress = `127.0.0.1:${repoServer}`;
  const redisAddress = `127.0.0.1:${redis}`;

  await installArgoCDObjects(cluster, options.argocdCM, {
    'redis.server': redisAddress,
    'repo.server': repoServerAddress,
    'reposerver.disable.tls': 'true',
    'controller.repo.server.plaintext': 'true',
    'reposerver.enable.git.submodule': 'false',
    // Argo CD 3 keeps each resource's health out of the Application's status unless asked; the tests read it there.
    'controller.resource.health.persist': 'true',
  });

  // What the install's pods share: no user or machine configuration, their own temporary directory.
  const env: NodeJS.ProcessEnv = {
    PATH: [argoCDDir(), dirname(binaryPath('kustomize')), process.env.PATH].join(':'),
    HOME: home,
    TMPDIR: tmp,
    GIT_CONFIG_NOSYSTEM: '1',
    REDIS_PASSWORD: redisPassword,
    ARGOCD_GPG_ENABLED: 'false',
    ARGOCD_TLS_DATA_PATH: join(dir, 'tls'),
    ARGOCD_SSH_DATA_PATH: join(dir, 'ssh'),
    ARGOCD_ASK_PASS_SOCK: join(dir, 'askpass.sock'),
  };
  const processes: ManagedProcess[] = [];
  const start = (name: string, command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const p = startProcess({
      name: `${cluster.name}/${name}`,
      command,
      args,
      logFile: join(cluster.dir, `${name}.log`),
      pidFile,
      env: { ...env, ...extraEnv },
    });
    processes.push(p);
    cluster.processes.push(p);
    return p;
  };
  const healthy = (p: ManagedProcess, port: number) =>
    waitWhileRunning(
      p,
      async () => ((await httpStatus(`http://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined),
      { timeoutMs, what: `${p.name} /healthz` },
    );

  try {
    const redisProcess = start('argocd-redis', 'redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(redis),
      '--requirepass',
      redisPassword,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]);
    await waitWhileRunning(
      redisProcess,
      () =>
        readFileSync(redisProcess.logFile, 'utf8').includes('Ready to accept connections') ? true : undefined,
      { timeoutMs, what: `${redisProcess.name} ready` },
    );

    const repo = start('argocd-repo-server', binaryPath('argocd-repo-server'), [
      '--disable-tls',
      '--client-ca-path=',
      '--address=127.0.0.1',
      `--port=${repoServer}`,
      '--metrics-address=127.0.0.1',
      `--metrics-port=${repoServerMetrics}`,
      `--redis=${redisAddress}`,
      '--logformat=text',
    ]);
    await healthy(repo, repoServerMetrics);

    const kubeconfig = impersonatingKubeconfig(
      cluster,
      `system:serviceaccount:${argoCDNamespace}:${controllerServiceAccount}`,
    );
    const controller = start(
      'argocd-application-controller',
      binaryPath('argocd-application-controller'),
      [
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${argoCDNamespace}`,
        `--repo-server=${repoServerAddress}`,
        '--repo-server-plaintext',
        `--redis=${redisAddress}`,
        `--metrics-port=${controllerMetrics}`,
        '--persist-resource-health',
        '--logformat=text',
      ],
      { ARGOCD_FAKE_IN_CLUSTER: 'true', KUBECONFIG: kubeconfig },
    );
    await healthy(controller, controllerMetrics);
  } catch (err) {
    for (const p of [...processes].reverse()) await p.stop(2_000);
    throw err;
  }
  return {
    namespace: argoCDNamespace,
    processes,
    ports: { redis, repoServer, repoServerMetrics, controllerMetrics },
    controllerLog: join(cluster.dir, 'argocd-application-controller.log'),
    startMs: Date.now() - started,
  };
}

/** The namespace, CRDs, settings, default project and the controller's identity, as the install has them. */
async function installArgoCDObjects(
  cluster: KubectlTarget & { dir: string },
  argocdCM: string,
  params: Record<string, string>,
): Promise<void> {
  const partOf = { 'app.kubernetes.io/part-of': 'argocd' };
  await kubectlOk(cluster, ['create', 'namespace', argoCDNamespace]);
  const crds = join(argoCDDir(), 'crds');
  await kubectlOk(cluster, ['apply', '--server-side', '-f', crds]);
  // `kubectl wait` fails at once on a CRD that has no conditions yet: retried.
  const established = ['wait', '--for=condition=Established', '--timeout=30s'];
  await waitFor(
    async () =>
      (
        await kubectl(cluster, [
          ...established,
          'crd/applications.argoproj.io',
          'crd/appprojects.argoproj.io',
        ])
      ).code === 0
        ? true
        : undefined,
    { timeoutMs: 60_000, what: 'the Argo CD CRDs Established' },
  );
  await kubectlOk(cluster, ['apply', '-n', argoCDNamespace, '-f', '-'], argocdCM);
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cmd-params-cm', namespace: argoCDNamespace, labels: partOf },
      data: params,
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: argoCDNamespace, labels: partOf },
      stringData: { 'server.secretkey': randomBytes(32).toString('base64') },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'default', namespace: argoCDNamespace },
      spec: {
        sourceRepos: ['*'],
        destinations: [{ server: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: controllerServiceAccount, namespace: argoCDNamespace, labels: partOf },
    },
    // The install's ClusterRole of the application controller: everything, everywhere.
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: controllerServiceAccount, labels: partOf },
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: controllerServiceAccount, labels: partOf },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: controllerServiceAccount },
      subjects: [{ kind: 'ServiceAccount', name: controllerServiceAccount, namespace: argoCDNamespace }],
    },
  ];
  await kubectlOk(
    cluster,
    ['apply', '--server-side', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
}

// ---- Reading what Argo CD reports ----

export interface ResourceStatus {
  group?: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: 'Synced' | 'OutOfSync' | 'Unknown';
  health?: { status: string; message?: string };
  syncWave?: number;
}

export interface SyncHistoryEntry {
  id: number;
  revision: string;
  deployStartedAt?: string;
  deployedAt: string;
  initiatedBy?: { username?: string; automated?: boolean };
}

export interface Application {
  metadata: {
    name: string;
    generation?: number;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: Record<string, unknown>;
  status?: {
    sync?: { status: string; revision?: string };
    health?: { status: string; message?: string };
    resources?: ResourceStatus[];
    history?: SyncHistoryEntry[];
    conditions?: { type: string; message: string }[];
    reconciledAt?: string;
    operationState?: {
      phase: string;
      message?: string;
      startedAt: string;
      finishedAt?: string;
      operation: { initiatedBy?: { automated?: boolean }; sync?: { revision?: string } };
      syncResult?: {
        revision: string;
        resources?: { kind: string; name: string; status: string; message?: string; syncPhase?: string }[];
      };
    };
  };
}

/** The Application as the controller last wrote it, or undefined when there is none. */
export async function getApplication(target: KubectlTarget, name: string): Promise<Application | undefined> {
  const r = await kubectl(target, [
    '-n',
    argoCDNamespace,
    'get',
    'applications.argoproj.io',
    name,
    '-o',
    'json',
  ]);
  if (r.code !== 0) {
    if (r.stderr.includes('NotFound')) return undefined;
    throw new Error(`kubectl get application ${name}: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout) as Application;
}

/** Waits until the Application satisfies `ready` (returning a value), with its status in the timeout's message. */
export async function waitForApplication<T>(
  target: KubectlTarget,
  name: string,
  ready: (app: Application) => T | undefined,
  what: string,
  timeoutMs = 180_000,
): Promise<T> {
  return waitFor(
    async () => {
      const app = await getApplication(target, name);
      if (!app) throw new Error(`Application ${name} does not exist`);
      const value = ready(app);
      if (value === undefined) throw new Error(`status: ${JSON.stringify(summary(app))}`);
      return value;
    },
    { timeoutMs, intervalMs: 500, what: `Application ${name}: ${what}` },
  );
}

/** What a timeout message needs of an Application's status. */
export function summary(app: Application): Record<string, unknown> {
  const s = app.status;
  return {
    sync: s?.sync?.status,
    revision: s?.sync?.revision,
    health: s?.health,
    operation: s?.operationState && {
      phase: s.operationState.phase,
      message: s.operationState.message,
    },
    conditions: s?.conditions,
    resources: s?.resources?.map(
      (r) =>
        `${r.kind} ${r.namespace ?? ''}/${r.name}: ${r.status} ${r.health?.status ?? ''} ${r.health?.message ?? ''}`,
    ),
  };
}

/**
 * Asks the controller to compare the Application with Git and the cluster now (what a Git webhook or `argocd app get
 * --refresh` does): `hard` also regenerates the manifests instead of using the repo server's cache.
 */
export function refresh(
  target: KubectlTarget,
  name: string,
  kind: 'normal' | 'hard' = 'normal',
): Promise<string> {
  return kubectlOk(target, [
    '-n',
    argoCDNamespace,
    'annotate',
    '--overwrite',
    'applications.argoproj.io',
    name,
    `argocd.argoproj.io/refresh=${kind}`,
  ]);
}

/** The Application's last sync is done, for `revision`, with the outcome `phase`. */
export function syncedAt(app: Application, revision: string): string | undefined {
  const op = app.status?.operationState;
  if (op?.phase !== 'Succeeded' || op.syncResult?.revision !== revision) return undefined;
  return op.finishedAt;
}

/**
 * How many automated syncs of `revision` the controller started for the Application, Git-driven and self-heal alike
 * (from its log: self-heal syncs, which sync only the resources out of sync, leave no entry in status.history).
 */
export function automatedSyncs(argo: ArgoCD, application: string, revision: string): number {
  const started = `msg="Initiated automated sync to '${revision}'"`;
  return (
    readFileSync(argo.controllerLog, 'utf8')
      .split('\n')
      // Each start is logged twice, as a log line and as the Event it records (reason=OperationStarted): count those.
      .filter((line) => line.includes(started) && line.includes(` application=${application} `))
      .filter((line) => line.includes(' reason=OperationStarted ')).length
  );
}

/** The resource status Argo CD reports for one object of the Application. */
export function resourceStatus(
  app: Application,
  kind: string,
  name: string,
  namespace?: string,
): ResourceStatus | undefined {
  return app.status?.resources?.find(
    (r) => r.kind === kind && r.name === name && (namespace === undefined || r.namespace === namespace),
  );
}

/** Deletes the Application with Argo CD's resources finalizer, so Argo CD deletes its resources first. */
export async function deleteWithResources(
  target: KubectlTarget,
  name: string,
  ...deleteArgs: string[]
): Promise<void> {
  const finalizers = ['resources-finalizer.argocd.argoproj.io'];
  await kubectlOk(target, [
    ...['-n', argoCDNamespace, 'patch', 'applications.argoproj.io', name, '--type=merge'],
    ...['-p', JSON.stringify({ metadata: { finalizers } })],
  ]);
  await kubectlOk(target, ['-n', argoCDNamespace, 'delete', 'applications.argoproj.io', name, ...deleteArgs]);
}
