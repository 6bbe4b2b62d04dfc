// Command-line parsing of the CLI commands: argv in, typed options out, or a usage error. Pure.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { dnsLabel, dnsSubdomain } from '../api/connection.ts';
import { usageError } from './exit.ts';
import type { CliCommandName } from './usage.ts';

/** Where the app cluster is: the user's kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster) unless given. */
export interface AppCluster {
  kubeconfig?: string;
  context?: string;
}

export type Output = 'text' | 'json';
export type DeletionPolicy = 'Migrate' | 'Detach' | 'Delete';
export type CredentialsMode = 'Scoped' | 'Passthrough';

export interface ConnectOptions {
  controlPlaneKubeconfig: string;
  targetNamespace: string;
  name: string;
  namespace: string;
  clusterID?: string;
  credentialsMode?: CredentialsMode;
  deletionPolicy?: DeletionPolicy;
  app: AppCluster;
  timeoutMs: number;
  output: Output;
}

export interface DisconnectOptions {
  name?: string;
  policy?: DeletionPolicy;
  app: AppCluster;
  timeoutMs: number;
  output: Output;
}

export interface StatusOptions {
  name?: string;
  app: AppCluster;
  output: Output;
}

export interface ImportOptions {
  name?: string;
  /** Act; without it only the report of what would happen. */
  apply: boolean;
  app: AppCluster;
  timeoutMs: number;
  output: Output;
}

export interface GitopsSecretOptions {
  tool: 'argocd' | 'flux';
  controlPlaneKubeconfig: string;
  name: string;
  namespace?: string;
  output: 'yaml' | 'json';
}

export type CliCommand =
  | { command: 'connect'; options: ConnectOptions }
  | { command: 'disconnect'; options: DisconnectOptions }
  | { command: 'status'; options: StatusOptions }
  | { command: 'import'; options: ImportOptions }
  | { command: 'gitops-secret'; options: GitopsSecretOptions }
  | { command: 'help'; topic: string };

const appFlags = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];
const outputFlag = { output: { type: 'string', short: 'o' } } as const satisfies ParseArgsConfig['options'];
const timeoutFlag = { timeout: { type: 'string' } } as const satisfies ParseArgsConfig['options'];
const helpFlag = { help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];

const defaultTimeoutMs = 5 * 60_000;
export const defaultOperatorNamespace = 'ctp-system';

export function parseCliArgs(command: CliCommandName, argv: string[]): CliCommand {
  switch (command) {
    case 'connect': {
      const { values, positionals } = parse(argv, {
        ...appFlags,
        ...outputFlag,
        ...timeoutFlag,
        ...helpFlag,
        name: { type: 'string' },
        namespace: { type: 'string' },
        'cluster-id': { type: 'string' },
        'credentials-mode': { type: 'string' },
        'deletion-policy': { type: 'string' },
      });
      if (values.help) return { command: 'help', topic: command };
      const [controlPlaneKubeconfig, targetNamespace] = exactly(
        positionals,
        '<control-plane-kubeconfig> <targetNamespace>',
      ) as [string, string];
      const name = values.name ?? targetNamespace;
      return {
        command,
        options: {
          controlPlaneKubeconfig,
          targetNamespace: valid('targetNamespace', targetNamespace, dnsLabel),
          name: valid('--name', name, dnsSubdomain),
          namespace: valid('--namespace', values.namespace ?? defaultOperatorNamespace, dnsLabel),
          clusterID: values['cluster-id'],
          credentialsMode: oneOf('--credentials-mode', values['credentials-mode'], ['Scoped', 'Passthrough']),
          deletionPolicy: oneOf('--deletion-policy', values['deletion-policy'], [
            'Migrate',
            'Detach',
            'Delete',
          ]),
          app: app(values),
          timeoutMs: timeout(values.timeout),
          output: oneOf('--output', values.output, ['text', 'json']) ?? 'text',
        },
      };
    }
    case 'disconnect': {
      const { values, positionals } = parse(argv, {
        ...appFlags,
        ...outputFlag,
        ...timeoutFlag,
        ...helpFlag,
        policy: { type: 'string' },
      });
      if (values.help) return { command: 'help', topic: command };
      return {
        command,
        options: {
          name: optionalName(positionals),
          policy: oneOf('--policy', values.policy, ['Migrate', 'Detach', 'Delete']),
          app: app(values),
          timeoutMs: timeout(values.timeout),
          output: oneOf('--output', values.output, ['text', 'json']) ?? 'text',
        },
      };
    }
    case 'status': {
      const { values, positionals } = parse(argv, { ...appFlags, ...outputFlag, ...helpFlag });
      if (values.help) return { command: 'help', topic: command };
      return {
        command,
        options: {
          name: optionalName(positionals),
          app: app(values),
          output: oneOf('--output', values.output, ['text', 'json']) ?? 'text',
        },
      };
    }
    case 'import': {
      const { values, positionals } = parse(argv, {
        ...appFlags,
        ...outputFlag,
        ...timeoutFlag,
        ...helpFlag,
        apply: { type: 'boolean' },
      });
      if (values.help) return { command: 'help', topic: command };
      return {
        command,
        options: {
          name: optionalName(positionals),
          apply: values.apply ?? false,
          app: app(values),
          timeoutMs: timeout(values.timeout),
          output: oneOf('--output', values.output, ['text', 'json']) ?? 'text',
        },
      };
    }
    case 'gitops-secret': {
      const { values, positionals } = parse(argv, {
        ...outputFlag,
        ...helpFlag,
        for: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
      });
      if (values.help) return { command: 'help', topic: command };
      const tool = oneOf('--for', values.for, ['argocd', 'flux']);
      if (!tool) throw usageError('--for argocd|flux is required');
      const [controlPlaneKubeconfig] = exactly(positionals, '<control-plane-kubeconfig>');
      return {
        command,
        options: {
          tool,
          controlPlaneKubeconfig,
          name: valid('--name', values.name ?? 'control-plane', dnsSubdomain),
          namespace:
            values.namespace === undefined ? undefined : valid('--namespace', values.namespace, dnsLabel),
          output: oneOf('--output', values.output, ['yaml', 'json']) ?? 'yaml',
        },
      };
    }
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node:util reports unknown flags and missing values as TypeErrors with a readable message.
    throw usageError((err as Error).message);
  }
}

function exactly(positionals: string[], expected: string): [string, ...string[]] {
  const count = expected.split(' ').length;
  if (positionals.length !== count) {
    throw usageError(
      `expected ${expected}, got ${positionals.length ? positionals.map((p) => `"${p}"`).join(' ') : 'nothing'}`,
    );
  }
  return positionals as [string, ...string[]];
}

function optionalName(positionals: string[]): string | undefined {
  if (positionals.length > 1) throw usageError('expected at most one connection name');
  return positionals[0] === undefined ? undefined : valid('name', positionals[0], dnsSubdomain);
}

function valid(what: string, value: string, schema: typeof dnsLabel): string {
  const result = schema.safeParse(value);
  if (!result.success)
    throw usageError(`${what} "${value}": ${result.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw usageError(`${flag} "${value}": must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function app(values: { kubeconfig?: string; context?: string }): AppCluster {
  return {
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
  };
}

function timeout(value: string | undefined): number {
  if (value === undefined) return defaultTimeoutMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw usageError(`--timeout "${value}": expected a duration such as 90s, 5m or 1m30s`);
  return ms;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("90s", "1m30s", "500ms", "2h"); a bare number means seconds. */
export function parseDuration(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^(\d+(ms|s|m|h))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h)/g))
    total += Number(amount) * durationUnits[unit!]!;
  return total;
}
