// Memory and CPU of a process from /proc (Linux): resident set size from /proc/<pid>/status, user + system CPU time
// from /proc/<pid>/stat. A sampler follows a set of processes over a window and keeps the peak RSS and the CPU
// time spent inside the window.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** utime and stime (fields 14 and 15) of /proc/<pid>/stat, in clock ticks. Pure. */
export function parseStat(text: string): { utime: number; stime: number } {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat: ${text}`);
  return { utime, stime };
}

/** VmRSS and VmHWM (peak RSS) of /proc/<pid>/status, in bytes. Pure. */
export function parseStatus(text: string): { rss: number; peakRss: number } {
  const kB = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`no ${field} in /proc status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kB('VmRSS'), peakRss: kB('VmHWM') };
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcessReading {
  /** User + system CPU time since the process started, in milliseconds. */
  cpuMs: number;
  rss: number;
  peakRss: number;
}

export function readProcess(pid: number): ProcessReading {
  const { utime, stime } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return {
    cpuMs: ((utime + stime) * 1000) / clockTicks(),
    ...parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8')),
  };
}

/** The RSS of each named process now (processes without a pid are left out), in bytes. */
export function readRss(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pids).flatMap(([name, pid]) => (pid ? [[name, readProcess(pid).rss]] : [])),
  );
}

export interface WindowUsage {
  /** CPU time spent in the window, in milliseconds. */
  cpuMs: number;
  /** Largest RSS sampled in the window, and the RSS at its end, in bytes. */
  maxRss: number;
  endRss: number;
  /** Length of the window in milliseconds. */
  ms: number;
}

export interface Sampler {
  /** Ends the window (once; later calls return the same): usage per process name. */
  stop(): Record<string, WindowUsage>;
}

/** Samples the processes' RSS every `intervalMs` until stop(); CPU time is read at both ends of the window. */
export function sample(pids: Record<string, number | undefined>, intervalMs = 500): Sampler {
  const known = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const start = new Map(known.map(([name, pid]) => [name, readProcess(pid)]));
  const maxRss = new Map(known.map(([name]) => [name, start.get(name)!.rss]));
  const started = performance.now();
  const timer = setInterval(() => {
    for (const [name, pid] of known) {
      try {
        maxRss.set(name, Math.max(maxRss.get(name)!, readProcess(pid).rss));
      } catch {
        // gone: the window's end reports it
      }
    }
  }, intervalMs);
  let result: Record<string, WindowUsage> | undefined;
  return {
    stop() {
      clearInterval(timer);
      if (result) return result;
      const ms = performance.now() - started;
      return (result = Object.fromEntries(
        known.map(([name, pid]) => {
          const end = readProcess(pid);
          return [
            name,
            {
              cpuMs: end.cpuMs - start.get(name)!.cpuMs,
              maxRss: Math.max(maxRss.get(name)!, end.rss),
              endRss: end.rss,
              ms,
            },
          ];
        }),
      ));
    },
  };
}
