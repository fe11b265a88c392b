/**
 * sensor-stats: JSON readings `{sensorId, ts, value}`; count, sum, min, max (and mean on read) per sensor and
 * event-time window. `ts` is epoch milliseconds or an ISO-8601 string.
 */
import { SENSOR_STATS, SENSOR_TOPIC } from '../../schema';
import { option } from '../../config/jobs';
import { json, SchemaViolation } from '../runtime/decoders';
import { handlerFor } from '../runtime/handler';
import { defineJob, defineWindowJob, type WindowJob } from '../runtime/job';
import {
  epochMs,
  EVENT_TIME_EXPECTED,
  MAX_EVENT_TIME_AHEAD_OPTION,
  maxEventTimeAhead,
  shownTs,
} from './shared/time-format';

export interface SensorReading {
  readonly sensorId: string;
  readonly ts: number;
  readonly value: number;
}

export function validateReading(input: unknown): SensorReading {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SchemaViolation('$', 'expected an object {sensorId, ts, value}');
  }
  const { sensorId, ts, value } = input as Record<string, unknown>;
  if (typeof sensorId !== 'string' || sensorId.length === 0 || sensorId.length > 256) {
    throw new SchemaViolation('$.sensorId', 'expected a non-empty string of at most 256 characters');
  }
  const time = epochMs(ts);
  if (time === undefined)
    throw new SchemaViolation('$.ts', `${EVENT_TIME_EXPECTED}, received ${shownTs(ts)}`);
  if (value === null || value === undefined)
    throw new SchemaViolation('$.value', 'is required and may not be null');
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SchemaViolation('$.value', 'expected a finite number');
  return { sensorId, ts: time, value };
}

/** The job's code, for its definition below and for tests that run it under another name or topic. */
export function createSensorStatsJob(
  config: {
    readonly windowSeconds: number;
    /** 0 (or equal to the window) for tumbling windows. */
    readonly slideSeconds: number;
    readonly allowedLatenessSeconds: number;
    /** 0 or absent: no limit (`WindowJob.maxEventTimeAheadMs`). */
    readonly maxEventTimeAheadSeconds?: number;
    readonly failOnDataLoss: boolean;
  },
  overrides: { readonly name?: string; readonly topics?: readonly string[] } = {},
): WindowJob<SensorReading> {
  return defineWindowJob({
    name: overrides.name ?? 'sensor-stats',
    topics: overrides.topics ?? [SENSOR_TOPIC.name],
    decoder: json(validateReading),
    table: SENSOR_STATS,
    window: {
      sizeMs: config.windowSeconds * 1000,
      slideMs: (config.slideSeconds || config.windowSeconds) * 1000,
    },
    allowedLatenessMs: config.allowedLatenessSeconds * 1000,
    ...maxEventTimeAhead(config.maxEventTimeAheadSeconds),
    failOnDataLoss: config.failOnDataLoss,
    eventTime: (r) => r.ts,
    key: (r) => r.sensorId,
    measure: (r) => r.value,
  });
}

const sensorStats = defineJob({
  name: 'sensor-stats',
  doc: 'Count, sum, min, max and mean per sensor and event-time window.',
  kind: 'window',
  topics: [SENSOR_TOPIC],
  tables: [SENSOR_STATS],
  options: {
    windowSeconds: option.int({ default: 60, min: 1, max: 86_400, doc: 'Event-time window size' }),
    slideSeconds: option.int({
      default: 0,
      min: 0,
      max: 86_400,
      doc: 'Window slide, dividing windowSeconds; 0 for tumbling windows',
    }),
    allowedLatenessSeconds: option.int({ default: 10, min: 0, max: 86_400, doc: 'Watermark delay' }),
    maxEventTimeAheadSeconds: MAX_EVENT_TIME_AHEAD_OPTION,
  },
  check: ({ windowSeconds, slideSeconds }) =>
    slideSeconds && (slideSeconds > windowSeconds || windowSeconds % slideSeconds)
      ? {
          option: 'slideSeconds',
          value: slideSeconds,
          expected: `a divisor of windowSeconds (${windowSeconds}), or 0 for tumbling windows`,
        }
      : undefined,
  windowOf: ({ windowSeconds, slideSeconds }) => ({
    sizeMs: windowSeconds * 1000,
    slideMs: (slideSeconds || windowSeconds) * 1000,
  }),
  create: (config) => createSensorStatsJob({ ...config.options, failOnDataLoss: config.failOnDataLoss }),
  // Readings of 8 sensors around 20, each sensor on its own key (so in one partition).
  sample: {
    ratePerSecond: 4,
    make: (seq, now) => {
      const sensorId = `sensor-${seq % 8}`;
      return {
        key: sensorId,
        value: JSON.stringify({ sensorId, ts: now.getTime(), value: 20 + ((seq * 7) % 11) - 5 }),
      };
    },
  },
});

export default sensorStats;
/** The Lambda entry point of the job. */
export const handler = handlerFor(sensorStats);
