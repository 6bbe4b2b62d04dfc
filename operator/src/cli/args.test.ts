import { describe, expect, it } from '@jest/globals';
import { parseCliArgs, parseDuration, type CliCommand } from './args.ts';
import { CliError, exitCodes } from './exit.ts';

function usageMessage(run: () => CliCommand): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(exitCodes.usage);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseCliArgs', () => {
  it('connect: positionals and defaults (name = targetNamespace, operator namespace ctp-system, 5m, text)', () => {
    expect(parseCliArgs('connect', ['cp.kubeconfig', 'team-a'])).toEqual({
      command: 'connect',
      options: {
        controlPlaneKubeconfig: 'cp.kubeconfig',
        targetNamespace: 'team-a',
        name: 'team-a',
        namespace: 'ctp-system',
        clusterID: undefined,
        credentialsMode: undefined,
        deletionPolicy: undefined,
        app: {},
        timeoutMs: 300_000,
        output: 'text',
      },
    });
  });

  it('connect: every flag, in any position', () => {
    const parsed = parseCliArgs('connect', [
      '--name=prod.eu',
      'cp.kubeconfig',
      '--namespace',
      'connector',
      '--cluster-id',
      'eu-1',
      '--credentials-mode',
      'Passthrough',
      '--deletion-policy=Delete',
      '--kubeconfig',
      '/tmp/app',
      '--context',
      'kind-app',
      '--timeout',
      '1m30s',
      '-o',
      'json',
      'team-a',
    ]);
    expect(parsed).toEqual({
      command: 'connect',
      options: {
        controlPlaneKubeconfig: 'cp.kubeconfig',
        targetNamespace: 'team-a',
        name: 'prod.eu',
        namespace: 'connector',
        clusterID: 'eu-1',
        credentialsMode: 'Passthrough',
        deletionPolicy: 'Delete',
        app: { kubeconfig: '/tmp/app', context: 'kind-app' },
        timeoutMs: 90_000,
        output: 'json',
      },
    });
  });

  it('disconnect and status: the name is optional', () => {
    expect(parseCliArgs('disconnect', [])).toMatchObject({ options: { name: undefined, policy: undefined } });
    expect(parseCliArgs('disconnect', ['team-a', '--policy', 'Detach'])).toMatchObject({
      options: { name: 'team-a', policy: 'Detach' },
    });
    expect(parseCliArgs('status', ['-o', 'json'])).toEqual({
      command: 'status',
      options: { name: undefined, app: {}, output: 'json' },
    });
  });

  it('gitops-secret: --for is required; name and namespace default per tool later', () => {
    expect(parseCliArgs('gitops-secret', ['--for', 'flux', 'cp.kubeconfig'])).toEqual({
      command: 'gitops-secret',
      options: {
        tool: 'flux',
        controlPlaneKubeconfig: 'cp.kubeconfig',
        name: 'control-plane',
        namespace: undefined,
        output: 'yaml',
      },
    });
    expect(usageMessage(() => parseCliArgs('gitops-secret', ['cp.kubeconfig']))).toBe(
      '--for argocd|flux is required',
    );
  });

  it('import: a dry run unless --apply, the connection name optional', () => {
    expect(parseCliArgs('import', [])).toEqual({
      command: 'import',
      options: { name: undefined, apply: false, app: {}, timeoutMs: 300_000, output: 'text' },
    });
    expect(parseCliArgs('import', ['team-a', '--apply', '--timeout', '2m', '-o', 'json'])).toEqual({
      command: 'import',
      options: { name: 'team-a', apply: true, app: {}, timeoutMs: 120_000, output: 'json' },
    });
  });

  it('--help wins over everything else', () => {
    expect(parseCliArgs('connect', ['--help'])).toEqual({ command: 'help', topic: 'connect' });
    expect(parseCliArgs('status', ['-h', 'x', 'y'])).toEqual({ command: 'help', topic: 'status' });
  });

  it.each([
    [
      ['cp.kubeconfig'],
      'connect',
      'expected <control-plane-kubeconfig> <targetNamespace>, got "cp.kubeconfig"',
    ],
    [['a', 'b', 'c'], 'connect', 'expected <control-plane-kubeconfig> <targetNamespace>, got "a" "b" "c"'],
    [['cp', 'Team_A'], 'connect', 'targetNamespace "Team_A": must be a DNS-1123 label'],
    [['cp', 'team', '--name', 'UPPER'], 'connect', '--name "UPPER": must be a DNS-1123 subdomain'],
    [['cp', 'team', '--deletion-policy', 'Orphan'], 'connect', 'must be one of Migrate, Detach, Delete'],
    [['cp', 'team', '--timeout', 'soon'], 'connect', '--timeout "soon": expected a duration'],
    [['cp', 'team', '--timeout', '0s'], 'connect', '--timeout "0s": expected a duration'],
    [['cp', 'team', '-o', 'yaml'], 'connect', '--output "yaml": must be one of text, json'],
    [['cp', 'team', '--bogus'], 'connect', "Unknown option '--bogus'"],
    [['a', 'b'], 'disconnect', 'expected at most one connection name'],
    [['--policy', 'migrate'], 'disconnect', '--policy "migrate": must be one of Migrate, Detach, Delete'],
    [['--name'], 'status', "Unknown option '--name'"],
    [['--apply=yes'], 'import', "Option '--apply' does not take an argument"],
  ] as const)('rejects %j for %s', (argv, command, message) => {
    expect(usageMessage(() => parseCliArgs(command, [...argv]))).toContain(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h2m3s', 3_723_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5 m', '1d', '-1s', 'm5'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});
