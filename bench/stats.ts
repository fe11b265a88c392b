/** Small statistics helpers for the benchmark. */

/** The nearest-rank percentile (p in [0, 100]) of already sorted values; NaN when there are none. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function sortedCopy(values: readonly number[]): Float64Array {
  // A typed array sorts numerically and keeps 300k latencies compact.
  return Float64Array.from(values).sort();
}

/** One decimal, for the report. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The median: of an even count, the mean of the middle two. Not the nearest-rank p50, which takes the lower of
 * the two: of the 10 measured invocations of a Lambda-sized run, or an even `--import-runs`, that is the 5th
 * fastest of 10, and a cold import or CPU per record judged against a target would read low.
 */
export function median(values: readonly number[]): number {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  if (!n) return Number.NaN;
  const mid = n >> 1;
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = sortedCopy(values);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/**
 * Counts per bucket of `bucketMs`, from `startMs`: a rate timeline (events per second when scaled). Each time is one
 * event, or `{ at, rows }` events at once.
 */
export function rateTimeline(
  times: ReadonlyArray<number | { readonly at: number; readonly rows: number }>,
  startMs: number,
  bucketMs: number,
): Array<{ t: number; rate: number }> {
  const counts: number[] = [];
  for (const time of times) {
    const [t, n] = typeof time === 'number' ? [time, 1] : [time.at, time.rows];
    const i = Math.max(0, Math.floor((t - startMs) / bucketMs));
    counts[i] = (counts[i] ?? 0) + n;
  }
  return Array.from(counts, (c, i) => ({ t: (i * bucketMs) / 1000, rate: ((c ?? 0) * 1000) / bucketMs }));
}

/** Per-bucket percentiles of values keyed by time (e.g. latency by send time). */
export function percentileTimeline(
  points: ReadonlyArray<{ readonly t: number; readonly v: number }>,
  startMs: number,
  bucketMs: number,
): Array<{ t: number; p50: number; p99: number; max: number }> {
  const buckets: number[][] = [];
  for (const { t, v } of points) {
    const i = Math.max(0, Math.floor((t - startMs) / bucketMs));
    (buckets[i] ??= []).push(v);
  }
  const out: Array<{ t: number; p50: number; p99: number; max: number }> = [];
  buckets.forEach((values, i) => {
    if (!values?.length) return;
    const sorted = sortedCopy(values);
    out.push({
      t: (i * bucketMs) / 1000,
      p50: percentileSorted(sorted, 50),
      p99: percentileSorted(sorted, 99),
      max: sorted[sorted.length - 1]!,
    });
  });
  return out;
}

/** The steady part of a run: from this fraction of its rows acknowledged to that one. */
export const STEADY_PART = { from: 0.1, to: 0.9 } as const;

/**
 * The steady rate of a finite run: rows per second between the moment `from` of them were acknowledged and the
 * moment `to` were (fractions of the total, by default the middle 80%). A run over a finite backlog starts with
 * the group join and its first fetch, and ends with a last, partial batch that waits out its batching window with
 * nothing left to arrive; neither says how fast the pipeline writes, and a ceiling level has neither.
 */
export function steadyRate(
  acks: ReadonlyArray<{ readonly at: number; readonly rows: number }>,
  from = STEADY_PART.from,
  to = STEADY_PART.to,
): { rate: number; rows: number; seconds: number } | null {
  const sorted = [...acks].sort((a, b) => a.at - b.at);
  const total = sorted.reduce((n, a) => n + a.rows, 0);
  let seen = 0;
  let start: { at: number; seen: number } | undefined;
  for (const a of sorted) {
    seen += a.rows;
    if (!start && seen >= from * total) start = { at: a.at, seen };
    else if (start && seen >= to * total) {
      const seconds = (a.at - start.at) / 1000;
      if (seconds <= 0) return null;
      const rows = seen - start.seen;
      return { rate: Math.round(rows / seconds), rows, seconds: Math.round(seconds * 1000) / 1000 };
    }
  }
  return null;
}
