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

function kubectlEnv(target: KubectlTarget): NodeJS.ProcessEnv {
  return { ...process.env, KUBECACHEDIR: join(target.dir, '.kube-cache') };
}

function kubectlArgs(target: KubectlTarget, args: string[]): string[] {
  return ['--kubeconfig', target.kubeconfigPath, ...args];
}

export function kubectl(target: KubectlTarget, args: string[], input?: string): Promise<KubectlResult> {
  return runCaptured(binaryPath('kubectl'), kubectlArgs(target, args), { env: kubectlEnv(target), input });
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

export interface RunningKubectl {
  /** Output lines so far (stdout), trailing spaces trimmed. */
  lines: string[];
  /** Resolves with the first output line that matches, or fails after timeoutMs. */
  until(match: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the result once kubectl exits by itself. */
  exited: Promise<KubectlResult>;
  /** Ends kubectl (SIGTERM) and resolves with what it printed. */
  stop(): Promise<KubectlResult>;
}

/** A long-running kubectl (`get -w`, `wait`) whose output is read while it runs. */
export function kubectlRunning(target: KubectlTarget, args: string[]): RunningKubectl {
  const child = spawn(binaryPath('kubectl'), kubectlArgs(target, args), {
    env: kubectlEnv(target),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  const lines: string[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    pending += c.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      lines.push(pending.slice(0, nl).trimEnd());
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<KubectlResult>((resolve) =>
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: [...lines, pending].join('\n'), stderr }),
    ),
  );
  return {
    lines,
    exited,
    until: async (match, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.find((l) => match.test(l));
        if (line !== undefined) return line;
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(
            `kubectl ${args.join(' ')}: no line matching ${String(match)} (exit ${child.exitCode}); output:\n${lines.join('\n')}\n${stderr}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
