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

export function median(values: readonly number[]): number {
  return percentileSorted(sortedCopy(values), 50);
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

/** Counts per bucket of `bucketMs`, from `startMs`: a rate timeline (events per second when scaled). */
export function rateTimeline(
  times: readonly number[],
  startMs: number,
  bucketMs: number,
): Array<{ t: number; rate: number }> {
  const counts: number[] = [];
  for (const t of times) {
    const i = Math.max(0, Math.floor((t - startMs) / bucketMs));
    counts[i] = (counts[i] ?? 0) + 1;
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
