// Child processes of the local clusters. Each runs in its own process group (so a terminal's Ctrl-C reaches only
// the harness, which then stops them in order) with its output in a log file. A watchdog shell, also in its own
// group, ends every recorded group if the harness itself dies without cleaning up (SIGKILL, crash).
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor, type WaitOptions } from './wait.ts';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** File that collects the pids of every group this harness started, read by the watchdog and `down`. */
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

export function startProcess(options: StartOptions): ManagedProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  appendFileSync(options.pidFile, `${pid}\n`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  // The harness waits on `exited` explicitly; the child must not keep the event loop alive on its own.
  child.unref();
  let done = false;
  void exited.then(() => (done = true));

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (done) return;
      killGroup(pid, 'SIGTERM');
      const grace = new AbortController();
      const outcome = await Promise.race([
        exited,
        sleep(graceMs, 'timeout' as const, { signal: grace.signal }).catch(() => 'exited' as const),
      ]);
      grace.abort(); // a pending grace timer would keep the event loop alive
      if (outcome === 'timeout') {
        killGroup(pid, 'SIGKILL');
        // The child is unref'd: without a timer of ours, the event loop could end before its exit is seen.
        const wait = new AbortController();
        await Promise.race([exited, sleep(5_000, undefined, { signal: wait.signal }).catch(() => undefined)]);
        wait.abort();
      }
      // Children of the process (if any) share its group; make sure none outlive it.
      killGroup(pid, 'SIGKILL');
    },
    logTail(lines = 20) {
      try {
        return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}

/**
 * Waits like waitFor for `probe`, but fails at once, with the end of its log, when `p` exits meanwhile (a process that
 * cannot start should not be waited out).
 */
export async function waitWhileRunning<T>(
  p: ManagedProcess,
  probe: () => Promise<T | undefined> | T | undefined,
  options: Omit<WaitOptions, 'signal'>,
): Promise<T> {
  const stopWaiting = new AbortController();
  const exited = p.exited.then((code): never => {
    throw new Error(`${p.name} exited (${code}) while waiting for ${options.what}:\n${p.logTail()}`);
  });
  try {
    return await Promise.race([waitFor(probe, { ...options, signal: stopWaiting.signal }), exited]);
  } finally {
    stopWaiting.abort();
    exited.catch(() => undefined); // the process may exit later, on purpose
  }
}

/** Signals a process group; a group that no longer exists is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids recorded in a pid file (empty when the file is gone). */
export function recordedPids(pidFile: string): number[] {
  try {
    return readFileSync(pidFile, 'utf8')
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Starts a watchdog that, once `parentPid` is gone, terminates every process group listed in `pidFile` and removes
 * `dir`. Returns its pid; the harness kills it after a clean shutdown.
 */
export function startWatchdog(parentPid: number, pidFile: string, dir: string): number {
  const script = [
    'while kill -0 "$0" 2>/dev/null; do sleep 1; done',
    'for p in $(cat "$1" 2>/dev/null); do kill -TERM "-$p" 2>/dev/null; done',
    'sleep 5',
    'for p in $(cat "$1" 2>/dev/null); do kill -KILL "-$p" 2>/dev/null; done',
    'rm -rf "$2"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, String(parentPid), pidFile, dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start the cleanup watchdog');
  return child.pid;
}
