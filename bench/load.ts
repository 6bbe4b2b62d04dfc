// The load harness: a fixed number of requests at a fixed concurrency, after a warm-up, with every latency in an
// HDR histogram (microseconds, 3 significant digits) so percentiles are exact to 0.1 % however long the tail.
import * as hdr from 'hdr-histogram-js';

/** Runs task(0..count-1) with at most `concurrency` in flight; rejects with the first failure. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Percentiles reported for every measurement, and drawn in the chart. */
export const percentiles = [50, 90, 99] as const;

export interface Measurement {
  count: number;
  concurrency: number;
  /** Requests that failed (non-2xx or a wrong answer); not in the histogram. */
  errors: number;
  /** The first failure's message, for the report. */
  firstError?: string;
  seconds: number;
  /** Completed requests per second of wall time at this concurrency. */
  throughput: number;
  /** Latency in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** The whole histogram (compressed, base64), to merge repetitions or re-read the distribution later. */
  histogram: string;
}

export interface MeasureOptions {
  count: number;
  concurrency: number;
  /** Requests run (and discarded) before the measured ones, at the same concurrency. */
  warmup: number;
  /** One request; resolves with its latency in milliseconds, or throws when it failed. */
  request(i: number, warmup: boolean): Promise<number>;
}

export async function measure(options: MeasureOptions): Promise<Measurement> {
  if (options.warmup > 0)
    await pool(options.warmup, options.concurrency, async (i) => {
      await options.request(i, true);
    });
  const histogram = newHistogram();
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await pool(options.count, options.concurrency, async (i) => {
    try {
      histogram.recordValue(Math.max(1, Math.round((await options.request(i, false)) * 1000)));
    } catch (err) {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return summarize(histogram, {
    count: options.count,
    concurrency: options.concurrency,
    errors,
    firstError,
    seconds,
  });
}

/** A Measurement from a filled histogram. */
export function summarize(
  histogram: Histogram,
  run: { count: number; concurrency: number; errors: number; firstError?: string; seconds: number },
): Measurement {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    ...run,
    ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
    throughput: run.seconds > 0 ? histogram.totalCount / run.seconds : 0,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
    histogram: hdr.encodeIntoCompressedBase64(histogram),
  };
}

/** One histogram holding every sample of several measurements (repetitions). */
export function mergeHistograms(encoded: string[]): Histogram {
  const merged = newHistogram();
  for (const e of encoded) merged.add(hdr.decodeFromCompressedBase64(e));
  return merged;
}
