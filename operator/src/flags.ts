// Flag values of `ctp-connector operator` and `proxy`: checked, with a message that names the flag.

/** A whole number flag of at least `min`; anything else ends the command with a clear message. */
export function count(flag: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${flag} must be a whole number of at least ${min}, not "${value}"`);
  return n;
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** A positive duration as kube components take them ("15s", "500ms", "1m"); a bare number is seconds. */
export function durationMs(flag: string, value: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value ?? '');
  const ms = match ? Number(match[1]) * (units[match[2] ?? 's'] ?? NaN) : NaN;
  if (!(ms > 0)) throw new Error(`${flag} must be a duration such as 15s or 500ms, not "${value}"`);
  return ms;
}
