/**
 * Event-time windows, partial aggregates and the watermark. All pure.
 *
 * The watermark is a running value over the offset sequence of one partition: after each record it is
 * `max(previous, eventTime - allowedLateness)`. Because it depends only on the records in offset order and on
 * the watermark stored with the checkpoint, a replay decides lateness exactly as the first attempt did, however
 * the records were cut into batches.
 */

/** The latest time a JavaScript Date holds (ECMA-262, "Time Values and Time Range"): ±8.64e15 ms. */
export const MAX_EVENT_TIME_MS = 8.64e15;

/**
 * The largest measure a window folds, in absolute value: `Number.MAX_VALUE / 2^64`, about 9.7e288. A partial sums at
 * most one reading per offset of its partition (fewer than 2^63), so no sum of such readings, nor the sum of two
 * partials merged on read, can overflow to Infinity, which would make the window's sum and mean Infinity (or NaN
 * once an Infinity meets a -Infinity) for good. https://tc39.es/ecma262/#sec-number.max_value
 */
export const MAX_MEASURE = Number.MAX_VALUE / 2 ** 64;

export interface WindowSpec {
  readonly sizeMs: number;
  /** Equal to sizeMs for tumbling windows. */
  readonly slideMs: number;
}

/** The text stored in `sensor_stats.window_spec`: a change of window starts a new series. */
export function windowSpecId(spec: WindowSpec): string {
  return spec.slideMs === spec.sizeMs ? `tumbling:${spec.sizeMs}` : `sliding:${spec.sizeMs}:${spec.slideMs}`;
}

export function assertWindowSpec(spec: WindowSpec): void {
  if (!Number.isInteger(spec.sizeMs) || spec.sizeMs <= 0)
    throw new Error(`Window sizeMs must be a positive integer, received ${spec.sizeMs}.`);
  if (!Number.isInteger(spec.slideMs) || spec.slideMs <= 0 || spec.sizeMs % spec.slideMs !== 0) {
    throw new Error(`Window slideMs must divide sizeMs (${spec.sizeMs}), received ${spec.slideMs}.`);
  }
}

/** The starts of every window that contains `eventTimeMs`, oldest first. */
export function windowStartsFor(eventTimeMs: number, spec: WindowSpec): number[] {
  const lastStart = Math.floor(eventTimeMs / spec.slideMs) * spec.slideMs;
  const starts: number[] = [];
  for (let start = lastStart - spec.sizeMs + spec.slideMs; start <= lastStart; start += spec.slideMs) {
    starts.push(start);
  }
  return starts;
}

export interface StatsPartial {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export function addReading(partial: StatsPartial | undefined, value: number): StatsPartial {
  if (!partial) return { count: 1, sum: value, min: value, max: value };
  return {
    count: partial.count + 1,
    sum: partial.sum + value,
    min: Math.min(partial.min, value),
    max: Math.max(partial.max, value),
  };
}

/** Merges the partials of several Kafka partitions into the window's result, with its mean. */
export function mergePartials(
  partials: readonly StatsPartial[],
): (StatsPartial & { mean: number }) | undefined {
  if (!partials.length) return undefined;
  const merged = partials.reduce((a, b) => ({
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  }));
  return { ...merged, mean: merged.sum / merged.count };
}

export function advanceWatermark(
  watermarkMs: number | null,
  eventTimeMs: number,
  allowedLatenessMs: number,
): number {
  const candidate = eventTimeMs - allowedLatenessMs;
  return watermarkMs === null ? candidate : Math.max(watermarkMs, candidate);
}

/** A record is late when its event time is behind the watermark in force before it. */
export function isLate(watermarkMs: number | null, eventTimeMs: number): boolean {
  return watermarkMs !== null && eventTimeMs < watermarkMs;
}
