// Repetitions become one number with its spread: the median, and the smallest and largest value seen. Pure.

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values (repetitions) it summarizes. */
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** a / b, or undefined when b is zero (a ratio that cannot be computed is not reported as infinite). */
export function ratio(a: number, b: number): number | undefined {
  return b > 0 ? a / b : undefined;
}

/** The value at percentile p (0-100) of a sample, nearest-rank: for small samples such as convergence times. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}
