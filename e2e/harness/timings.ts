// Durations the journeys measure (time to Ready, time for claims to appear, ...), printed once per test file so a
// run's output carries them.

export type Timings = Record<string, number>;

/** Milliseconds since `started`, recorded under `what`. */
export function record(timings: Timings, what: string, started: number): number {
  const ms = Date.now() - started;
  timings[what] = ms;
  return ms;
}

export function reportTimings(journey: string, timings: Timings): void {
  const lines = Object.entries(timings).map(([what, ms]) => `  ${what}: ${(ms / 1000).toFixed(1)} s`);
  if (lines.length) process.stdout.write(`\njourney timings, ${journey}:\n${lines.join('\n')}\n`);
}
