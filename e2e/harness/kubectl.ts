// The real kubectl against a local cluster, as users run it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { binaryPath } from './binaries.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlTarget {
  kubeconfigPath: string;
  /** Directory for kubectl's discovery cache; a per-environment one keeps stale caches of old runs out. */
  dir: string;
}

export function kubectl(target: KubectlTarget, args: string[], input?: string): Promise<KubectlResult> {
  return runCaptured(binaryPath('kubectl'), ['--kubeconfig', target.kubeconfigPath, ...args], {
    env: { ...process.env, KUBECACHEDIR: join(target.dir, '.kube-cache') },
    input,
  });
}

/** Runs a command to completion with its output captured. */
export function runCaptured(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string },
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(options.input);
  });
}

/** Like `kubectl`, but throws with kubectl's own message when it fails. */
export async function kubectlOk(target: KubectlTarget, args: string[], input?: string): Promise<string> {
  const result = await kubectl(target, args, input);
  if (result.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}
