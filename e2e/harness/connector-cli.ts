// `ctp-connector <cli command>` as users run it (a child process of the real entry point), and the pieces the CLI
// tests need around it: a proxy that starts once the operator has issued its serving certificate, and
// control-plane kubeconfigs with other credentials.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { ownedNames } from '../../operator/src/catalog/names.ts';
import type { Logger } from '../../operator/src/log.ts';
import type { RunningProxy } from '../../operator/src/proxy/server.ts';
import { operatorNamespace, startTestProxy } from './connector.ts';
import { kubectl, kubectlOk, runCaptured, type KubectlResult, type KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';
import { waitFor } from './wait.ts';

export interface CliResult extends KubectlResult {
  ms: number;
}

/** Runs `node operator/src/main.ts <args>`; KUBECONFIG is only what `env` says, never the test runner's. */
export async function ctpConnector(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = Date.now();
  const { KUBECONFIG: _ignored, ...inherited } = process.env;
  const result = await runCaptured(
    process.execPath,
    [join(repoRoot, 'operator', 'src', 'main.ts'), ...args],
    {
      env: { ...inherited, HOME: '/nonexistent', ...env },
    },
  );
  return { ...result, ms: Date.now() - started };
}

/** Starts the connection's proxy in this process as soon as the operator has written its serving Secret. */
export async function startProxyWhenServing(
  app: KubectlTarget & { dir: string },
  connection: string,
  port: number,
  timeoutMs = 90_000,
  log?: Logger,
): Promise<RunningProxy> {
  await waitFor(
    async () =>
      (await kubectl(app, ['-n', operatorNamespace, 'get', 'secret', ownedNames(connection).serving]))
        .code === 0
        ? true
        : undefined,
    { timeoutMs, what: `the serving certificate of ${connection}` },
  );
  return startTestProxy(app, connection, port, log);
}

interface KubeconfigDocument {
  clusters: { cluster: Record<string, unknown> }[];
  users: { user: Record<string, unknown> }[];
}

/**
 * A copy of a cluster's kubeconfig with its user (and optionally its server) replaced, written next to it. Returns
 * the path.
 */
export function kubeconfigVariant(
  cluster: KubectlTarget & { dir: string },
  fileName: string,
  change: { user?: Record<string, unknown>; server?: string },
): string {
  const config = load(readFileSync(cluster.kubeconfigPath, 'utf8')) as KubeconfigDocument;
  if (change.user) for (const u of config.users) u.user = change.user;
  if (change.server) for (const c of config.clusters) c.cluster.server = change.server;
  const path = join(cluster.dir, fileName);
  writeFileSync(path, dump(config), { mode: 0o600 });
  return path;
}

/** A ServiceAccount in the control plane's default namespace and a fresh token of it (no rights granted). */
export async function serviceAccountToken(cluster: KubectlTarget, name: string): Promise<string> {
  await kubectl(cluster, ['-n', 'default', 'create', 'serviceaccount', name]);
  return (await kubectlOk(cluster, ['-n', 'default', 'create', 'token', name])).trim();
}
