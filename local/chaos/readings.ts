/**
 * The fault suite's data and its expected effects, computed without the pipeline.
 *
 * Each reading carries a unique `seq`. Readings are keyed by sensor, so each sensor stays in one partition. Most
 * are on time: their event time is the send time plus a little jitter, well inside the allowed lateness. Some are
 * late: an hour behind, so they are behind the watermark in whatever lane the pipeline decides them (the live
 * lane, a lane after a skipped range, a redrive's lane; see lambda/runtime/checkpoint.ts), as long as that lane
 * has a watermark; the first readings of every partition are on time, so it has. Some are malformed. Values are
 * integers, so sums are exact whatever the order of folding.
 */
export interface ChaosReading {
  readonly seq: number;
  readonly sensorId: string;
  /** The text sent as the record value. */
  readonly value: string;
  readonly kind: 'on-time' | 'late' | 'malformed';
  /** For on-time and late readings. */
  readonly ts?: number;
  readonly measure?: number;
}

export interface ReadingPlan {
  readonly sensors: number;
  /** One reading in this many is late (0: none). */
  readonly lateEvery: number;
  /** One reading in this many is malformed (0: none). */
  readonly malformedEvery: number;
  /** The first readings of the run are all on time, so every partition's watermark exists before a late one. */
  readonly warmup: number;
}

export const DEFAULT_PLAN: ReadingPlan = { sensors: 24, lateEvery: 97, malformedEvery: 211, warmup: 200 };

/** A late reading is this far behind its send time. */
export const LATE_BY_MS = 3_600_000;

/** The reading number `seq`, sent at `sentAt`. Deterministic in `seq`, so a run can be reproduced. */
export function reading(seq: number, sentAt: number, plan: ReadingPlan = DEFAULT_PLAN): ChaosReading {
  const sensorId = `chaos-${seq % plan.sensors}`;
  const measure = (seq * 7919) % 1000;
  if (seq >= plan.warmup && plan.malformedEvery && seq % plan.malformedEvery === 0) {
    // Half not JSON at all, half JSON without a value: two dead-letter reasons.
    const value =
      seq % 2
        ? `{"seq":${seq},"sensorId":"${sensorId}", oops`
        : JSON.stringify({ seq, sensorId, ts: sentAt });
    return { seq, sensorId, value, kind: 'malformed' };
  }
  const late = seq >= plan.warmup && plan.lateEvery && seq % plan.lateEvery === 0;
  // On time: up to 2 s of jitter, against an allowed lateness of 30 s (CHAOS_LATENESS_SECONDS).
  const ts = late ? sentAt - LATE_BY_MS : sentAt - (seq % 2000);
  return {
    seq,
    sensorId,
    value: JSON.stringify({ seq, sensorId, ts, value: measure }),
    kind: late ? 'late' : 'on-time',
    ts,
    measure,
  };
}

export interface WindowStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The `seq` of a dead letter's payload, whether or not the payload is JSON. */
export function seqOf(payload: string): number | undefined {
  const m = /"seq":(\d+)/.exec(payload);
  return m ? Number(m[1]) : undefined;
}
