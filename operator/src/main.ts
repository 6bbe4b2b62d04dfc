#!/usr/bin/env node
// ctp-connector: one binary for the operator, the proxy and the CLI.
import { parseArgs } from 'node:util';
import { startOperator } from './operator.ts';
import { createLogger } from './log.ts';

const usage = `usage: ctp-connector <command> [flags]

commands:
  operator   reconcile ControlPlaneConnections in this cluster
    --kubeconfig PATH                 default: in-cluster, or KUBECONFIG
    --namespace NS                    namespace of the operator and its objects (default: POD_NAMESPACE or ctp-system)
    --leader-elect=true|false         default true
    --metrics-bind-address ADDR       default :8080 ("0" disables)
    --health-probe-bind-address ADDR  default :8081
    --proxy-image IMAGE               default: PROXY_IMAGE
    --local-proxy-port PORT           development only: the proxy runs on the apiserver's host at this port
    --log-level LEVEL                 default info
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'operator': {
      const { values } = parseArgs({
        args: rest,
        options: {
          kubeconfig: { type: 'string' },
          namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'ctp-system' },
          'leader-elect': { type: 'string', default: 'true' },
          'metrics-bind-address': { type: 'string', default: ':8080' },
          'health-probe-bind-address': { type: 'string', default: ':8081' },
          'proxy-image': {
            type: 'string',
            default: process.env.PROXY_IMAGE ?? 'ghcr.io/ctp-connector/ctp-connector:latest',
          },
          'local-proxy-port': { type: 'string' },
          'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
        },
      });
      const log = createLogger({ level: values['log-level'], name: 'operator' });
      const localPort = values['local-proxy-port'];
      const operator = await startOperator({
        kubeconfig: values.kubeconfig,
        settings: {
          namespace: values.namespace,
          image: values['proxy-image'],
          ...(localPort ? { localProxyPort: Number(localPort) } : {}),
        },
        leaderElect: values['leader-elect'] !== 'false',
        metricsAddress: values['metrics-bind-address'],
        healthAddress: values['health-probe-bind-address'],
        log,
      });
      const shutdown = (signal: string) => {
        log.info({ signal }, 'shutting down');
        void operator.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      await operator.done;
      // Reaching here without a signal means leadership was lost: exit non-zero so the pod restarts.
      process.exit(1);
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

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ctp-connector: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
