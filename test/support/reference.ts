/**
 * The brute-force reference for window aggregates: every reading once, in offset order, per Kafka partition,
 * with the same lateness rule as the job. Tests compare what the pipeline stored against it.
 */
import { advanceWatermark, isLate, windowStartsFor } from '../../lambda/runtime/windows';

export interface Reading {
  readonly sensorId: string;
  readonly ts: number;
  readonly value: number;
}

export interface Stats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Results keyed `<sensorId>|<windowStart>`; `late` counts the readings the watermark refused. */
export function referenceWindows(
  partitions: ReadonlyArray<readonly Reading[]>,
  window: { sizeMs: number; slideMs?: number },
  latenessMs: number,
): { windows: Map<string, Stats>; late: number } {
  const windows = new Map<string, Stats>();
  let late = 0;
  for (const readings of partitions) {
    let watermark: number | null = null;
    for (const r of readings) {
      if (isLate(watermark, r.ts)) {
        late++;
        continue;
      }
      watermark = advanceWatermark(watermark, r.ts, latenessMs);
      for (const start of windowStartsFor(r.ts, {
        sizeMs: window.sizeMs,
        slideMs: window.slideMs ?? window.sizeMs,
      })) {
        const id = `${r.sensorId}|${start}`;
        const cur = windows.get(id);
        windows.set(
          id,
          cur
            ? {
                count: cur.count + 1,
                sum: cur.sum + r.value,
                min: Math.min(cur.min, r.value),
                max: Math.max(cur.max, r.value),
              }
            : { count: 1, sum: r.value, min: r.value, max: r.value },
        );
      }
    }
  }
  return { windows, late };
}
