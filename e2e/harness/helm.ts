// The real helm binary (built by `make tools`) against a local cluster, with its caches and configuration kept in
// the cluster's directory rather than the user's home.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.ts';
import type { KubectlResult, KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';

const run = promisify(execFile);

export const chartDir = join(repoRoot, 'charts', 'ctp-connector');

export async function helm(target: KubectlTarget, args: string[]): Promise<KubectlResult> {
  const home = join(target.dir, '.helm');
  try {
    const { stdout, stderr } = await run(
      binaryPath('helm'),
      ['--kubeconfig', target.kubeconfigPath, ...args],
      {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, 'cache'),
          HELM_CONFIG_HOME: join(home, 'config'),
          HELM_DATA_HOME: join(home, 'data'),
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Like `helm`, but throws with helm's own message when it fails. */
export async function helmOk(target: KubectlTarget, args: string[]): Promise<string> {
  const result = await helm(target, args);
  if (result.code !== 0)
    throw new Error(`helm ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
