// Flux's own controllers (source-controller, kustomize-controller, helm-controller, built by `make tools`) as local
// processes against a cluster, the way flux2's manifests run them in flux-system but on loopback: KUBECONFIG instead
// of an in-cluster ServiceAccount, leader election off, metrics, health and artifact ports from the allocator, logs
// in the cluster's directory. Their CRDs come from the same module versions (`make tools` keeps them beside each
// binary).
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { binaryPath } from './binaries.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
import { freePorts } from './ports.ts';
import { startProcess, waitWhileRunning, type ManagedProcess } from './processes.ts';

export const fluxNamespace = 'flux-system';
export const fluxControllers = ['source-controller', 'kustomize-controller', 'helm-controller'] as const;
export type FluxController = (typeof fluxControllers)[number];

export interface Flux {
  processes: ManagedProcess[];
  /** Where source-controller serves artifacts (http://127.0.0.1:<port>). */
  artifactServer: string;
  ports: Record<FluxController, { metrics: number; health: number }>;
  /** The controller's log so far. */
  log(controller: FluxController): string;
  stop(): Promise<void>;
}

export interface FluxOptions {
  /** Names the processes and their logs. */
  name: string;
  /** Directory for logs and source-controller's artifact storage. */
  dir: string;
  /** The environment's pid file, so the watchdog ends the controllers with the clusters. */
  pidFile: string;
  /** Controllers to run. Default: all three. */
  controllers?: readonly FluxController[];
  /** How long a Kustomization or HelmRelease waits before it looks at a dependency again. Flux's default is 30s. */
  requeueDependency?: string;
  timeoutMs?: number;
}

/** The CRDs of the controllers in use: `make tools` keeps each one's config/crd/bases beside its binary. */
export function fluxCRDFiles(controllers: readonly FluxController[] = fluxControllers): string[] {
  return controllers.flatMap((c) => {
    const dir = join(dirname(realpathSync(binaryPath(c))), 'crds');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f));
  });
}

/** Installs the Flux CRDs into the cluster and waits until they are served; creates flux-system. */
export async function installFluxCRDs(
  target: KubectlTarget,
  controllers: readonly FluxController[] = fluxControllers,
): Promise<void> {
  const files = fluxCRDFiles(controllers);
  await kubectlOk(target, ['apply', '--server-side', ...files.flatMap((f) => ['-f', f])]);
  await kubectlOk(target, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...files.flatMap((f) => ['-f', f]),
  ]);
  if ((await kubectl(target, ['get', 'namespace', fluxNamespace])).code !== 0)
    await kubectlOk(target, ['create', 'namespace', fluxNamespace]);
}

/** Starts the controllers against `target` and waits until each one's /readyz answers. */
export async function startFlux(target: KubectlTarget, options: FluxOptions): Promise<Flux> {
  const controllers = options.controllers ?? fluxControllers;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const allocated = await freePorts(controllers.length * 2 + 1);
  const storagePort = allocated.pop()!;
  const ports = {} as Flux['ports'];
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    for (const [i, controller] of controllers.entries()) {
      const port = { metrics: allocated[2 * i]!, health: allocated[2 * i + 1]! };
      ports[controller] = port;
      const args = [
        `--metrics-addr=127.0.0.1:${port.metrics}`,
        `--health-addr=127.0.0.1:${port.health}`,
        '--enable-leader-election=false',
        '--log-level=debug',
        '--log-encoding=json',
      ];
      const storage = join(options.dir, `${options.name}-artifacts`);
      if (controller === 'source-controller') {
        mkdirSync(storage, { recursive: true });
        args.push(
          `--storage-path=${storage}`,
          `--storage-addr=127.0.0.1:${storagePort}`,
          // The address written into artifact URLs, which kustomize-controller and helm-controller download.
          `--storage-adv-addr=127.0.0.1:${storagePort}`,
        );
      } else args.push(`--requeue-dependency=${options.requeueDependency ?? '30s'}`);
      const p = startProcess({
        name: `${options.name}-${controller}`,
        command: binaryPath(controller),
        args,
        logFile: join(options.dir, `${options.name}-${controller}.log`),
        pidFile: options.pidFile,
        // Flux controllers have no --kubeconfig flag; controller-runtime reads KUBECONFIG. RUNTIME_NAMESPACE is
        // the namespace the manifests run them in (it scopes a few defaults, like the SOPS secrets).
        env: { ...process.env, KUBECONFIG: target.kubeconfigPath, RUNTIME_NAMESPACE: fluxNamespace },
      });
      processes.push(p);
    }
    await Promise.all(
      processes.map((p, i) =>
        waitWhileRunning(
          p,
          async () => {
            const res = await fetch(`http://127.0.0.1:${ports[controllers[i]!].health}/readyz`);
            return res.ok ? true : undefined;
          },
          { timeoutMs, what: `${p.name} /readyz` },
        ),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    processes,
    artifactServer: `http://127.0.0.1:${storagePort}`,
    ports,
    log(controller) {
      const p = processes.find((q) => q.name.endsWith(controller));
      return p ? p.logTail(Number.MAX_SAFE_INTEGER) : '';
    },
    stop,
  };
}

/**
 * What `flux reconcile <kind> <name>` does: the annotation reconcile.fluxcd.io/requestedAt with a new value, which
 * makes the controller reconcile now instead of at the next interval. Resolves with the value written, which the
 * object's status.lastHandledReconcileAt reports once the controller has handled it.
 */
export async function requestReconcile(
  target: KubectlTarget,
  resource: string,
  name: string,
  namespace = fluxNamespace,
): Promise<string> {
  const at = new Date().toISOString();
  await kubectlOk(target, [
    '-n',
    namespace,
    'annotate',
    '--overwrite',
    resource,
    name,
    `reconcile.fluxcd.io/requestedAt=${at}`,
  ]);
  return at;
}
