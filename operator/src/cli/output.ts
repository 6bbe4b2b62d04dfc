// What the CLI prints: results to stdout (aligned tables, JSON, YAML), progress to stderr. Pure rendering plus
// the two streams as a small interface, so commands can be tested with strings.
import { dump } from 'js-yaml';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now: () => Date;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => new Date(),
};

/** A kubectl-style table: upper-case headers, columns separated by at least three spaces, no trailing spaces. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** YAML documents, separated by "---" when there are several. Long strings stay block literals. */
export function yaml(...documents: unknown[]): string {
  return documents.map((d) => dump(d, { lineWidth: -1, noRefs: true })).join('---\n');
}

/** "in 58m", "3h ago": a human distance between two instants, rounded down to its largest unit. */
export function relativeTime(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** 0s, 45s, 12m, 3h, 2d: the largest whole unit. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Progress lines on stderr, each prefixed with the seconds since `start`. */
export function progress(io: CliIO, start = io.now()): (line: string) => void {
  return (line) => {
    const seconds = Math.floor((io.now().getTime() - start.getTime()) / 1000);
    io.stderr(`[${String(seconds).padStart(3)}s] ${line}\n`);
  };
}
