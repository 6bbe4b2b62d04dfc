#!/usr/bin/env node
// ctp-connector: one binary for the operator, the proxy and the CLI.
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { cliUsage, exitCodesUsage, isCliCommand } from './cli/usage.ts';
import { count, durationMs } from './flags.ts';
// Each command loads its own modules only (the operator has no use for the proxy's, the proxy none for the CLI's):
// what a process loads it keeps in memory for its lifetime.

const usage = `usage: ctp-connector <command> [flags]

commands that run in a cluster:
  operator   reconcile ControlPlaneConnections in this cluster
    --kubeconfig PATH                 default: in-cluster, or KUBECONFIG
    --namespace NS                    namespace of the operator and its objects (default: POD_NAMESPACE or ctp-system)
    --leader-elect=true|false         default true
    --leader-elect-lease-duration D   how long a standby waits on a silent leader (default 15s)
    --leader-elect-renew-deadline D   the leader stops this long after its last renewal (default 10s)
    --leader-elect-retry-period D     between attempts to acquire or renew (default 2s)
    --metrics-bind-address ADDR       default :8080 ("0" disables)
    --health-probe-bind-address ADDR  default :8081
    --proxy-image IMAGE               default: PROXY_IMAGE
    --proxy-allowed-images LIST       other images spec.proxy.image may name: references, or prefixes ending in *
    --proxy-cluster-role NAME         ClusterRole bound to every proxy (default ctp-connector-proxy)
    --proxy-secrets-cluster-role NAME ClusterRole bound per namespace for connection Secret copies
                                      (default ctp-connector-proxy-secrets)
    --local-proxy-port PORT           development only: the proxy runs on the apiserver's host at this port
    --log-level LEVEL                 default info
  proxy      serve one connection's claim APIs to this cluster's aggregation layer
    --connection NAME                 the ControlPlaneConnection (required)
    --namespace NS                    where its Secrets and catalog live (default: POD_NAMESPACE or ctp-system)
    --port PORT                       HTTPS port (default 8443)
    --host ADDR                       listen address (default 0.0.0.0)
    --metrics-bind-address ADDR       plain-HTTP /metrics (default :8080, "0" disables)
    --max-watches N                   open watches in total (default 2000; more get 429)
    --max-watches-per-user N          open watches of one user (default 500)
    --shutdown-delay-seconds N        after SIGTERM: not ready, serving on for N s (default 5)
    --shutdown-timeout-seconds N      then: N s for requests in flight (default 25)
    --reuse-port                      share the port with other proxies on the host (SO_REUSEPORT)
    --log-level LEVEL                 default info
    --kubeconfig PATH                 default: in-cluster, or KUBECONFIG

commands for people (and scripts):
${cliUsage}

${exitCodesUsage}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (isCliCommand(command)) {
    const { runCli } = await import('./cli/cli.ts');
    process.exitCode = await runCli(command, rest);
    return;
  }
  switch (command) {
    case 'operator': {
      const [{ startOperator }, { createLogger }, { proxyClusterRole, proxySecretsClusterRole }] =
        await Promise.all([import('./operator.ts'), import('./log.ts'), import('./connection/workload.ts')]);
      const { values } = parseArgs({
        args: rest,
        options: {
          kubeconfig: { type: 'string' },
          namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'ctp-system' },
          'leader-elect': { type: 'string', default: 'true' },
          'leader-elect-lease-duration': { type: 'string', default: '15s' },
          'leader-elect-renew-deadline': { type: 'string', default: '10s' },
          'leader-elect-retry-period': { type: 'string', default: '2s' },
          'metrics-bind-address': { type: 'string', default: ':8080' },
          'health-probe-bind-address': { type: 'string', default: ':8081' },
          'proxy-image': {
            type: 'string',
            default: process.env.PROXY_IMAGE ?? 'ghcr.io/ctp-connector/ctp-connector:latest',
          },
          'proxy-allowed-images': { type: 'string', default: '' },
          'proxy-cluster-role': { type: 'string', default: proxyClusterRole },
          'proxy-secrets-cluster-role': { type: 'string', default: proxySecretsClusterRole },
          'local-proxy-port': { type: 'string' },
          'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
        },
      });
      const log = createLogger({ level: values['log-level'], name: 'operator' });
      const localPort = values['local-proxy-port'];
      const signalled = stopOnSignals(log);
      const operator = await startOperator({
        kubeconfig: values.kubeconfig,
        settings: {
          namespace: values.namespace,
          image: values['proxy-image'],
          allowedProxyImages: values['proxy-allowed-images']
            .split(',')
            .map((image) => image.trim())
            .filter(Boolean),
          proxyClusterRole: values['proxy-cluster-role'],
          proxySecretsClusterRole: values['proxy-secrets-cluster-role'],
          ...(localPort ? { localProxyPort: Number(localPort) } : {}),
        },
        leaderElect: values['leader-elect'] !== 'false',
        leaseDurationMs: durationMs('--leader-elect-lease-duration', values['leader-elect-lease-duration']),
        renewDeadlineMs: durationMs('--leader-elect-renew-deadline', values['leader-elect-renew-deadline']),
        retryPeriodMs: durationMs('--leader-elect-retry-period', values['leader-elect-retry-period']),
        metricsAddress: values['metrics-bind-address'],
        healthAddress: values['health-probe-bind-address'],
        log,
      });
      signalled.stopWith(() => operator.stop());
      await operator.done;
      // Done without a signal means leadership was lost: exit non-zero so the pod restarts and campaigns again.
      process.exit(signalled.received ? 0 : 1);
      break;
    }
    case 'proxy': {
      const [{ startProxy }, { createLogger }, { installProcessGuards }, { kubeconfigClient }] =
        await Promise.all([
          import('./proxy/server.ts'),
          import('./log.ts'),
          import('./proxy/recovery.ts'),
          import('./kube/client.ts'),
        ]);
      const { values } = parseArgs({
        args: rest,
        options: {
          kubeconfig: { type: 'string' },
          connection: { type: 'string' },
          namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'ctp-system' },
          port: { type: 'string', default: '8443' },
          host: { type: 'string', default: '0.0.0.0' },
          'metrics-bind-address': { type: 'string', default: ':8080' },
          'max-watches': { type: 'string', default: '2000' },
          'max-watches-per-user': { type: 'string', default: '500' },
          'shutdown-delay-seconds': { type: 'string', default: '5' },
          'shutdown-timeout-seconds': { type: 'string', default: '25' },
          'reuse-port': { type: 'boolean', default: false },
          'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
        },
      });
      if (!values.connection) throw new Error('proxy: --connection is required');
      const log = createLogger({ level: values['log-level'], name: 'proxy' });
      installProcessGuards(log);
      const signalled = stopOnSignals(log);
      const proxy = await startProxy({
        app: kubeconfigClient(values.kubeconfig, 'ctp-connector-proxy'),
        connection: values.connection,
        namespace: values.namespace,
        port: Number(values.port),
        host: values.host,
        metricsAddress: values['metrics-bind-address'],
        reusePort: values['reuse-port'],
        maxWatches: count('--max-watches', values['max-watches']),
        maxWatchesPerUser: count('--max-watches-per-user', values['max-watches-per-user']),
        shutdownDelayMs: count('--shutdown-delay-seconds', values['shutdown-delay-seconds'], 0) * 1000,
        shutdownDrainMs: count('--shutdown-timeout-seconds', values['shutdown-timeout-seconds'], 0) * 1000,
        log,
      });
      signalled.stopWith(() => proxy.stop());
      break;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      break;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${usage}`);
      process.exit(2);
  }
}

/**
 * SIGTERM/SIGINT: stop gracefully (drain, release the lease), then exit 0. Installed before start-up, which can wait
 * for the API server for long: in a container Node is PID 1, and PID 1 ignores a SIGTERM it has no handler for, so
 * the pod would hang until SIGKILL. A signal that arrives before `stopWith` exits at once (nothing is served yet).
 */
function stopOnSignals(log: Logger): { received: boolean; stopWith(stop: () => Promise<void>): void } {
  let stop: (() => Promise<void>) | undefined;
  const state = {
    received: false,
    stopWith(fn: () => Promise<void>) {
      stop = fn;
    },
  };
  const shutdown = (signal: string) => {
    state.received = true;
    log.info({ signal }, 'shutting down');
    if (!stop) process.exit(0);
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return state;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ctp-connector: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
